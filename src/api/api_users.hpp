#pragma once
// Who may call a REST API, and what they may do (seed 004 on our own HTTP interface): users
// with a role, proving themselves by a bearer token, an HTTP Digest password, a TLS client
// certificate whose CN is their name, or a trusted proxy's header naming them.
//
// Roles: `read` may GET (and follow /api/events); `operator` may do everything.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.hpp"

namespace tether::api {

enum class Role : std::uint8_t { kRead, kOperator };
const char* role_name(Role role);

struct ApiUser {
  std::string name;
  Role role = Role::kRead;
  std::string token;     // bearer token; empty: none
  std::string password;  // Digest password; empty: none
};

class ApiUsers {
 public:
  ApiUsers() = default;
  // {"users": [{"name": "ops", "role": "operator", "token": "...", "password": "..."}]}:
  // names and secrets are clean text, names unique, tokens unique and printable ASCII.
  static Result<ApiUsers> from_json(const nlohmann::json& j);
  // Adds a user (start-up: the --api-token-file token becomes operator "token").
  Result<Ok> add(ApiUser user);

  bool empty() const { return users_.empty(); }
  // Whether anyone could answer a Digest challenge (a user with a password).
  bool has_passwords() const;
  const ApiUser* find(std::string_view name) const;
  // The user of a bearer token; compared without an early exit.
  std::optional<std::string> user_of_token(std::string_view token) const;
  std::optional<std::string> password_of(std::string_view name) const;

 private:
  std::vector<ApiUser> users_;
};

}  // namespace tether::api

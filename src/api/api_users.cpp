#include "api/api_users.hpp"

#include <algorithm>

#include "common/bytes.hpp"
#include "common/text.hpp"

namespace tether::api {

namespace {
constexpr std::size_t kMaxName = 128;
constexpr std::size_t kMaxSecret = 256;

Result<std::string> text_field(const nlohmann::json& u, const char* name, std::size_t max) {
  if (!u.contains(name)) return std::string{};
  if (!u[name].is_string()) return fail(std::string("\"") + name + "\" must be a string");
  std::string value = u[name].get<std::string>();
  if (auto ok = check_text(value, std::string("\"") + name + "\"", max); !ok) return ok.error();
  return value;
}
}  // namespace

const char* role_name(Role role) {
  return role == Role::kOperator ? "operator" : "read";
}

Result<ApiUsers> ApiUsers::from_json(const nlohmann::json& j) {
  if (!j.is_object() || !j.contains("users") || !j["users"].is_array()) {
    return fail("an API users file is {\"users\": [...]}");
  }
  ApiUsers out;
  for (const auto& u : j["users"]) {
    if (!u.is_object()) return fail("each user is an object");
    ApiUser user;
    auto name = text_field(u, "name", kMaxName);
    auto role = text_field(u, "role", 16);
    auto token = text_field(u, "token", kMaxSecret);
    auto password = text_field(u, "password", kMaxSecret);
    for (const auto* r : {&name, &role, &token, &password}) {
      if (!*r) return r->error();
    }
    user.name = std::move(*name);
    if (*role == "operator") {
      user.role = Role::kOperator;
    } else if (*role == "read") {
      user.role = Role::kRead;
    } else {
      return fail("user " + printable(user.name, 64) + ": role is read or operator");
    }
    user.token = std::move(*token);
    user.password = std::move(*password);
    if (auto ok = out.add(std::move(user)); !ok) return ok.error();
  }
  return out;
}

Result<Ok> ApiUsers::add(ApiUser user) {
  if (user.name.empty()) return fail("a user needs a name");
  if (find(user.name) != nullptr) return fail("user " + printable(user.name, 64) + " twice");
  for (char c : user.token) {
    if (c <= 0x20 || c >= 0x7f) return fail("a token is printable ASCII without spaces");
  }
  if (!user.token.empty() && user_of_token(user.token)) return fail("two users with one token");
  users_.push_back(std::move(user));
  return Ok{};
}

const ApiUser* ApiUsers::find(std::string_view name) const {
  auto it =
      std::find_if(users_.begin(), users_.end(), [&](const ApiUser& u) { return u.name == name; });
  return it == users_.end() ? nullptr : &*it;
}

std::optional<std::string> ApiUsers::user_of_token(std::string_view token) const {
  std::optional<std::string> found;
  // Every token is compared, so the time taken does not tell which one matched.
  for (const auto& u : users_) {
    if (!u.token.empty() && same_secret(token, u.token)) found = u.name;
  }
  return found;
}

bool ApiUsers::has_passwords() const {
  return std::any_of(users_.begin(), users_.end(),
                     [](const ApiUser& u) { return !u.password.empty(); });
}

std::optional<std::string> ApiUsers::password_of(std::string_view name) const {
  const ApiUser* u = find(name);
  if (u == nullptr || u->password.empty()) return std::nullopt;
  return u->password;
}

}  // namespace tether::api

#pragma once
// The client's side of HTTP Digest (RFC 7616, SHA-256) for seed 004 5.2.1.2: it keeps the
// server's last challenge, so requests after the first carry credentials at once (nonce
// count counted up), and it takes a 401's new challenge so the request can go once more.
#include <cstdint>
#include <optional>
#include <string>

#include "common/random.hpp"
#include "common/result.hpp"
#include "http/message.hpp"

namespace tether::http {

class DigestClient {
 public:
  // Fails for a username or password that a header cannot carry (control bytes, not UTF-8).
  static Result<DigestClient> make(std::string username, std::string password);

  // Adds Authorization to `request` when a challenge is known (nothing otherwise).
  void authorize(Request& request, Random& random);
  // After a 401: keeps its Digest challenge. True when sending the request again can help
  // (a challenge we had not answered, or one that says our nonce went stale).
  bool take_challenge(const Response& response);

  const std::string& username() const { return username_; }
  bool same_credentials(const std::string& username, const std::string& password) const {
    return username == username_ && password == password_;
  }

 private:
  DigestClient(std::string username, std::string password)
      : username_(std::move(username)), password_(std::move(password)) {}

  std::string username_;
  std::string password_;
  std::optional<std::string> challenge_;
  std::uint32_t nc_ = 0;
};

}  // namespace tether::http

#include "http/digest_client.hpp"

#include "common/text.hpp"
#include "http/digest_auth.hpp"

namespace tether::http {

Result<DigestClient> DigestClient::make(std::string username, std::string password) {
  if (username.empty() || password.empty()) return fail("Digest needs a username and password");
  if (auto ok = check_text(username, "the Digest username", 256); !ok) return ok.error();
  if (auto ok = check_text(password, "the Digest password", 256); !ok) return ok.error();
  return DigestClient(std::move(username), std::move(password));
}

void DigestClient::authorize(Request& request, Random& random) {
  if (!challenge_) return;
  Bytes raw(12);
  random.fill(raw);
  auto value = digest_authorization(*challenge_, request.method, request.target, username_,
                                    password_, to_hex(raw), ++nc_);
  if (value) request.headers.set("Authorization", *value);
}

bool DigestClient::take_challenge(const Response& response) {
  if (response.status != 401) return false;
  for (const auto& [name, value] : response.headers.all()) {
    if (!equals_ignore_case(name, "WWW-Authenticate")) continue;
    auto p = digest_parameters(value);
    if (!p) continue;
    const bool stale = p->count("stale") != 0 && equals_ignore_case(p->at("stale"), "true");
    // Our first answer to a challenge refused, and not for staleness: the password is
    // wrong; do not loop. (Every challenge carries its own nonce, so a new one proves
    // nothing; a refusal later in a nonce's life, say after a server restart, is answered.)
    if (challenge_ && nc_ == 1 && !stale) return false;
    challenge_ = value;
    nc_ = 0;
    return true;
  }
  return false;
}

}  // namespace tether::http

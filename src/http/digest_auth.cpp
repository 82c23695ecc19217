#include "http/digest_auth.hpp"

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdio>

namespace tether::http {

namespace {

std::string hex(const std::uint8_t* data, std::size_t n) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(n * 2);
  for (std::size_t i = 0; i < n; ++i) {
    out += kHex[data[i] >> 4];
    out += kHex[data[i] & 0xf];
  }
  return out;
}

// H() of RFC 7616 3.4.1 for SHA-256: the lower-case hex of the digest.
std::string sha256_hex(std::string_view text) {
  std::uint8_t digest[32];
  gnutls_hash_fast(GNUTLS_DIG_SHA256, text.data(), text.size(), digest);
  return hex(digest, sizeof(digest));
}

std::string hmac_hex(const Bytes& key, std::string_view text, std::size_t bytes) {
  std::uint8_t mac[32];
  gnutls_hmac_fast(GNUTLS_MAC_SHA256, key.data(), key.size(), text.data(), text.size(), mac);
  return hex(mac, std::min(bytes, sizeof(mac)));
}

std::string response_of(std::string_view username, std::string_view realm,
                        std::string_view password, std::string_view method, std::string_view uri,
                        std::string_view nonce, std::string_view nc, std::string_view cnonce) {
  const std::string ha1 =
      sha256_hex(std::string(username) + ":" + std::string(realm) + ":" + std::string(password));
  const std::string ha2 = sha256_hex(std::string(method) + ":" + std::string(uri));
  return sha256_hex(ha1 + ":" + std::string(nonce) + ":" + std::string(nc) + ":" +
                    std::string(cnonce) + ":auth:" + ha2);
}

std::string quoted(std::string_view value) {
  std::string out = "\"";
  for (char c : value) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

}  // namespace

std::optional<std::map<std::string, std::string>> digest_parameters(std::string_view header) {
  auto skip_space = [&header] {
    while (!header.empty() && (header.front() == ' ' || header.front() == '\t')) {
      header.remove_prefix(1);
    }
  };
  skip_space();
  if (header.size() < 6) return std::nullopt;
  std::string scheme(header.substr(0, 6));
  std::transform(scheme.begin(), scheme.end(), scheme.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (scheme != "digest") return std::nullopt;
  header.remove_prefix(6);
  std::map<std::string, std::string> out;
  while (true) {
    skip_space();
    while (!header.empty() && header.front() == ',') {
      header.remove_prefix(1);
      skip_space();
    }
    if (header.empty()) break;
    const auto eq = header.find('=');
    if (eq == std::string_view::npos || eq == 0) return std::nullopt;
    std::string name(header.substr(0, eq));
    while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.pop_back();
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    header.remove_prefix(eq + 1);
    skip_space();
    std::string value;
    if (!header.empty() && header.front() == '"') {
      header.remove_prefix(1);
      bool closed = false;
      while (!header.empty()) {
        char c = header.front();
        header.remove_prefix(1);
        if (c == '\\' && !header.empty()) {
          value += header.front();
          header.remove_prefix(1);
        } else if (c == '"') {
          closed = true;
          break;
        } else {
          value += c;
        }
      }
      if (!closed) return std::nullopt;
    } else {
      const auto end = header.find(',');
      value = std::string(header.substr(0, end));
      while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.pop_back();
      header = end == std::string_view::npos ? std::string_view{} : header.substr(end);
    }
    if (out.count(name) != 0) return std::nullopt;  // a repeated parameter is ambiguous
    out[name] = std::move(value);
    if (out.size() > 32) return std::nullopt;
  }
  return out;
}

bool DigestAuth::Counts::take(std::uint32_t count) {
  constexpr std::uint32_t kWindow = 64;
  if (count > highest) {
    const std::uint32_t shift = count - highest;
    // The old highest becomes bit shift - 1; what falls past the window is forgotten.
    if (shift > kWindow) {
      below = 0;
    } else {
      below = (shift == kWindow ? 0 : below << shift) | (std::uint64_t{1} << (shift - 1));
    }
    highest = count;
    return true;
  }
  if (count == highest || highest - count > kWindow) return false;
  const std::uint64_t bit = std::uint64_t{1} << (highest - count - 1);
  if ((below & bit) != 0) return false;
  below |= bit;
  return true;
}

DigestAuth::DigestAuth(std::string realm, Bytes secret, Duration nonce_lifetime,
                       std::size_t max_nonces)
    : realm_(std::move(realm)),
      secret_(std::move(secret)),
      lifetime_(nonce_lifetime),
      max_nonces_(std::max<std::size_t>(max_nonces, 1)) {}

std::string DigestAuth::nonce_at(std::int64_t issued_us) const {
  char stamp[17];
  std::snprintf(stamp, sizeof(stamp), "%016llx", static_cast<unsigned long long>(issued_us));
  return std::string(stamp) + hmac_hex(secret_, std::string(stamp) + ":" + realm_, 16);
}

std::string DigestAuth::challenge(Instant now, bool stale) const {
  // Each challenge its own nonce (its issue time in microseconds, made unique), so two
  // clients never share nonce-counts.
  const std::int64_t us =
      std::chrono::duration_cast<std::chrono::microseconds>(now - Instant{}).count();
  last_issued_us_ = std::max(us, last_issued_us_ + 1);
  return "Digest realm=" + quoted(realm_) + ", qop=\"auth\", algorithm=SHA-256, nonce=\"" +
         nonce_at(last_issued_us_) + "\"" + (stale ? ", stale=true" : "");
}

DigestAuth::Outcome DigestAuth::verify(std::string_view method, std::string_view target,
                                       std::optional<std::string_view> authorization,
                                       const PasswordOf& password_of, Instant now) {
  Outcome out;
  if (!authorization) return out;  // kMissing
  auto p = digest_parameters(*authorization);
  if (!p) return out;  // another scheme: as if none
  out.verdict = Verdict::kWrong;
  auto get = [&p](const char* name) -> std::string_view {
    auto it = p->find(name);
    return it == p->end() ? std::string_view{} : std::string_view(it->second);
  };
  const std::string_view username = get("username"), nonce = get("nonce"), uri = get("uri"),
                         nc = get("nc"), cnonce = get("cnonce"), response = get("response");
  const std::string_view algorithm = get("algorithm");
  if (username.empty() || nonce.size() != 48 || nc.size() != 8 || cnonce.empty() ||
      response.size() != 64 || get("realm") != realm_ || get("qop") != "auth" ||
      (!algorithm.empty() && algorithm != "SHA-256")) {
    return out;
  }
  // RFC 7616 3.4.6: the credentials are for this request's target.
  if (uri != target) return out;
  std::uint64_t issued = 0;
  if (std::from_chars(nonce.data(), nonce.data() + 16, issued, 16).ptr != nonce.data() + 16 ||
      !same_secret(nonce, nonce_at(static_cast<std::int64_t>(issued)))) {
    return out;  // not ours
  }
  std::uint32_t count = 0;
  if (std::from_chars(nc.data(), nc.data() + 8, count, 16).ptr != nc.data() + 8 || count == 0) {
    return out;
  }
  const auto password = password_of ? password_of(username) : std::nullopt;
  if (!password || !same_secret(response, response_of(username, realm_, *password, method, uri,
                                                      nonce, nc, cnonce))) {
    return out;
  }
  const std::int64_t now_us =
      std::chrono::duration_cast<std::chrono::microseconds>(now - Instant{}).count();
  const std::int64_t lifetime_us =
      std::chrono::duration_cast<std::chrono::microseconds>(lifetime_).count();
  const auto issued_us = static_cast<std::int64_t>(issued);
  // A nonce is issued now at the latest; challenge() makes them unique by counting up, so it
  // may run a little ahead of the clock: a second of slack covers that.
  if (issued_us > now_us + 1'000'000 || now_us - issued_us >= lifetime_us ||
      issued_us < oldest_valid_us_) {
    out.verdict = Verdict::kStale;
    return out;
  }
  // Replays: each count once per nonce.
  auto it = counts_.find(std::string(nonce));
  if (it != counts_.end()) {
    if (!it->second.take(count)) {
      out.verdict = Verdict::kReplayed;
      return out;
    }
  } else {
    // Forget what expired, then the oldest while over the bound (its era becomes stale).
    while (!by_issue_.empty() &&
           (now_us - by_issue_.begin()->first >= lifetime_us || counts_.size() >= max_nonces_)) {
      oldest_valid_us_ = std::max(oldest_valid_us_, by_issue_.begin()->first + 1);
      counts_.erase(by_issue_.begin()->second);
      by_issue_.erase(by_issue_.begin());
    }
    if (issued_us < oldest_valid_us_) {
      out.verdict = Verdict::kStale;
      return out;
    }
    counts_.emplace(std::string(nonce), Counts{count, 0});
    by_issue_.emplace(issued_us, std::string(nonce));
  }
  out.verdict = Verdict::kOk;
  out.username = std::string(username);
  return out;
}

Result<std::string> digest_authorization(std::string_view challenge, std::string_view method,
                                         std::string_view uri, std::string_view username,
                                         std::string_view password, std::string_view cnonce,
                                         std::uint32_t nc) {
  auto p = digest_parameters(challenge);
  if (!p) return fail("not a Digest challenge");
  const auto realm = p->find("realm");
  const auto nonce = p->find("nonce");
  if (realm == p->end() || nonce == p->end()) return fail("a Digest challenge without a nonce");
  if (auto a = p->find("algorithm"); a != p->end() && a->second != "SHA-256") {
    return fail("Digest algorithm " + a->second + " (SHA-256 only)");
  }
  if (auto q = p->find("qop"); q == p->end() || q->second.find("auth") == std::string::npos) {
    return fail("a Digest challenge without qop=auth");
  }
  char count[9];
  std::snprintf(count, sizeof(count), "%08x", nc);
  const std::string response =
      response_of(username, realm->second, password, method, uri, nonce->second, count, cnonce);
  std::string out = "Digest username=" + quoted(username) + ", realm=" + quoted(realm->second) +
                    ", uri=" + quoted(uri) + ", algorithm=SHA-256, nonce=" + quoted(nonce->second) +
                    ", nc=" + count + ", cnonce=" + quoted(cnonce) + ", qop=auth, response=\"" +
                    response + "\"";
  if (auto o = p->find("opaque"); o != p->end()) out += ", opaque=" + quoted(o->second);
  return out;
}

}  // namespace tether::http

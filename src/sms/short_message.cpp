#include "sms/short_message.hpp"

#include <cctype>

namespace tether::sms {

bool is_msisdn(std::string_view number) {
  if (!number.empty() && number[0] == '+') number.remove_prefix(1);
  if (number.empty() || number.size() > 20) return false;
  for (char c : number) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

std::string_view msisdn_digits(std::string_view number) {
  if (!number.empty() && number[0] == '+') {
    number.remove_prefix(1);
  } else if (number.size() > 2 && number[0] == '0' && number[1] == '0') {
    number.remove_prefix(2);
  }
  return number;
}

bool same_msisdn(std::string_view a, std::string_view b) {
  return is_msisdn(a) && is_msisdn(b) && msisdn_digits(a) == msisdn_digits(b);
}

std::optional<std::string> msisdn_of_uri(std::string_view uri) {
  constexpr std::string_view kScheme = "sms://";
  if (uri.size() < kScheme.size()) return std::nullopt;
  for (std::size_t i = 0; i < kScheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(uri[i])) != kScheme[i]) return std::nullopt;
  }
  uri.remove_prefix(kScheme.size());
  if (!uri.empty() && uri.back() == '/') uri.remove_suffix(1);
  if (!is_msisdn(uri)) return std::nullopt;
  return std::string(uri);
}

}  // namespace tether::sms

#include "sms/short_message.hpp"

namespace tether::sms {

bool is_msisdn(std::string_view number) {
  if (!number.empty() && number[0] == '+') number.remove_prefix(1);
  if (number.empty() || number.size() > 20) return false;
  for (char c : number) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

}  // namespace tether::sms

#include "tls/session.hpp"

namespace tether::tls {

bool is_client_hello(ByteView d) {
  // Record header: type(1) version(2) epoch(2) seq(6) length(2); then the handshake header
  // starts with msg_type, 1 for ClientHello.
  constexpr std::size_t kRecordHeader = 13;
  return d.size() > kRecordHeader && d[0] == 22 && d[3] == 0 && d[4] == 0 && d[kRecordHeader] == 1;
}

}  // namespace tether::tls

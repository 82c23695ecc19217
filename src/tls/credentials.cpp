#include "tls/credentials.hpp"

namespace tether::tls {

const char* mode_name(Mode m) {
  switch (m) {
    case Mode::kPsk:
      return "psk";
    case Mode::kRawPublicKey:
      return "rpk";
    case Mode::kCertificate:
      return "x509";
  }
  return "?";
}

}  // namespace tether::tls

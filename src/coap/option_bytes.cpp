#include "coap/option_bytes.hpp"

namespace tether::coap {

void OptionBytes::assign(ByteView v) {
  size_ = static_cast<std::uint32_t>(v.size());
  std::uint8_t* to = inline_;
  if (on_heap()) {
    heap_ = new std::uint8_t[v.size()];
    to = heap_;
  }
  if (!v.empty()) std::memcpy(to, v.data(), v.size());
}

}  // namespace tether::coap

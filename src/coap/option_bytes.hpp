#pragma once
// An option's value. Nearly every CoAP option is short (integers, Uri-Path segments, ETags,
// the OSCORE option), so values up to kInline bytes live in place and only longer ones (a
// Proxy-Uri, a long query) take a heap block: decoding a message then allocates once for
// its option list instead of once per option.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <initializer_list>

#include "common/bytes.hpp"

namespace tether::coap {

class OptionBytes {
 public:
  static constexpr std::size_t kInline = 24;

  OptionBytes() : inline_{} {}
  OptionBytes(ByteView v) { assign(v); }                     // NOLINT(google-explicit-constructor)
  OptionBytes(const Bytes& v) : OptionBytes(ByteView(v)) {}  // NOLINT
  OptionBytes(std::initializer_list<std::uint8_t> v) : OptionBytes(ByteView(v.begin(), v.size())) {}
  OptionBytes(const OptionBytes& o) : OptionBytes(o.view()) {}
  OptionBytes(OptionBytes&& o) noexcept : size_(o.size_) {
    std::memcpy(&inline_, &o.inline_, sizeof inline_);
    o.size_ = 0;
  }
  OptionBytes& operator=(const OptionBytes& o) {
    if (this != &o) {
      release();
      assign(o.view());
    }
    return *this;
  }
  OptionBytes& operator=(OptionBytes&& o) noexcept {
    if (this != &o) {
      release();
      size_ = o.size_;
      std::memcpy(&inline_, &o.inline_, sizeof inline_);
      o.size_ = 0;
    }
    return *this;
  }
  ~OptionBytes() { release(); }

  const std::uint8_t* data() const { return on_heap() ? heap_ : inline_; }
  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  const std::uint8_t* begin() const { return data(); }
  const std::uint8_t* end() const { return data() + size_; }
  std::uint8_t operator[](std::size_t i) const { return data()[i]; }
  ByteView view() const { return ByteView(data(), size_); }
  operator ByteView() const { return view(); }  // NOLINT(google-explicit-constructor)
  Bytes bytes() const { return Bytes(begin(), end()); }

  friend bool operator==(const OptionBytes& a, const OptionBytes& b) { return equal(a, b.view()); }
  friend bool operator==(const OptionBytes& a, const Bytes& b) { return equal(a, b); }

 private:
  bool on_heap() const { return size_ > kInline; }
  static bool equal(const OptionBytes& a, ByteView b) {
    return a.size_ == b.size() && (b.empty() || std::memcmp(a.data(), b.data(), b.size()) == 0);
  }
  void assign(ByteView v);
  void release() {
    if (on_heap()) delete[] heap_;
    size_ = 0;
  }

  union {
    std::uint8_t inline_[kInline];
    std::uint8_t* heap_;
  };
  std::uint32_t size_ = 0;
};

}  // namespace tether::coap

#pragma once
// Transport TS 5.4.2.1.2: the smartcard end-point, as software. SMS that carry command
// packets go to the card (an SMS-PP data download), which checks and opens them and keeps
// the CoAP message until the LwM2M client fetches it (GlobalPlatform GET DATA). What the
// client sends it stores on the card (STORE DATA); the card seals it into a command packet
// for the number named and sends it (SEND SHORT MESSAGE). Keys and counters never leave it.
//
// Both data formats are an address (23.040 9.1.2.5), a CoAP tag, a 16-bit length and the
// CoAP message: the received one names the sender (TP-OA), the stored one the destination
// (TP-DA). Answers go back to the number a request came from (TP-OA reuse).
#include <cstddef>
#include <deque>

#include "sms/secured_packet_peers.hpp"

namespace tether::sms {

class SoftwareUicc {
 public:
  // Messages opened and not yet fetched; a further one is dropped.
  static constexpr std::size_t kInboxSize = 8;

  SoftwareUicc(PacketKeyLookup keys, UnixClock clock)
      : keys_(std::move(keys)), clock_(std::move(clock)) {}

  // A command packet from `from`; nothing when it opened and waits for get_data().
  std::optional<PacketFault> download(const std::string& from, ByteView packet);
  std::optional<Bytes> get_data();

  struct Outgoing {
    std::string to;
    Bytes packet;  // the command packet (the SMS user data after its header)
  };
  Result<Outgoing> store_data(ByteView data);

 private:
  PacketKeyLookup keys_;
  UnixClock clock_;
  PacketCounters counters_;
  std::deque<Bytes> inbox_;
};

// The data of GET DATA and STORE DATA: `number`, the CoAP tag, the length, `coap`.
Result<Bytes> encode_uicc_data(const std::string& number, ByteView coap);
struct UiccData {
  std::string number;
  Bytes coap;
};
Result<UiccData> decode_uicc_data(ByteView data);

// A device's CoAP over SMS through its card.
class UiccProtection final : public PacketProtection {
 public:
  // `applies`: which numbers go through the card (unset: all); the client's are those of
  // accounts in SMS Security Mode 2.
  explicit UiccProtection(SoftwareUicc& card, std::function<bool(const std::string&)> applies = {})
      : card_(card), applies_(std::move(applies)) {}
  bool applies_to(const std::string& number) const override {
    return !applies_ || applies_(number);
  }
  std::optional<Bytes> protect(const std::string& to, ByteView coap) override;
  std::variant<Bytes, PacketFault> unprotect(const std::string& from, ByteView packet) override;

 private:
  SoftwareUicc& card_;
  std::function<bool(const std::string&)> applies_;
};

}  // namespace tether::sms

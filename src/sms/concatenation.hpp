#pragma once
// Transport TS 6.8.3: a CoAP message longer than one SMS goes as a concatenated SMS
// (23.040 9.2.3.24.1). We concatenate rather than lean on block-wise: a part costs 6 octets
// of header and no round trip, where a block costs a CoAP header, a token and a round trip
// of seconds over SMS. Block-wise still starts above the endpoint's largest message.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "common/bytes.hpp"
#include "common/time.hpp"
#include "sms/short_message.hpp"
#include "sms/user_data_header.hpp"

namespace tether::sms {

struct Segment {
  Bytes udh;  // empty for a message that fits one SMS
  Bytes data;
};

// 140 octets minus a 6-octet header (UDHL, IEI, IEDL, reference, total, sequence).
inline constexpr std::size_t kConcatPartData = kMaxUserData - 6;

// The parts of `payload`, each within 140 octets of user data. `first` are information
// elements that lead the first part's header (and the only one's). Fails past 255 parts.
Result<std::vector<Segment>> split(ByteView payload, std::uint8_t reference,
                                   const std::vector<InformationElement>& first = {});

struct ReassemblyLimits {
  std::size_t max_parts = 16;               // per message: 16 * 134 = 2144 octets
  std::size_t max_pending_per_sender = 4;   // messages being put together per sender
  std::size_t max_pending_bytes = 1 << 20;  // across all senders
  std::size_t max_pending = 4096;           // messages in progress across all senders
  Duration part_timeout{120'000};           // from the first part to the last
};

struct ReassemblyCounters {
  std::uint64_t completed = 0;
  std::uint64_t duplicates = 0;  // a part already held (a gateway's retry)
  std::uint64_t expired = 0;     // messages whose parts stopped coming
  std::uint64_t refused = 0;     // over a limit, or parts that disagree on the total
};

// Puts concatenated parts back together, in any order, per sender and reference. Sans-I/O:
// the time comes in; expire() drops what waited too long. Bounded by ReassemblyLimits.
class Reassembler {
 public:
  explicit Reassembler(ReassemblyLimits limits = {}) : limits_(limits) {}

  // The whole message once its last part is in; a message without a concatenation
  // element is whole at once. Nothing (and a counter) for a part that completes nothing.
  std::optional<Bytes> add(const std::string& sender, ByteView udh, ByteView data, Instant now);
  void expire(Instant now);
  std::optional<Instant> next_deadline() const;
  std::size_t pending() const { return pending_.size(); }
  const ReassemblyCounters& counters() const { return counters_; }

 private:
  struct Key {
    std::string sender;
    std::uint16_t reference;
    std::uint8_t total;
    bool operator<(const Key& o) const {
      return std::tie(sender, reference, total) < std::tie(o.sender, o.reference, o.total);
    }
  };
  struct Pending {
    Instant started;
    std::vector<std::optional<Bytes>> parts;
    std::size_t have = 0;
    std::size_t bytes = 0;
  };
  void drop(std::map<Key, Pending>::iterator it);

  ReassemblyLimits limits_;
  std::map<Key, Pending> pending_;
  std::size_t pending_bytes_ = 0;
  ReassemblyCounters counters_;
};

}  // namespace tether::sms

// The whole sans-I/O engine under hostile peers. The input is a list of records
//   [length][control][length bytes]
// each delivered as one datagram (or one stream read) from peer 1 or 2 after advancing
// the virtual clock. The same records go to a datagram Endpoint and to a stream Endpoint.
// Both act as server (answering 2.05, Observe and Block2 included) and as client (their
// own requests are outstanding so responses, notifications and Block1/Block2 replies have
// something to match).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "coap/endpoint.hpp"

namespace {
using namespace tether;
using namespace tether::coap;

constexpr PeerId kPeers[] = {1, 2};

class Harness {
 public:
  explicit Harness(Carrier carrier) : endpoint_(config(carrier), random_) {
    endpoint_.set_request_handler([this](PeerId, const Message& req, Responder responder) {
      Message res = make_response(req, codes::kContent);
      res.set_content_format(content_format::kSenmlCbor);
      // "/big" needs Block2 on any carrier; everything else fits in one message.
      const std::size_t n = req.path() == "/big" ? 3000 : 24;
      res.payload = Bytes(n, static_cast<std::uint8_t>(req.payload.size()));
      if (req.observe() == 0u) res.set_observe(sequence_++);
      if (auto id = responder.respond(std::move(res), now_)) observations_.push_back(*id);
    });
    endpoint_.set_observation_ended_handler([](ObservationId, Failure) {});
    if (carrier == Carrier::kStream) {
      for (PeerId p : kPeers) endpoint_.on_connected(p, now_);
    }
    // Outstanding client requests: a plain GET, an Observe and a block-wise POST.
    for (PeerId p : kPeers) {
      endpoint_.request(p, make_request(codes::kGet, "/3/0/0"), ignore(), now_);
      Message obs = make_request(codes::kGet, "/3303/0/5700");
      obs.set_observe(0);
      endpoint_.request(p, std::move(obs), ignore(), now_);
      Message post = make_request(codes::kPost, "/rd");
      post.add_query("ep=fuzz");
      post.payload = Bytes(2500, 0x3c);
      endpoint_.request(p, std::move(post), ignore(), now_);
    }
    drain();
  }

  void step(PeerId peer, ByteView bytes, Duration advance, bool notify) {
    now_ += advance;
    endpoint_.on_timer(now_);
    if (notify) {
      for (ObservationId id : observations_) {
        if (!endpoint_.has_observation(id)) continue;
        Message content;
        content.code = codes::kContent;
        content.payload = Bytes(8, 0x55);
        endpoint_.notify(id, std::move(content), Type::kConfirmable, now_);
      }
    }
    endpoint_.receive(peer, bytes, now_);
    drain();
  }

  // Lets every timer run out: retransmissions, exchange lifetimes, caches.
  void finish() {
    for (int i = 0; i < 64; ++i) {
      auto deadline = endpoint_.next_deadline();
      if (!deadline) break;
      if (*deadline > now_) now_ = *deadline;
      endpoint_.on_timer(now_);
      drain();
    }
    for (PeerId p : kPeers) endpoint_.on_disconnected(p, now_);
    drain();
  }

 private:
  static EndpointConfig config(Carrier carrier) {
    EndpointConfig c;
    c.carrier = carrier;
    c.block_szx = 4;  // 256-byte blocks, so block-wise paths are short to reach
    c.stream.ping_interval = Duration{30'000};
    return c;
  }
  static ResponseHandler ignore() {
    return [](Result<Message>) {};
  }
  void drain() {
    while (endpoint_.poll_transmit()) {
    }
  }

  SeededRandom random_{0x7e7e7e7e};
  Instant now_ = instant_at(Duration{1'000'000});
  std::uint32_t sequence_ = 2;
  std::vector<ObservationId> observations_;
  Endpoint endpoint_;
};

// control: bit 7 picks the peer, bit 6 sends pending notifications first, bits 0-5 the
// clock step (fine steps up to 0.6 s, then coarse ones up to two minutes).
Duration clock_step(std::uint8_t control) {
  const unsigned s = control & 0x3f;
  return s < 32 ? Duration{20 * s} : Duration{4000 * (s - 31)};
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Harness datagram(Carrier::kDatagram);
  Harness stream(Carrier::kStream);
  std::size_t pos = 0;
  while (pos + 2 <= size) {
    const std::size_t len = data[pos];
    const std::uint8_t control = data[pos + 1];
    pos += 2;
    const std::size_t n = std::min(len, size - pos);
    const ByteView bytes(data + pos, n);
    pos += n;
    const PeerId peer = kPeers[control >> 7];
    const bool notify = (control & 0x40) != 0;
    datagram.step(peer, bytes, clock_step(control), notify);
    stream.step(peer, bytes, clock_step(control), notify);
  }
  datagram.finish();
  stream.finish();
  return 0;
}

// Throughput of the sans-I/O engine (no sockets) and the memory a peer costs the server
// while its dedup entry is alive. Counters: requests per second through client and server
// endpoints, and bytes of heap per active peer (mallinfo2 before/after).
#include <benchmark/benchmark.h>
#include <malloc.h>

#include <memory>

#include "coap/endpoint.hpp"
#include "coap/udp_codec.hpp"

namespace {
using namespace tether;
using namespace tether::coap;

std::unique_ptr<Endpoint> make_server(Random& random) {
  auto server = std::make_unique<Endpoint>(EndpointConfig{}, random);
  server->set_request_handler([](PeerId, const Message& req, Responder responder) {
    Message res = make_response(req, codes::kContent);
    res.set_content_format(content_format::kSenmlCbor);
    res.payload = Bytes(48, 0xa1);
    responder.respond(std::move(res), Instant{});
  });
  return server;
}

// One CON GET per iteration from a client endpoint to a server endpoint and back.
void BM_RequestResponseRoundTrip(benchmark::State& state) {
  SeededRandom random(1);
  Endpoint client(EndpointConfig{}, random);
  auto server_ptr = make_server(random);
  Endpoint& server = *server_ptr;
  Instant now{};
  std::size_t done = 0;
  for (auto _ : state) {
    Message req = make_request(codes::kGet, "/3/0/0");
    client.request(
        1, std::move(req), [&done](Result<Message> r) { done += r.ok(); }, now);
    while (auto t = client.poll_transmit()) server.receive(1, t->bytes, now);
    while (auto t = server.poll_transmit()) client.receive(1, t->bytes, now);
    now += Duration{1};
  }
  if (done != static_cast<std::size_t>(state.iterations())) state.SkipWithError("lost responses");
  state.counters["req/s"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_RequestResponseRoundTrip);

// N distinct peers each send one CON request; the server keeps each peer's dedup entry
// (with the cached piggybacked reply) for EXCHANGE_LIFETIME. Reports heap bytes per peer.
void BM_ServerStatePerPeer(benchmark::State& state) {
  const auto peers = static_cast<std::uint64_t>(state.range(0));
  double bytes_per_peer = 0;
  for (auto _ : state) {
    SeededRandom random(2);
    auto server_ptr = make_server(random);
    Endpoint& server = *server_ptr;
    Message req = make_request(codes::kGet, "/3/0/0");
    req.token = Bytes{1, 2, 3, 4, 5, 6, 7, 8};
    const std::size_t before = mallinfo2().uordblks;
    for (std::uint64_t p = 0; p < peers; ++p) {
      req.message_id = static_cast<std::uint16_t>(p);
      server.receive(p + 1, encode_udp(req), Instant{});
      while (server.poll_transmit()) {
      }
    }
    const std::size_t after = mallinfo2().uordblks;
    bytes_per_peer = static_cast<double>(after - before) / static_cast<double>(peers);
    benchmark::DoNotOptimize(server.message_layer().peer_count());
  }
  state.counters["bytes/peer"] = bytes_per_peer;
}
BENCHMARK(BM_ServerStatePerPeer)->Arg(10'000)->Arg(100'000)->Unit(benchmark::kMillisecond);

}  // namespace

// Server-side DTLS 1.2 handshakes with GnuTLS, in memory (no sockets): PSK and
// ECDHE-ECDSA (raw public keys), counting only the time spent in the server's calls, and
// the heap one established server session holds. Compare with the library's own limit:
// `gnutls-cli --benchmark-tls-kx` (docs/performance.md).
#include <benchmark/benchmark.h>
#include <gnutls/abstract.h>
#include <gnutls/x509.h>
#include <malloc.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <memory>
#include <vector>

#include "tls/gnutls/gnutls_backend.hpp"

namespace {

using namespace tether;
using Clock = std::chrono::steady_clock;

Bytes generate_key() {
  gnutls_x509_privkey_t key;
  gnutls_x509_privkey_init(&key);
  gnutls_x509_privkey_generate(key, GNUTLS_PK_ECDSA,
                               GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0);
  gnutls_datum_t d{};
  gnutls_x509_privkey_export2_pkcs8(key, GNUTLS_X509_FMT_PEM, nullptr, GNUTLS_PKCS_PLAIN, &d);
  Bytes out(d.data, d.data + d.size);
  gnutls_free(d.data);
  gnutls_x509_privkey_deinit(key);
  return out;
}

struct Setup {
  explicit Setup(bool rpk) {
    tls::GnutlsOptions o;
    o.server.emplace();
    o.server->psk_key_for = [this](ByteView) -> std::optional<Bytes> { return psk; };
    o.server->knows_public_key = [this](ByteView k) {
      return Bytes(k.begin(), k.end()) == client_public;
    };
    if (rpk) {
      server_key = generate_key();
      o.server->private_key = server_key;
      client.mode = tls::Mode::kRawPublicKey;
      client.private_key = generate_key();
      client_public = *tls::public_key_of(client.private_key);
      client.server_public_key = *tls::public_key_of(server_key);
    } else {
      client.mode = tls::Mode::kPsk;
      client.psk_identity = to_bytes("bench-device");
      client.psk_key = psk;
    }
    server = std::make_unique<tls::GnutlsBackend>(o);
  }
  Bytes psk = to_bytes("0123456789abcdef");
  Bytes server_key;
  Bytes client_public;
  tls::ClientCredentials client;
  tls::GnutlsBackend client_backend;
  std::unique_ptr<tls::GnutlsBackend> server;
};

// One handshake, cookie exchange included; returns the server's session and adds the time
// spent in server calls to `server_time`.
std::unique_ptr<tls::Session> handshake(Setup& s, Clock::duration& server_time) {
  const Instant now{};
  const Bytes address{1, 2, 3, 4, 5, 6, 7, 8};
  auto made = s.client_backend.client_session(tls::Carriage::kDatagram, s.client, {});
  std::unique_ptr<tls::Session> client = std::move(*made);
  client->start(now);
  std::unique_ptr<tls::Session> server;
  for (int round = 0; round < 32; ++round) {
    while (auto d = client->poll_output()) {
      const auto t0 = Clock::now();
      if (!server) {
        auto admission = s.server->admit_datagram(*d, address, now);
        server = std::move(admission.session);
        if (!admission.reply.empty()) {
          server_time += Clock::now() - t0;
          client->feed(admission.reply, now);
          continue;
        }
      } else {
        server->feed(*d, now);
      }
      server_time += Clock::now() - t0;
    }
    if (server) {
      while (auto d = server->poll_output()) client->feed(*d, now);
    }
    if (server && server->state() == tls::Session::State::kEstablished &&
        client->state() == tls::Session::State::kEstablished) {
      return server;
    }
  }
  return nullptr;
}

void run_handshakes(benchmark::State& state, bool rpk) {
  Setup s(rpk);
  std::int64_t done = 0;
  for (auto _ : state) {
    Clock::duration server_time{};
    auto session = handshake(s, server_time);
    if (!session) state.SkipWithError("handshake failed");
    state.SetIterationTime(std::chrono::duration<double>(server_time).count());
    ++done;
  }
  state.counters["handshakes/s"] =
      benchmark::Counter(static_cast<double>(done), benchmark::Counter::kIsRate);
}

void BM_ServerHandshakePsk(benchmark::State& state) {
  run_handshakes(state, false);
}
BENCHMARK(BM_ServerHandshakePsk)->UseManualTime()->Unit(benchmark::kMicrosecond);

void BM_ServerHandshakeEcdheEcdsaRpk(benchmark::State& state) {
  run_handshakes(state, true);
}
BENCHMARK(BM_ServerHandshakeEcdheEcdsaRpk)->UseManualTime()->Unit(benchmark::kMicrosecond);

// Resident pages of this process, in bytes.
double resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  long pages = 0, resident = 0;
  statm >> pages >> resident;
  return static_cast<double>(resident) * static_cast<double>(sysconf(_SC_PAGESIZE));
}

// Heap and resident memory held per established server session (PSK, CCM_8, MTU 1232).
void BM_ServerSessionMemory(benchmark::State& state) {
  Setup s(false);
  const auto count = static_cast<std::size_t>(state.range(0));
  double heap = 0;
  double resident = 0;
  for (auto _ : state) {
    std::vector<std::unique_ptr<tls::Session>> kept;
    kept.reserve(count);
    Clock::duration ignored{};
    const auto heap_before = mallinfo2().uordblks;
    const double rss_before = resident_bytes();
    for (std::size_t i = 0; i < count; ++i) kept.push_back(handshake(s, ignored));
    heap = static_cast<double>(mallinfo2().uordblks - heap_before) / static_cast<double>(count);
    resident = (resident_bytes() - rss_before) / static_cast<double>(count);
  }
  state.counters["heap bytes/session"] = heap;
  state.counters["resident bytes/session"] = resident;
}
BENCHMARK(BM_ServerSessionMemory)
    ->Arg(500)
    ->Arg(20'000)
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);

}  // namespace

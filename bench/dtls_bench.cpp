// Server-side DTLS 1.2 handshakes with GnuTLS, in memory (no sockets): PSK and
// ECDHE-ECDSA (raw public keys), counting only the time spent in the server's calls, and
// the heap one established server session holds. Compare with the library's own limit:
// `gnutls-cli --benchmark-tls-kx` (docs/performance.md), and for PSK a bare GnuTLS server
// session doing the same handshake (BM_BareGnutlsHandshakePsk).
#include <benchmark/benchmark.h>
#include <gnutls/abstract.h>
#include <gnutls/dtls.h>
#include <gnutls/x509.h>
#include <malloc.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <deque>
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
// spent in server calls to `server_time`. With `compact`, the client then sends one record
// and the server's session is replaced by its compact() (as the SecureLayer does).
std::unique_ptr<tls::Session> handshake(Setup& s, Clock::duration& server_time,
                                        bool compact = false) {
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
      if (!compact) return server;
      (void)client->write(to_bytes("first"));
      while (auto d = client->poll_output()) server->feed(*d, now);
      while (server->poll_plaintext()) {
      }
      auto lean = server->compact();
      return lean ? std::move(lean) : nullptr;
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

// GnuTLS's own rate for the same handshake, as the baseline of BM_ServerHandshakePsk (issue
// 22): a bare GnuTLS server session (no wrapper) with the suite our server picks for a PSK
// client (TLS_PSK_WITH_AES_128_CCM_8), the same cookie exchange, MTU, retransmission
// timeouts and session ticket, fed the same client's datagrams. Only its calls are timed.
struct BareServer {
  BareServer() {
    gnutls_global_init();
    gnutls_psk_allocate_server_credentials(&psk);
    gnutls_psk_set_server_credentials_function2(psk, &BareServer::key_for);
    const char* where = nullptr;
    if (gnutls_priority_init2(&priority,
                              "NONE:+VERS-DTLS1.2:+PSK:+AES-128-CCM-8:+AEAD:+SIGN-ECDSA-SHA256",
                              &where, 0) < 0) {
      std::abort();
    }
    gnutls_key_generate(&cookie_key, GNUTLS_COOKIE_KEY_SIZE);
    gnutls_session_ticket_key_generate(&ticket_key);
  }
  ~BareServer() {
    gnutls_psk_free_server_credentials(psk);
    gnutls_priority_deinit(priority);
    gnutls_free(cookie_key.data);
    gnutls_free(ticket_key.data);
    gnutls_global_deinit();
  }
  static int key_for(gnutls_session_t, const gnutls_datum_t*, gnutls_datum_t* key) {
    static const char secret[] = "0123456789abcdef";
    key->size = sizeof(secret) - 1;
    key->data = static_cast<unsigned char*>(gnutls_malloc(key->size));
    std::memcpy(key->data, secret, key->size);
    return 0;
  }
  gnutls_psk_server_credentials_t psk = nullptr;
  gnutls_priority_t priority = nullptr;
  gnutls_datum_t cookie_key{};
  gnutls_datum_t ticket_key{};
};

struct BareSession {
  BareSession(BareServer& server, gnutls_dtls_prestate_st* prestate) {
    gnutls_init(&session, GNUTLS_SERVER | GNUTLS_DATAGRAM | GNUTLS_NONBLOCK);
    gnutls_priority_set(session, server.priority);
    gnutls_credentials_set(session, GNUTLS_CRD_PSK, server.psk);
    gnutls_session_ticket_enable_server(session, &server.ticket_key);
    gnutls_transport_set_ptr(session, this);
    gnutls_transport_set_pull_function(session, &BareSession::pull);
    gnutls_transport_set_pull_timeout_function(session, &BareSession::pull_timeout);
    gnutls_transport_set_push_function(session, &BareSession::push);
    gnutls_transport_set_vec_push_function(session, &BareSession::vec_push);
    gnutls_dtls_set_mtu(session, 1232);
    gnutls_dtls_set_timeouts(session, 2000, 60000);
    gnutls_dtls_prestate_set(session, prestate);
  }
  ~BareSession() { gnutls_deinit(session); }
  static ssize_t pull(gnutls_transport_ptr_t p, void* data, size_t size) {
    auto* self = static_cast<BareSession*>(p);
    if (self->in.empty()) {
      gnutls_transport_set_errno(self->session, EAGAIN);
      return -1;
    }
    const Bytes d = std::move(self->in.front());
    self->in.pop_front();
    const size_t n = std::min(size, d.size());
    std::memcpy(data, d.data(), n);
    return static_cast<ssize_t>(n);
  }
  // As our server's: a flight's records in one datagram.
  static ssize_t vec_push(gnutls_transport_ptr_t p, const giovec_t* iov, int count) {
    Bytes d;
    for (int i = 0; i < count; ++i) {
      const auto* b = static_cast<const std::uint8_t*>(iov[i].iov_base);
      d.insert(d.end(), b, b + iov[i].iov_len);
    }
    const auto n = static_cast<ssize_t>(d.size());
    static_cast<BareSession*>(p)->out.push_back(std::move(d));
    return n;
  }
  static int pull_timeout(gnutls_transport_ptr_t p, unsigned) {
    return static_cast<BareSession*>(p)->in.empty() ? 0 : 1;
  }
  static ssize_t push(gnutls_transport_ptr_t p, const void* data, size_t size) {
    const auto* b = static_cast<const std::uint8_t*>(data);
    static_cast<BareSession*>(p)->out.emplace_back(b, b + size);
    return static_cast<ssize_t>(size);
  }
  // One record per call: called again while datagrams wait. True once established.
  bool handshake() {
    for (;;) {
      const int rc = gnutls_handshake(session);
      if (rc == GNUTLS_E_SUCCESS) return true;
      if (rc != GNUTLS_E_AGAIN && gnutls_error_is_fatal(rc) != 0) std::abort();
      if (in.empty()) return false;
    }
  }
  gnutls_session_t session = nullptr;
  std::deque<Bytes> in;
  std::vector<Bytes> out;
};

ssize_t append_to(gnutls_transport_ptr_t p, const void* data, size_t size) {
  const auto* b = static_cast<const std::uint8_t*>(data);
  static_cast<Bytes*>(p)->insert(static_cast<Bytes*>(p)->end(), b, b + size);
  return static_cast<ssize_t>(size);
}

void BM_BareGnutlsHandshakePsk(benchmark::State& state) {
  Setup s(false);
  BareServer bare;
  std::int64_t done = 0;
  std::uint8_t address[] = {1, 2, 3, 4, 5, 6, 7, 8};
  for (auto _ : state) {
    Clock::duration server_time{};
    const Instant now{};
    auto made = s.client_backend.client_session(tls::Carriage::kDatagram, s.client, {});
    std::unique_ptr<tls::Session> client = std::move(*made);
    client->start(now);
    std::unique_ptr<BareSession> server;
    bool established = false;
    for (int round = 0; round < 32 && !established; ++round) {
      while (auto d = client->poll_output()) {
        const auto t0 = Clock::now();
        if (!server) {
          gnutls_dtls_prestate_st prestate{};
          if (gnutls_dtls_cookie_verify(&bare.cookie_key, address, sizeof(address), d->data(),
                                        d->size(), &prestate) < 0) {
            Bytes reply;
            gnutls_dtls_cookie_send(&bare.cookie_key, address, sizeof(address), &prestate, &reply,
                                    append_to);
            server_time += Clock::now() - t0;
            client->feed(reply, now);
            continue;
          }
          server = std::make_unique<BareSession>(bare, &prestate);
        }
        server->in.push_back(std::move(*d));
        established = server->handshake();
        server_time += Clock::now() - t0;
      }
      if (server) {
        for (auto& d : server->out) client->feed(d, now);
        server->out.clear();
      }
      established = established && client->state() == tls::Session::State::kEstablished;
    }
    if (!established) state.SkipWithError("handshake failed");
    state.SetIterationTime(std::chrono::duration<double>(server_time).count());
    ++done;
  }
  state.counters["handshakes/s"] =
      benchmark::Counter(static_cast<double>(done), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_BareGnutlsHandshakePsk)->UseManualTime()->Unit(benchmark::kMicrosecond);

// Resident pages of this process, in bytes.
double resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  long pages = 0, resident = 0;
  statm >> pages >> resident;
  return static_cast<double>(resident) * static_cast<double>(sysconf(_SC_PAGESIZE));
}

// Heap and resident memory held per established server session (PSK, CCM_8, MTU 1232).
void measure_session_memory(benchmark::State& state, bool compact) {
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
    for (std::size_t i = 0; i < count; ++i) kept.push_back(handshake(s, ignored, compact));
    if (std::count(kept.begin(), kept.end(), nullptr) != 0) state.SkipWithError("no session");
    heap = static_cast<double>(mallinfo2().uordblks - heap_before) / static_cast<double>(count);
    resident = (resident_bytes() - rss_before) / static_cast<double>(count);
  }
  state.counters["heap bytes/session"] = heap;
  state.counters["resident bytes/session"] = resident;
}
// GnuTLS's session state, as held while a handshake's last flight may be repeated.
void BM_ServerSessionMemory(benchmark::State& state) {
  measure_session_memory(state, false);
}
BENCHMARK(BM_ServerSessionMemory)
    ->Arg(500)
    ->Arg(20'000)
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);
// Once the client sent data: the record keys alone (tls/dtls_record_session).
void BM_ServerSessionMemoryCompact(benchmark::State& state) {
  measure_session_memory(state, true);
}
BENCHMARK(BM_ServerSessionMemoryCompact)
    ->Arg(500)
    ->Arg(20'000)
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);

}  // namespace

// OSCORE (RFC 8613) cost next to its cipher: protect + unprotect of a request with a 64-byte
// and a 1-KiB payload, beside GnuTLS's own AES-CCM-16-64-128 encrypt + decrypt of the same
// plaintext with a kept handle (the library's rate, our baseline); and the bytes a security
// context holds.
#include <benchmark/benchmark.h>
#include <gnutls/crypto.h>

#include <malloc.h>

#include <variant>
#include <vector>

#include "coap/message.hpp"
#include "oscore/crypto.hpp"
#include "oscore/protection.hpp"

namespace {

using namespace tether;

oscore::ContextInput side(std::uint8_t sender, std::uint8_t recipient) {
  oscore::ContextInput in;
  in.master_secret = Bytes(16, 0x11);
  in.master_salt = Bytes(8, 0x22);
  in.sender_id = {sender};
  in.recipient_id = {recipient};
  return in;
}

coap::Message request(std::size_t payload) {
  auto m = coap::make_request(coap::codes::kPut, "/3303/0/5700");
  m.token = {1, 2, 3, 4, 5, 6, 7, 8};
  m.set_content_format(0);
  m.payload = Bytes(payload, 0x33);
  return m;
}

void BM_ProtectAndUnprotectRequest(benchmark::State& state) {
  auto client = *oscore::SecurityContext::derive(side(0xc1, 0x5e));
  auto server = *oscore::SecurityContext::derive(side(0x5e, 0xc1));
  const auto m = request(static_cast<std::size_t>(state.range(0)));
  const oscore::ContextLookup lookup = [&](ByteView, std::optional<ByteView>) { return &server; };
  for (auto _ : state) {
    auto p = oscore::protect_request(client, m);
    auto v = oscore::unprotect_request(p->message, lookup);
    if (!std::holds_alternative<oscore::VerifiedRequest>(v)) state.SkipWithError("refused");
    benchmark::DoNotOptimize(v);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ProtectAndUnprotectRequest)->Arg(64)->Arg(1024);

// The same round over 64 context pairs in turn: more keys than the per-thread cache of
// cipher handles holds, so each message pays GnuTLS's key expansion (a server whose
// devices each send now and then).
void BM_ProtectAndUnprotectRequestColdKeys(benchmark::State& state) {
  std::vector<oscore::SecurityContext> clients;
  std::vector<oscore::SecurityContext> servers;
  for (std::uint8_t i = 0; i < 64; ++i) {
    auto in = side(0xc1, 0x5e);
    in.master_secret[0] = i;
    clients.push_back(*oscore::SecurityContext::derive(in));
    std::swap(in.sender_id, in.recipient_id);
    servers.push_back(*oscore::SecurityContext::derive(in));
  }
  const auto m = request(static_cast<std::size_t>(state.range(0)));
  std::size_t i = 0;
  const oscore::ContextLookup lookup = [&](ByteView, std::optional<ByteView>) {
    return &servers[i];
  };
  for (auto _ : state) {
    i = (i + 1) % clients.size();
    auto p = oscore::protect_request(clients[i], m);
    auto v = oscore::unprotect_request(p->message, lookup);
    if (!std::holds_alternative<oscore::VerifiedRequest>(v)) state.SkipWithError("refused");
    benchmark::DoNotOptimize(v);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ProtectAndUnprotectRequestColdKeys)->Arg(64)->Arg(1024);

void BM_GnutlsAesCcmEncryptAndDecrypt(benchmark::State& state) {
  Bytes key(16, 0x44);
  gnutls_datum_t k{key.data(), 16};
  gnutls_aead_cipher_hd_t handle = nullptr;
  gnutls_aead_cipher_init(&handle, GNUTLS_CIPHER_AES_128_CCM_8, &k);
  // The plaintext OSCORE encrypts: inner code, options, payload marker and payload.
  const Bytes plain(static_cast<std::size_t>(state.range(0)) + 16, 0x33);
  const Bytes nonce(13, 0x55);
  const Bytes aad(40, 0x66);
  Bytes sealed(plain.size() + 8);
  Bytes opened(plain.size() + 8);
  for (auto _ : state) {
    std::size_t n = sealed.size();
    gnutls_aead_cipher_encrypt(handle, nonce.data(), nonce.size(), aad.data(), aad.size(), 8,
                               plain.data(), plain.size(), sealed.data(), &n);
    std::size_t m = opened.size();
    if (gnutls_aead_cipher_decrypt(handle, nonce.data(), nonce.size(), aad.data(), aad.size(), 8,
                                   sealed.data(), n, opened.data(), &m) != 0) {
      state.SkipWithError("tag");
    }
    benchmark::DoNotOptimize(opened.data());
  }
  gnutls_aead_cipher_deinit(handle);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_GnutlsAesCcmEncryptAndDecrypt)->Arg(64)->Arg(1024);

// What a forged RFC 8613 B.2 Request #1 costs the server: a known kid with a new kid
// context makes the layer derive a candidate context (three HKDF-SHA-256 runs) and try it,
// and the attacker, without the Master Secret, fails the tag. An upper bound on the rate
// one core can absorb.
void BM_ForgedRederivationRequest(benchmark::State& state) {
  auto attacker_in = side(0xc1, 0x5e);
  attacker_in.master_secret[0] ^= 0xff;
  attacker_in.id_context = Bytes(8, 0x01);
  auto attacker = *oscore::SecurityContext::derive(attacker_in);
  auto forged = oscore::protect_request(attacker, request(16));
  auto server_in = side(0x5e, 0xc1);
  for (auto _ : state) {
    server_in.id_context = Bytes(8, 0x01);
    auto candidate = oscore::SecurityContext::derive(server_in);
    const oscore::ContextLookup lookup = [&](ByteView, std::optional<ByteView>) {
      return &*candidate;
    };
    auto v = oscore::unprotect_request(forged->message, lookup);
    if (!std::holds_alternative<oscore::Refusal>(v)) state.SkipWithError("accepted");
    benchmark::DoNotOptimize(v);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ForgedRederivationRequest);

// Bytes per context, measured by the allocator: 1000 contexts derived and each used once
// both ways, the heap growth divided by 1000 (the object is in the vector's block, and
// counted by of_which_object); 45 bytes of it are keys and the Common IV. The input the
// keyring keeps beside each context for re-derivation (Master Secret, Salt, IDs) is
// counted apart.
void BM_ContextMemory(benchmark::State& state) {
  std::vector<oscore::SecurityContext> contexts;
  contexts.reserve(1000);
  const std::size_t before = mallinfo2().uordblks;
  for (int i = 0; i < 1000; ++i) {
    contexts.push_back(*oscore::SecurityContext::derive(side(0xc1, 0x5e)));
    const Bytes nonce(13, 0);
    auto sealed = oscore::aead_encrypt(contexts.back().sender_key(), nonce, {}, Bytes(4, 0));
    (void)oscore::aead_decrypt(contexts.back().sender_key(), nonce, {}, *sealed);
  }
  const std::size_t after = mallinfo2().uordblks;
  std::vector<oscore::ContextInput> inputs;
  inputs.reserve(1000);
  const std::size_t inputs_before = mallinfo2().uordblks;
  for (int i = 0; i < 1000; ++i) inputs.push_back(side(0xc1, 0x5e));
  const std::size_t inputs_after = mallinfo2().uordblks;
  for (auto _ : state) benchmark::DoNotOptimize(contexts.data());
  state.counters["heap_per_context"] = static_cast<double>(after - before) / 1000.0;
  state.counters["of_which_object"] = static_cast<double>(sizeof(oscore::SecurityContext));
  state.counters["kept_input_heap"] = static_cast<double>(inputs_after - inputs_before) / 1000.0;
  state.counters["kept_input_object"] = static_cast<double>(sizeof(oscore::ContextInput));
}
BENCHMARK(BM_ContextMemory)->Iterations(1);

}  // namespace

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
  const oscore::ContextLookup lookup = [&](const Bytes&, const std::optional<Bytes>&) {
    return &server;
  };
  for (auto _ : state) {
    auto p = oscore::protect_request(client, m);
    auto v = oscore::unprotect_request(p->message, lookup);
    if (!std::holds_alternative<oscore::VerifiedRequest>(v)) state.SkipWithError("refused");
    benchmark::DoNotOptimize(v);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ProtectAndUnprotectRequest)->Arg(64)->Arg(1024);

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

// Bytes per context, measured by the allocator: 1000 contexts derived and each used once
// both ways, the heap growth divided by 1000 (the object is in the vector's block); the
// keys are 16 + 16 + 13 of it.
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
  for (auto _ : state) benchmark::DoNotOptimize(contexts.data());
  state.counters["bytes_per_context"] = static_cast<double>(after - before) / 1000.0;
  state.counters["of_which_object"] = static_cast<double>(sizeof(oscore::SecurityContext));
}
BENCHMARK(BM_ContextMemory)->Iterations(1);

}  // namespace

#pragma once
// Credentials in mode oscore (Transport TS 5.5) as contexts of an oscore::Keyring, for the
// LwM2M server and the bootstrap server alike. The credentials name the client's side (its
// object 21); the keyring holds ours, so Sender and Recipient ID change places.
#include "common/result.hpp"
#include "oscore/keyring.hpp"
#include "server/store/server_store.hpp"

namespace tether::server {

// RFC 8613 B.1.1: how far ahead of use a server stores its Sender Sequence Number bound (one
// store commit per so many requests and notifications under a context).
inline constexpr std::uint64_t kOscoreSequenceStep = 64;

oscore::ContextInput server_context_input(const OscoreKeys& keys);
// 4.09 when another endpoint's context already has the same Recipient ID and ID Context;
// 4.00 when the keys do not make a context.
Result<Ok> check_oscore(const oscore::Keyring& keyring, const Credentials& c);
// RFC 8613 B.1.1 for credentials replacing `old` (if any): their stored bound never falls
// below the old one, nor below the number the live context reached plus a step, so a crash
// right after the replacement cannot reuse a nonce under the same keys.
void carry_sequence_bound(const oscore::Keyring& keyring, const Credentials* old, Credentials& c);
// Makes c's context current, or drops the endpoint's context when c is of another mode. A
// replaced context never restarts below the Sender Sequence Number its endpoint reached.
Result<Ok> key_oscore(oscore::Keyring& keyring, const Credentials& c);

}  // namespace tether::server

#pragma once
// The plug point for server state: registrations, observations and per-endpoint security
// credentials. In-memory (tests), SQLite (the embedded default) and later Redis (several
// server nodes sharing state) implement it. Calls come from the server's loop thread.
//
// Writes may be buffered; flush() makes everything written so far durable. The server calls
// it periodically and on shutdown.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/bytes.hpp"
#include "common/result.hpp"
#include "lwm2m/path.hpp"
#include "server/registration.hpp"

namespace tether::server {

// An observation the server holds on a client (single or composite), enough to recognise
// its notifications again after a restart: the token, and what was asked.
struct ObservationRecord {
  std::string id;  // server-chosen, unique per server
  std::string endpoint;
  std::string registration_id;
  std::vector<lwm2m::Path> paths;  // one path, or several for Observe-Composite
  bool composite = false;
  std::optional<std::uint16_t> accept;  // the Accept format asked for, if any
  std::vector<std::string> attributes;  // attributes sent with the Observe ("pmin=10")
  Bytes token;
  UnixMillis created_at = 0;
  friend bool operator==(const ObservationRecord&, const ObservationRecord&) = default;
};

// Transport TS 5.5: the OSCORE context a client shares with the server, in the terms of
// the client's OSCORE object (ID 21): sender_id is the client's Sender ID (the server's
// Recipient ID).
struct OscoreKeys {
  Bytes master_secret;
  Bytes master_salt;
  Bytes sender_id;
  Bytes recipient_id;
  std::optional<Bytes> id_context;
  int aead = 10;   // AES-CCM-16-64-128
  int hkdf = -10;  // HKDF SHA-256
  // RFC 8613 B.1.1: the stored bound of the server's Sender Sequence Number.
  std::uint64_t sequence_bound = 0;
  friend bool operator==(const OscoreKeys&, const OscoreKeys&) = default;
};

// Transport TS 8.6 and the LwM2M COSE object (23): the key an MQTT client seals its maps
// with (COSE_Encrypt0, AES-CCM-16-64-128), named by its kid.
struct CoseKeys {
  Bytes kid;
  Bytes key;
  int algorithm = 10;
  friend bool operator==(const CoseKeys&, const CoseKeys&) = default;
};

// What a client must prove to register under its endpoint name (Transport TS 5.2.6).
struct Credentials {
  enum class Kind : std::uint8_t { kPsk, kRpk, kX509, kOscore, kCose, kDigest };
  std::string endpoint;
  Kind kind = Kind::kPsk;
  std::string psk_identity;      // PSK
  Bytes psk_key;                 // PSK
  Bytes public_key;              // RPK: SubjectPublicKeyInfo, DER
  std::string x509_common_name;  // X.509: the expected CN (empty: the endpoint name)
  // OSCORE: the mode's keys, or, beside a PSK, RPK or certificate, the context the client
  // uses inside its (D)TLS session too (Transport TS 5.5: OSCORE over a secured carrier).
  OscoreKeys oscore;
  CoseKeys cose;  // mode cose: end-to-end protection over MQTT (Transport TS 8.6)
  // Mode digest: HTTP Digest over the HTTP binding (seed 004); the username is the endpoint.
  std::string http_password;
  bool has_oscore() const { return kind == Kind::kOscore || !oscore.master_secret.empty(); }
  friend bool operator==(const Credentials&, const Credentials&) = default;
};
const char* credentials_kind_name(Credentials::Kind kind);
// How a client's OSCORE context is named in PeerIdentity::oscore: its Sender ID in hex, and
// "/" and the ID Context in hex when there is one.
std::string oscore_identity(ByteView client_sender_id, const std::optional<Bytes>& id_context);
std::optional<Credentials::Kind> credentials_kind_from(const std::string& name);

class ServerStore {
 public:
  virtual ~ServerStore() = default;

  virtual Result<std::vector<Registration>> load_registrations() = 0;
  // Inserts or replaces the registration of registration.endpoint.
  virtual Result<Ok> save_registration(const Registration& registration) = 0;
  // After an Update (Core TS 6.2.2) of a registration saved before: a store may write only
  // what an Update can change (lifetime, binding, queue mode, SMS number, profile, where and
  // who the client is, the time), and the object list only when `objects_changed`. By
  // default the whole registration is saved again.
  virtual Result<Ok> save_update(const Registration& registration, bool objects_changed) {
    (void)objects_changed;
    return save_registration(registration);
  }
  // Removes the registration and every observation of that endpoint.
  virtual Result<Ok> remove_registration(const std::string& endpoint) = 0;

  // Several server nodes on one store (Redis): the registration with this ID that another
  // node made or holds, with its observations, for this node to take over when the device
  // reaches it; nullopt when there is none. A store of one node has nothing beyond what
  // load_registrations() gave.
  struct Found {
    Registration registration;
    std::vector<ObservationRecord> observations;
    std::string owner;  // the node that held it (empty: unknown)
  };
  virtual Result<std::optional<Found>> find_registration(const std::string& id) {
    (void)id;
    return std::optional<Found>{};
  }
  // Makes a registration find_registration() gave this node's, if the store still holds
  // that very registration; false when it does not (removed, registered again, taken).
  virtual Result<bool> take_registration(const Registration& registration) {
    (void)registration;
    return true;
  }
  // The registrations of nodes that died (their heartbeat ended), now this node's; each is
  // handed to one node only. Nothing for a store of one node.
  virtual Result<std::vector<Found>> claim_orphans() { return std::vector<Found>{}; }
  // Whether claim_orphans() stopped with more to look at (it works in bounded slices, so
  // that a large takeover does not stall the loop): call it again soon.
  virtual bool claiming() const { return false; }
  // This server stopped serving `endpoint`: another worker or node serves it now
  // (Lwm2mServer::release). A store of this server's own removes its copy; a store shared
  // with that other one (Redis) leaves the record to it, and only drops what this server
  // had not written yet, which is older than what the other writes.
  virtual Result<Ok> let_go(const std::string& endpoint) { return remove_registration(endpoint); }
  // The node whose registration of `endpoint` the store holds, as flushed; nullopt when it
  // holds none (and always for a store of one node).
  virtual Result<std::optional<std::string>> owner_of(const std::string& endpoint) {
    (void)endpoint;
    return std::optional<std::string>{};
  }

  virtual Result<std::vector<ObservationRecord>> load_observations() = 0;
  virtual Result<Ok> save_observation(const ObservationRecord& observation) = 0;
  // An observation's ID belongs to one endpoint for its whole life; stores may file it
  // under that endpoint (Redis keeps an endpoint's records together).
  virtual Result<Ok> remove_observation(const std::string& endpoint, const std::string& id) = 0;

  virtual Result<std::vector<Credentials>> load_credentials() = 0;
  // One endpoint's, as stored now (another node may have changed them); nullopt: none.
  // Stores for several nodes read just that endpoint's.
  virtual Result<std::optional<Credentials>> load_credentials_of(const std::string& endpoint) {
    auto all = load_credentials();
    if (!all) return all.error();
    for (auto& c : *all) {
      if (c.endpoint == endpoint) return std::optional<Credentials>(std::move(c));
    }
    return std::optional<Credentials>{};
  }
  virtual Result<Ok> save_credentials(const Credentials& credentials) = 0;
  virtual Result<Ok> remove_credentials(const std::string& endpoint) = 0;
  // RFC 8613 B.1.1: reserves `step` Sender Sequence Numbers of `endpoint`'s OSCORE context,
  // durably, and answers the first: at or past `from`, and past every number reserved
  // before by anyone sharing this store (a worker's copy of the same context). By default
  // the stored credentials' bound is read, raised and flushed.
  virtual Result<std::uint64_t> reserve_sequences(const std::string& endpoint, std::uint64_t from,
                                                  std::uint64_t step);

  virtual Result<Ok> flush() = 0;
};

}  // namespace tether::server

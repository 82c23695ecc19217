#pragma once
// The (D)TLS credential flags of `tether client` and `tether coap` (Transport TS 5.2.9): one
// table of flags, turned into Security object resources, so both tools secure a coaps://
// URI the same way.
#include <cstdint>
#include <string>

#include "cli_options.hpp"
#include "lwm2m/tree.hpp"
#include "option_table.hpp"
#include "tls/credentials.hpp"

namespace tether::app {

struct CredentialFlags {
  std::string psk_identity;
  std::string psk_key;            // hex
  std::string rpk_key;            // file: our private key
  std::string rpk_server_key;     // file: the server's public key
  std::string cert;               // file: our certificate
  std::string key;                // file: our private key
  std::string ca;                 // file: a trust anchor for the server's certificate
  std::string server_cert;        // file: the server's own certificate
  std::uint32_t cert_usage = 99;  // 99: 2 with --ca, else 3
  std::string sni;
  std::string trust;  // PEM bundle of PKIX trust anchors (certificate usages 0 and 1)
};

// The flags (and their config keys) for an OptionTable.
void add_credential_options(OptionTable& table, CredentialFlags& f);
// For ArgReader loops: consumes the current flag when it is one of ours.
bool take_credential_flag(ArgReader& r, CredentialFlags& f);
// The help lines for these flags.
extern const char* const kCredentialHelp;

// The Security instance resources /0/`instance`/... of a secure account from the flags.
// Throws std::invalid_argument when they do not make a usable set.
void add_credentials(lwm2m::Tree& tree, std::uint16_t instance, const CredentialFlags& f);
// What the flags give for a server at `uri` (tether coap): read through the same Security
// object mapping as the client's accounts.
tls::ClientCredentials client_credentials(const CredentialFlags& f, const std::string& uri);

}  // namespace tether::app

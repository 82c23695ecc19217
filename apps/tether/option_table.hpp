#pragma once
// Command-line flags and JSON config-file keys for the long-running commands, declared once
// in a table: each option names its flag, its config key, and where its value goes. The
// config file (--config FILE) is read first, so flags win wherever they appear.
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli_options.hpp"
#include "interface_auth_flags.hpp"

namespace tether::app {

class OptionTable {
 public:
  explicit OptionTable(std::string command) : command_(std::move(command)) {}

  // "--flag VALUE" and "key": "value".
  OptionTable& text(const char* flag, const char* key, std::string& out,
                    const char* short_flag = nullptr);
  // "--flag N" (0..max) and "key": N.
  template <typename T>
  OptionTable& number(const char* flag, const char* key, T& out, std::uint64_t max,
                      const char* short_flag = nullptr) {
    return add({flag, short_flag, key, true,
                [&out, max](const std::string& v) { out = static_cast<T>(parse_number(v, max)); },
                [&out](const nlohmann::json& v) { out = v.get<T>(); }});
  }
  // A switch "--flag" that sets `out` to `flag_value`, and "key": true doing the same
  // ("key": false the opposite). Keys are the flags in camelCase (--keep-sessions:
  // keepSessions).
  OptionTable& boolean(const char* flag, const char* key, bool& out, bool flag_value = true,
                       const char* short_flag = nullptr);
  // Config keys the table does not name go here; returning false refuses them.
  OptionTable& other_keys(std::function<bool(const std::string&, const nlohmann::json&)> f) {
    other_keys_ = std::move(f);
    return *this;
  }

  // Throws std::invalid_argument for an unknown flag or key, or a missing value.
  void parse(const std::vector<std::string>& args) const;

 private:
  struct Entry {
    const char* flag;
    const char* short_flag;
    const char* key;
    bool takes_value;
    std::function<void(const std::string&)> from_text;
    std::function<void(const nlohmann::json&)> from_json;
  };
  // Throws std::logic_error when the key is not the flag in camelCase.
  OptionTable& add(Entry e);

  std::string command_;
  std::vector<Entry> entries_;
  std::function<bool(const std::string&, const nlohmann::json&)> other_keys_;
};

// Transport TS 8: an MQTT broker ("mqtt://host:port", "mqtts://host:port"), the topic prefix
// (a tenant, 8.2), and how we log in to it.
struct MqttOptions {
  std::string url;  // servers: --mqtt (empty: none); the client takes it from its Server URI
  std::string prefix;
  std::string client_id;  // default: servers "tether-" and 8 random hex digits
  std::string ca;         // mqtts: the CA of the broker's certificate (default: the system's)
  std::string cert;       // mqtts: our certificate and key, when the broker asks
  std::string key;
  std::string username;
  std::string password_file;
  // > 0: a persistent broker session (no clean session) the broker keeps this long after we
  // leave (MQTT 5 Session Expiry Interval), so nothing published for us meanwhile is lost.
  std::uint32_t session_expiry_s = 0;
};
// --mqtt-prefix, --mqtt-client-id, --mqtt-ca, --mqtt-cert, --mqtt-key, --mqtt-username,
// --mqtt-password-file, --mqtt-session-expiry (and --mqtt itself when `with_url`).
void add_mqtt_options(OptionTable& table, MqttOptions& o, bool with_url);

// Transport TS 7: the HTTP binding of `tether server` and `tether bootstrap`.
struct HttpBindingOptions {
  std::uint16_t port = 0;  // --http-binding-port; 0: off
  std::string host;        // --http-binding-host (default: --bind)
  // HTTPS with this certificate chain and key (seed 004: server authentication); without
  // them, plain HTTP.
  std::string cert;
  std::string key;
  std::string client_ca;  // client certificates that chain to it are accepted (and proved)
  // Devices' own HTTPS servers: their CA (default: the system's trust store).
  std::string device_ca;
  // Where a device that announces no origin listens, on the address it spoke from.
  std::uint16_t device_port = 8080;
  // Seed 004 for the devices' requests: --http-binding-auth (default
  // none,digest,certificate), --http-binding-trusted-proxy, --http-binding-identity-header.
  InterfaceAuthOptions auth;
};
void add_http_binding_options(OptionTable& table, HttpBindingOptions& o);

// Transport TS 6.8.3: CoAP over SMS through an SMS gateway (Kannel's smsbox, docs/sms.md).
struct SmsGatewayOptions {
  // smsbox's send-sms URL, http://USER[:PASSWORD]@HOST:PORT/cgi-bin/sendsms; empty: no SMS.
  std::string gateway;
  std::string password_file;  // the send-sms password, kept off the command line
  std::string number;         // our MSISDN, the sender of what we send
  // Where smsbox's get-url delivers what devices send: http://HOST:PORT/sms?from=%p&...
  std::string callback_host = "127.0.0.1";
  std::uint16_t callback_port = 13080;
  std::string smsc_id;  // route our SMS through this SMSC of Kannel's (its smsc-id)
  // Transport TS 6.6: a request queued for a sleeping client whose binding has S sends it
  // the Registration Update Trigger by SMS (once until it is heard from).
  bool auto_wake = false;
  // A token smsbox's get-url must carry (token=...): needed when the callback listens
  // beyond loopback, since an address is not a credential.
  std::string callback_token_file;
  // Transport TS 5.4: nosec (OSCORE may protect it), dtls (SMS Secured mode with the
  // device end-point: DTLS over SMS with the endpoints' PSK credentials) or smartcard
  // (Secured Packet Structure mode with the keys of --sms-keys-file).
  std::string security = "nosec";
  // smartcard: one line per device, "MSISDN KEY_PARAMETERS_HEX SECRET_KEYS_HEX" (/0/x/7 and
  // /0/x/8 as the device holds them); "#" starts a comment.
  std::string keys_file;
};
// --sms-gateway, --sms-gateway-password-file, --sms-number, --sms-callback-host,
// --sms-callback-port, --sms-callback-token-file, --sms-smsc, --sms-auto-wake, --sms-security,
// --sms-keys-file.
void add_sms_gateway_options(OptionTable& table, SmsGatewayOptions& o);

// Transport TS 6.8.4: serving LoRaWAN devices as an application server, through a network
// server's MQTT integration (ChirpStack v4's topics and JSON).
struct LorawanServiceOptions {
  std::string broker;             // --lorawan mqtt://HOST[:PORT]; empty: no LoRaWAN
  std::string application = "+";  // the application id ("+": every one the broker shows)
  std::string region = "EU868";
  bool unconfirmed = false;  // Appendix C.3.2 (CON over unconfirmed frames) instead of C.3.1
  // Devices may register under names other than their DevEUI (anyone on the network could
  // then take another's registration).
  bool any_name = false;
  std::uint32_t ack_timeout_s = 300;  // Appendix C.2
  std::uint32_t max_retransmit = 4;
  std::string username;
  std::string password_file;
};
// --lorawan, --lorawan-application, --lorawan-region, --lorawan-unconfirmed, --lorawan-any-name,
// --lorawan-ack-timeout, --lorawan-max-retransmit, --lorawan-username,
// --lorawan-password-file.
void add_lorawan_options(OptionTable& table, LorawanServiceOptions& o);

// Transport TS Appendix D.3: serving NB-IoT/LTE-M devices over non-IP data, as an SCS/AS on
// an SCEF's T8 API (TS 29.122).
struct NiddServiceOptions {
  std::string scef;               // --nidd http://HOST:PORT[/ROOT]; empty: no NIDD
  std::string scs_as = "tether";  // our SCS/AS id in the T8 paths
  // The UEs we serve: "EXTERNAL-ID[=ENDPOINT]" or "MSISDN[=ENDPOINT]", comma-separated; the
  // endpoint name defaults to the External Identifier (or MSISDN).
  std::string ues;
  std::string callback_host = "127.0.0.1";
  std::uint16_t callback_port = 0;
  std::string callback_token_file;
  std::uint32_t maximum_latency_s = 90;  // how long the SCEF may buffer a delivery (D.6)
  bool any_name = false;                 // devices may register under other names than their UE's
};
// --nidd, --nidd-scs-as, --nidd-ue, --nidd-callback-host, --nidd-callback-port,
// --nidd-callback-token-file, --nidd-maximum-latency, --nidd-any-name.
void add_nidd_options(OptionTable& table, NiddServiceOptions& o);

// What `tether server` and `tether bootstrap` share: where they listen, where they keep
// their data, extra object definitions, and how much they log.
struct ServiceOptions {
  std::string bind = "::";
  std::uint16_t coap_port = 5683;
  bool udp = true;
  bool tcp = true;
  // The REST API listens on loopback unless told otherwise (--api-bind, or --http-host);
  // seed 004 protects it: users with roles (--api-users), a token (--api-token-file), the
  // modes they may prove themselves with (--api-auth ...), HTTPS (--api-cert, --api-key,
  // --api-client-ca).
  std::string http_host = "127.0.0.1";
  std::uint16_t http_port = 8080;
  std::string api_token_file;
  std::string api_users_file;
  InterfaceAuthOptions api_auth;
  std::string api_cert;
  std::string api_key;
  std::string api_client_ca;
  std::uint64_t api_max_body = 4 * 1024 * 1024;  // bytes; 413 beyond
  std::string store;
  // Several nodes on one Redis (--store redis://...): this node's name, and the password.
  std::string node_id;  // empty: HOSTNAME:COAP_PORT
  std::string redis_password_file;
  std::string data_dir = "tether-data";
  std::string models;
  // The web console on the API port: served from the binary, or from --console-dir.
  bool console = true;
  std::string console_dir;
  bool quiet = false;
  std::string log_level = "info";     // debug, info, warn, error
  std::string log_format = "logfmt";  // logfmt or json
  // coaps (DTLS) and coaps+tcp (TLS) on one port; 0: off.
  std::uint16_t coaps_port = 5684;
  std::string key;        // our private key (raw public key mode, and with --cert)
  std::string cert;       // our certificate chain (certificate mode)
  std::string client_ca;  // trust anchors for client certificates
  // Seed 000: a client's session ends when its credentials on file change.
  bool renew_sessions = true;
  // Established (D)TLS sessions silent this long are closed; 0: kept (up to the LRU cap).
  std::uint32_t session_idle_timeout = 0;
  // Transport TS 5.7: unsafe requests over UDP or DTLS from a peer silent this long (or
  // never heard) must prove freshness with CoAP Echo first; 0: off.
  std::uint32_t echo_after_silence = 0;
  // UDP/DTLS source addresses kept that no registration holds (a spray of spoofed sources
  // cannot grow the server past it); idle ones go after 10 minutes anyway.
  std::uint32_t max_stray_peers = 262'144;
  MqttOptions mqtt;
  HttpBindingOptions http_binding;
  SmsGatewayOptions sms;
  LorawanServiceOptions lorawan;
  NiddServiceOptions nidd;
};
void add_service_options(OptionTable& table, ServiceOptions& o);

}  // namespace tether::app

// `tether client`: the LwM2M client for Linux devices and gateways (docs/client.md). It
// bootstraps or registers with the servers of its Security/Server objects, answers their
// operations, reports a simulated temperature that moves, and keeps its accounts in a
// state file written atomically. Settings come as flags or a JSON --config file; the
// file may also carry a factory configuration in the bootstrap configuration's shape.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>

#include "binding/coap/freshness_gate.hpp"
#include "binding/coap/lorawan_registration.hpp"
#include "cli_options.hpp"
#include "client/link/mqtt_client_link.hpp"
#include "client/lwm2m_client.hpp"
#include "client/objects/account_objects.hpp"
#include "client/objects/connectivity_object.hpp"
#include "client/objects/firmware_object.hpp"
#include "client/objects/temperature_object.hpp"
#include "client/security_credentials.hpp"
#include "client_networks.hpp"
#include "coap/uri.hpp"
#include "commands.hpp"
#include "common/logfmt.hpp"
#include "credential_flags.hpp"
#include "http_device_service.hpp"
#include "lorawan/frame.hpp"
#include "lwm2m/account_defaults.hpp"
#include "lwm2m/endpoint_name.hpp"
#include "lwm2m/object_json.hpp"
#include "mqtt_service.hpp"
#include "nidd/uri.hpp"
#include "option_table.hpp"
#include "oscore_flags.hpp"
#include "service_runtime.hpp"
#include "sms/software_uicc.hpp"
#include "sms_service.hpp"
#include "tls/gnutls/gnutls_backend.hpp"
#include "transport/sms/modem_carrier.hpp"
#include "transport/sms/sms_transport.hpp"

namespace tether::app {

namespace {
using lwm2m::Path;
using lwm2m::Value;
using nlohmann::json;

constexpr const char* kDefaultName = "tether-client";

struct ClientSettings {
  client::ClientConfig config;
  std::string server_uri;
  std::string bootstrap_uri;
  std::uint32_t lifetime = 300;
  std::string state_file;
  std::string models;  // a folder of OMA XML object definitions
  std::uint16_t port = 0;
  bool quiet = false;
  // Transport TS 5.7: Echo before acting on a server's unsafe request after a silence
  // (seconds, 0: off), and before any write that may set Current Time (5.2.9.5).
  std::uint32_t echo_after_silence = 0;
  bool time_echo = true;
  std::uint32_t awake_window_ms = 93'000;  // queue mode (Transport TS 6.5)
  std::string log_level = "info";
  std::string log_format = "logfmt";
  json factory = json::object();  // object sections
  // Credentials for a coaps:// or coaps+tcp:// --server / --bootstrap URI.
  CredentialFlags credentials;
  // An OSCORE context for the --server or --bootstrap account (Transport TS 5.5.3).
  OscoreFlags oscore;
  // Transport TS 8: the broker of mqtt:// and mqtts:// accounts, and our topics' prefix.
  MqttOptions mqtt;
  // Transport TS 8.6: a COSE key for the --server or --bootstrap account over MQTT (object 23).
  std::string cose_kid;
  std::string cose_key;
  // Transport TS 7: our own HTTP server for the servers' requests over the HTTP binding.
  std::string http_device_host = "127.0.0.1";
  std::uint16_t http_device_port = 0;  // 0: a free port
  std::string http_device_origin;      // announced; default scheme://host:port
  std::string http_device_cert;        // HTTPS with this certificate and key
  std::string http_device_key;
  // Seed 004 5.2.1.2: HTTP Digest credentials for http(s) accounts (default username: the
  // endpoint name), kept in the Security instance as a PSK mode's Identity and Secret Key.
  std::string http_username;
  std::string http_password_file;
  // Transport TS 6.8.3: the serial device of a cellular modem for sms:// accounts (our
  // MSISDN is s.config.sms_number).
  std::string sms_modem;
  // Transport TS 6.8.4 and Appendix D.3: lorawan:// and nidd:// accounts.
  LorawanLinkSettings lorawan;
  NiddLinkSettings nidd;
  // The --server account's LwM2M Server SMS Number (/0/x/9): where its triggers come from
  // when it is reached over UDP (Transport TS 6.6).
  std::string server_sms_number;
  // Transport TS 5.4: nosec, dtls (DTLS over SMS with --psk-identity/--psk-key), or
  // smartcard (Secured Packet Structure mode through our software UICC, with these keys
  // as the SMS Binding Key Parameters and Secret Keys, /0/x/7 and /0/x/8).
  std::string sms_security = "nosec";
  std::string sms_key_params;
  std::string sms_secret_keys;
  std::string http_device_client_ca;
  InterfaceAuthOptions http_device_auth;
  // Core TS 6.4.6: report these paths' values with Send every send_interval seconds.
  std::string send_paths;
  std::uint32_t send_interval = 60;
};

bool is_mqtt_uri(const std::string& uri) {
  return uri.rfind("mqtt://", 0) == 0 || uri.rfind("mqtts://", 0) == 0;
}

bool is_http_uri(const std::string& uri) {
  return uri.rfind("http://", 0) == 0 || uri.rfind("https://", 0) == 0;
}

bool is_server_number(const client::DataModel& data, const std::string& from) {
  return data.security_instance_of_sms_number(from).has_value();
}

// The SMS Security Mode (/0/x/6) of a Security instance; 3 (NoSec) when it names none.
std::int64_t sms_security_mode(const client::DataModel& data, std::uint16_t instance) {
  auto mode = data.value(lwm2m::Path{0, instance, 6});
  const auto* m = mode ? mode->get_if<std::int64_t>() : nullptr;
  return m == nullptr ? 3 : *m;
}

// Whether SMS with a number go through the card. Only NoSec accounts go in the clear: mode 2
// (Secured Packet Structure) is the card's, and any other mode (DTLS without --sms-security
// dtls) finds no keys there, so its SMS are dropped rather than read unprotected (5.4.2).
bool uses_secured_packets(const client::DataModel& data, const std::string& number) {
  const auto instance = data.security_instance_of_sms_number(number);
  return instance && sms_security_mode(data, *instance) != 3;
}

// Transport TS 5.4.2.1.3: the SMS binding keys of that account (/0/x/7, /0/x/8).
std::optional<sms::SecuredPacketKeys> sms_binding_keys(const client::DataModel& data,
                                                       const std::string& number) {
  const auto instance = data.security_instance_of_sms_number(number);
  if (!instance || sms_security_mode(data, *instance) != 2) return std::nullopt;
  auto params = data.value(lwm2m::Path{0, *instance, 7});
  auto secret = data.value(lwm2m::Path{0, *instance, 8});
  const auto* p = params ? params->get_if<Bytes>() : nullptr;
  const auto* k = secret ? secret->get_if<Bytes>() : nullptr;
  if (p == nullptr || k == nullptr) return std::nullopt;
  auto keys = sms::parse_sms_binding_keys(*p, *k);
  if (!keys) return std::nullopt;
  return std::move(*keys);
}

// --sms-key-params and --sms-secret-keys, checked: the /0/x/7 and /0/x/8 values.
std::pair<Bytes, Bytes> smartcard_keys(const ClientSettings& s) {
  auto params = from_hex(s.sms_key_params);
  auto secret = from_hex(s.sms_secret_keys);
  if (!params || !secret) {
    throw std::invalid_argument(
        "--sms-security smartcard needs --sms-key-params HEX and "
        "--sms-secret-keys HEX");
  }
  if (auto ok = sms::parse_sms_binding_keys(*params, *secret); !ok) {
    throw std::invalid_argument("--sms-key-params/--sms-secret-keys: " + ok.error().reason);
  }
  return {std::move(*params), std::move(*secret)};
}

void parse_options(ClientSettings& s, const std::vector<std::string>& args) {
  OptionTable table("client");
  table.text("--server", "server", s.server_uri, "-s")
      .text("--bootstrap", "bootstrap", s.bootstrap_uri, "-b")
      .text("--endpoint", "endpoint", s.config.endpoint, "-e")
      .number("--lifetime", "lifetime", s.lifetime, 0xffffffffu, "-l")
      .boolean("--queue", "queue", s.config.queue_mode)
      .number("--awake-window-ms", "awakeWindowMs", s.awake_window_ms, 86'400'000)
      .text("--state", "state", s.state_file)
      .text("--models", "models", s.models)
      .number("--port", "port", s.port, 65535, "-p")
      .text("--lwm2m", "lwm2m", s.config.version)
      .text("--proxy", "proxy", s.config.proxy)
      .text("--sms-modem", "smsModem", s.sms_modem)
      .text("--sms-number", "smsNumber", s.config.sms_number)
      .text("--server-sms-number", "serverSmsNumber", s.server_sms_number)
      .text("--sms-security", "smsSecurity", s.sms_security)
      .text("--sms-key-params", "smsKeyParams", s.sms_key_params)
      .text("--sms-secret-keys", "smsSecretKeys", s.sms_secret_keys)
      .boolean("--pack", "pack", s.config.bootstrap_pack)
      .number("--echo-after-silence", "echoAfterSilence", s.echo_after_silence, 31'536'000)
      .boolean("--no-time-echo", "noTimeEcho", s.time_echo, false)
      .boolean("--quiet", "quiet", s.quiet, true, "-q")
      .text("--log-level", "logLevel", s.log_level)
      .text("--log-format", "logFormat", s.log_format)
      .boolean(nullptr, "bootstrapKeysPersistent", s.config.bootstrap_keys_persistent)
      // The factory configuration: the sections of a bootstrap configuration.
      .other_keys([&s](const std::string& key, const json& v) {
        if (!lwm2m::is_object_section(key)) return false;
        s.factory[key] = v;
        return true;
      });
  add_credential_options(table, s.credentials);
  add_client_network_options(table, s.lorawan, s.nidd);
  add_mqtt_options(table, s.mqtt, false);
  table.text("--mqtt-cose-kid", "mqttCoseKid", s.cose_kid)
      .text("--mqtt-cose-key", "mqttCoseKey", s.cose_key);
  table.text("--http-device-host", "httpDeviceHost", s.http_device_host)
      .number("--http-device-port", "httpDevicePort", s.http_device_port, 65535)
      .text("--http-device-origin", "httpDeviceOrigin", s.http_device_origin)
      .text("--http-device-cert", "httpDeviceCert", s.http_device_cert)
      .text("--http-device-key", "httpDeviceKey", s.http_device_key)
      .text("--http-device-client-ca", "httpDeviceClientCa", s.http_device_client_ca)
      .text("--http-device-auth", "httpDeviceAuth", s.http_device_auth.modes)
      .text("--http-device-trusted-proxy", "httpDeviceTrustedProxy",
            s.http_device_auth.trusted_proxies)
      .text("--http-device-identity-header", "httpDeviceIdentityHeader",
            s.http_device_auth.identity_header)
      .text("--send", "send", s.send_paths)
      .number("--send-interval", "sendInterval", s.send_interval, 86'400)
      .text("--http-username", "httpUsername", s.http_username)
      .text("--http-password-file", "httpPasswordFile", s.http_password_file);
  table.text("--oscore-secret", "oscoreSecret", s.oscore.secret)
      .text("--oscore-salt", "oscoreSalt", s.oscore.salt)
      .text("--oscore-sender-id", "oscoreSenderId", s.oscore.sender_id)
      .text("--oscore-recipient-id", "oscoreRecipientId", s.oscore.recipient_id)
      .text("--oscore-context", "oscoreContext", s.oscore.context);
  table.parse(args);
  s.config.awake_window = Duration{s.awake_window_ms};
  configure_logging(s.log_level, s.log_format);
}

// Objects 0, 1, 2 and 21 hold what must survive a restart (credentials, accounts, ACLs).
// The state file: the accounts, and the endpoint name they were given for.
json state_json(const client::DataModel& data, const std::string& endpoint) {
  json out = json::object();
  out["endpoint"] = endpoint;
  for (std::uint16_t id :
       {client::oid::kSecurity, client::oid::kServer, client::oid::kAccessControl,
        client::oid::kOscore, client::oid::kCose, client::oid::kMqttServer}) {
    if (auto tree = data.read(Path{id})) lwm2m::add_object_sections(*tree, out);
  }
  return out;
}

void save_state(const std::string& file, const client::DataModel& data,
                const std::string& endpoint) {
  const std::string tmp = file + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << state_json(data, endpoint).dump(2) << "\n";
    if (!out) throw std::runtime_error("cannot write " + tmp);
  }
  // It holds the accounts' keys: for the owner only.
  std::filesystem::permissions(
      tmp, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  std::filesystem::rename(tmp, file);  // atomic on one file system
}

void add_account(lwm2m::Tree& tree, const std::string& uri, bool bootstrap,
                 const ClientSettings& s) {
  const bool mqtt = is_mqtt_uri(uri);
  const bool http = is_http_uri(uri);
  const auto sms_number = sms::msisdn_of_uri(uri);
  const bool lorawan = lorawan::port_of_uri(uri).has_value();
  const bool non_ip = lorawan || nidd::is_nidd_uri(uri);
  std::optional<coap::Uri> parsed;
  if (non_ip) {
    // Transport TS 6.8.4, Appendix D.3: NoSec (or OSCORE); the network secures it.
  } else if (sms_number) {
    // Transport TS 6.8.3: checked when the link routes it.
  } else if (mqtt) {
    (void)broker_config(uri);  // throws for a URI that names no broker
  } else if (http) {
    // Transport TS 7: checked when the link routes it.
  } else {
    auto coap_uri = coap::parse_uri(uri);
    if (!coap_uri) throw std::invalid_argument(uri + ": " + coap_uri.error().reason);
    parsed = *coap_uri;
  }
  const std::uint16_t instance = bootstrap ? 0 : 1;
  (void)tree.set(Path{0, instance, 0}, Value(uri));
  (void)tree.set(Path{0, instance, 1}, Value(bootstrap));
  (void)tree.set(Path{0, instance, 2}, Value(client::security::kModeNoSec));
  // Core TS E.1: the SMS Security Mode and the server's SMS Number (/0/x/6, /0/x/9).
  const std::string server_number = sms_number  ? *sms_number
                                    : bootstrap ? std::string{}
                                                : s.server_sms_number;
  if (!server_number.empty()) {
    if (!sms::is_msisdn(server_number)) {
      throw std::invalid_argument("--server-sms-number must be an MSISDN");
    }
    // Mode 1: DTLS with the device end-point; 2: Secured Packet Structure (smartcard); 3:
    // NoSec.
    const bool dtls = sms_number && s.sms_security == "dtls";
    const bool smartcard = s.sms_security == "smartcard";
    (void)tree.set(Path{0, instance, 6}, Value(std::int64_t{dtls ? 1 : smartcard ? 2 : 3}));
    (void)tree.set(Path{0, instance, 9}, Value(server_number));
    if (dtls) add_credentials(tree, instance, s.credentials);
    if (smartcard) {
      auto [params, secret] = smartcard_keys(s);
      (void)tree.set(Path{0, instance, 7}, Value(std::move(params)));
      (void)tree.set(Path{0, instance, 8}, Value(std::move(secret)));
    }
  }
  // Over MQTT the broker connection carries TLS (--mqtt-ca, ...), not the Security object.
  if (parsed && parsed->is_secure()) add_credentials(tree, instance, s.credentials);
  // HTTPS: a client certificate when given (seed 004); the server's is checked either way.
  if (http && uri.rfind("https://", 0) == 0 && !s.credentials.cert.empty()) {
    if (!s.http_password_file.empty()) {
      throw std::invalid_argument("--http-password-file or --cert: one credential per account");
    }
    add_credentials(tree, instance, s.credentials);
  }
  if (http && !s.http_password_file.empty()) {
    const std::string password = read_secret_file(s.http_password_file, "password");
    const std::string username = s.http_username.empty() ? s.config.endpoint : s.http_username;
    (void)tree.set(Path{0, instance, client::security::kMode}, Value(client::security::kModePsk));
    (void)tree.set(Path{0, instance, client::security::kPublicKeyOrIdentity},
                   Value(to_bytes(username)));
    (void)tree.set(Path{0, instance, client::security::kSecretKey}, Value(to_bytes(password)));
  }
  if (!s.oscore.secret.empty()) add_oscore_account(tree, instance, s.oscore);
  if (mqtt && !s.cose_key.empty()) {
    // The account's COSE instance (/23/x) and its link (/0/x/27, Transport TS 8.8).
    if (s.cose_kid.empty()) throw std::invalid_argument("--mqtt-cose-key needs --mqtt-cose-kid");
    (void)tree.set(Path{client::oid::kCose, instance, 0}, Value(s.cose_kid));
    (void)tree.set(Path{client::oid::kCose, instance, 1}, Value(std::int64_t{10}));
    (void)tree.set(Path{client::oid::kCose, instance, 2}, Value(s.cose_key));
    (void)tree.set(Path{client::oid::kSecurity, instance, client::security::kCoseSecurity, 0},
                   Value(lwm2m::Objlnk{client::oid::kCose, instance}));
  }
  const std::uint32_t lifetime = s.lifetime;
  if (bootstrap) return;
  (void)tree.set(Path{0, instance, 10}, Value(std::int64_t{1}));
  (void)tree.set(Path{1, 0, 0}, Value(std::int64_t{1}));
  (void)tree.set(Path{1, 0, 1}, Value(std::int64_t{lifetime}));
  // With a modem, a UDP server may also reach us by SMS: binding US (Transport TS 6.6).
  const bool sms_too = !s.sms_modem.empty() && !server_number.empty();
  std::string binding = non_ip                ? "N"
                        : sms_number          ? "S"
                        : mqtt                ? "M"
                        : http                ? "H"
                        : parsed->is_stream() ? "T"
                                              : "U";
  // TCP likewise: binding TS (Transport TS 6.6, Core TS 6.2.1.1).
  if (sms_too && (binding == "U" || binding == "T")) binding += "S";
  (void)tree.set(Path{1, 0, 7}, Value(binding));
}

void log_client_event(const client::ClientEvent& e, const std::string& endpoint) {
  // The detail quotes what servers sent (paths, diagnostics): escaped like the servers' logs.
  std::string line =
      std::string("event=") + client::event_name(e.kind) + logfmt_field("ep", endpoint);
  if (e.ssid != 0) line += " ssid=" + std::to_string(e.ssid);
  if (!e.detail.empty()) line += logfmt_field("detail", e.detail);
  // Why a server cannot be reached (alert, timeout, refusal code) is worth a warning.
  using Kind = client::ClientEvent::Kind;
  const bool trouble = e.kind == Kind::kRegistrationFailed || e.kind == Kind::kBootstrapFailed;
  log_line(line, trouble ? "warn" : "info");
}

void usage() {
  std::fputs(
      "usage: tether client --endpoint NAME (--server URI | --bootstrap URI)\n"
      "                     [--lifetime S] [--queue] [--awake-window-ms N] [--state FILE]\n"
      "                     [--config FILE]\n"
      "                     [--port N] [--lwm2m 1.0|1.1|1.2] [--pack] [--models DIR] [-q]\n"
      "  --server URI     register with this server (coap://, coap+tcp://, coaps://,\n"
      "                   coaps+tcp://, or mqtt:// and mqtts:// for the server behind an\n"
      "                   MQTT broker, Transport TS 8)\n"
      "  --mqtt-prefix P  MQTT topic prefix, the tenant (default none: lwm2m/rd/EP)\n"
      "  --mqtt-client-id ID  MQTT client id (default: the endpoint name, up to 23 characters)\n"
      "  --mqtt-ca FILE, --mqtt-cert FILE, --mqtt-key FILE  mqtts: the broker's CA, our\n"
      "                   certificate and key\n"
      "  --mqtt-username U, --mqtt-password-file FILE  broker login\n"
      "  --mqtt-session-expiry S  a persistent broker session kept S seconds after we leave:\n"
      "                   in queue mode the client leaves the broker while asleep, and what\n"
      "                   the server publishes meanwhile waits there\n"
      "  --mqtt-cose-kid TEXT --mqtt-cose-key HEX  seal every map to and from the mqtt://\n"
      "                   account in COSE_Encrypt0 (AES-CCM-16-64-128, 16-byte key; object 23)\n"
      "  --bootstrap URI  bootstrap from this bootstrap server first\n"
      "  http:// and https:// URIs use the HTTP binding (Transport TS 7); our own HTTP server\n"
      "  for the servers' requests: --http-device-host H (127.0.0.1), --http-device-port N\n"
      "  (a free one), --http-device-origin URL (announced; default http://H:N),\n"
      "  --http-device-cert FILE --http-device-key FILE (HTTPS); --ca FILE: the https\n"
      "  server's CA (default: the system's), --cert/--key: our client certificate\n"
      "  --send PATHS     report these paths (\"/3303/0/5700,/3/0/9\") with Send (Core TS\n"
      "                   6.4.6) every --send-interval S seconds (60)\n"
      "  --http-device-client-ca FILE  servers calling our HTTPS server show a certificate\n"
      "                   from this CA (--http-device-auth certificate, the default with it;\n"
      "                   modes none, certificate, proxy)\n"
      "  --http-password-file FILE [--http-username U]  HTTP Digest credentials for the\n"
      "                   http(s) account (seed 004; username default: the endpoint)\n"
      "  --state FILE     accounts survive restarts here (default: none kept)\n"
      "  --config FILE    JSON settings, and a factory configuration in the shape of a\n"
      "                   bootstrap configuration (\"security\", \"servers\", \"acl\")\n"
      "  --port N         local UDP port (default: any)\n"
      "  --log-level L    debug, info, warn (unreachable servers), error; --log-format json\n"
      "  --models DIR     OMA XML object definitions; their objects hold plain data\n"
      "  --pack           ask for a Bootstrap-Pack instead of a Bootstrap-Request\n"
      "  --echo-after-silence S  a server silent for S seconds proves its next Write,\n"
      "                   Execute, Create or Delete fresh with CoAP Echo (0: off, default)\n"
      "  --no-time-echo   accept writes of Current Time (/3/0/13) without an Echo proof\n"
      "  --proxy URI      reach coap:// and coap+tcp:// servers through this forward proxy\n"
      "                   (coap:// or coap+tcp://); use OSCORE to keep it from reading them\n"
      "  --sms-modem DEV  a cellular modem's AT port (27.005 PDU mode) for sms://MSISDN\n"
      "                   servers (Transport TS 6.8.3); only their numbers are heard\n"
      "  --sms-number N   our MSISDN: Register's sms= parameter\n"
      "  --sms-security M nosec (default); dtls: DTLS over SMS to sms:// servers with the\n"
      "                   --psk-identity/--psk-key credentials (Transport TS 5.4.2.1);\n"
      "                   smartcard: Secured Packets (31.115) through our software UICC\n"
      "  --sms-key-params HEX   smartcard: KIc KID SPI TAR, 7 octets (/0/x/7), e.g.\n"
      "                   121A1600B20203 (AES-CBC, AES-CMAC, counter, TAR B20203)\n"
      "  --sms-secret-keys HEX  smartcard: the AES ciphering key then the checksum key\n"
      "                   (/0/x/8, 2x16 octets)\n"
      "  --server-sms-number N  the --server account's SMS number (/0/x/9): with --sms-modem\n"
      "                   a coap:// server may wake us by SMS (binding US, Transport TS 6.6)\n"
      "  --oscore-secret HEX --oscore-sender-id HEX --oscore-recipient-id HEX\n"
      "       [--oscore-salt HEX] [--oscore-context HEX]\n"
      "                   talk OSCORE (RFC 8613) to the --server or --bootstrap account: its\n"
      "                   OSCORE instance (/21) and link (/0/x/17); the sender ID is ours\n",
      stdout);
  std::fputs(kClientNetworkHelp, stdout);
  std::fputs(kCredentialHelp, stdout);
}
}  // namespace

int client_command(const std::vector<std::string>& args) {
  ClientSettings s;
  s.config.endpoint = kDefaultName;
  for (const auto& a : args) {
    if (a == "-h" || a == "--help") {
      usage();
      return 0;
    }
  }
  parse_options(s, args);
  const bool endpoint_given = std::find(args.begin(), args.end(), "--endpoint") != args.end() ||
                              std::find(args.begin(), args.end(), "-e") != args.end() ||
                              s.config.endpoint != kDefaultName;
  if (s.config.version != "1.0" && s.config.version != "1.1" && s.config.version != "1.2") {
    throw std::invalid_argument("--lwm2m takes 1.0, 1.1 or 1.2");
  }

  // The state file remembers the endpoint name: started again with --state alone, the
  // client is the same device (an --endpoint given says otherwise).
  const bool have_state = !s.state_file.empty() && std::filesystem::exists(s.state_file);
  json state;
  if (have_state) {
    std::ifstream in(s.state_file);
    state = json::parse(in, nullptr, false);
    if (!state.is_object()) throw std::invalid_argument(s.state_file + ": not a JSON object");
    if (state.contains("endpoint")) {
      if (!state["endpoint"].is_string()) {
        throw std::invalid_argument(s.state_file + ": \"endpoint\" is a string");
      }
      if (!endpoint_given) s.config.endpoint = state["endpoint"].get<std::string>();
      state.erase("endpoint");
    }
  }

  // Transport TS 6.8.4: a LoRaWAN device is in queue mode by nature, and its lifetime is 30
  // days unless said otherwise (Table 6.8.4-1: then it is left out of Register).
  if (lorawan::port_of_uri(s.server_uri)) {
    s.config.queue_mode = true;
    const bool lifetime_given = std::find(args.begin(), args.end(), "--lifetime") != args.end() ||
                                std::find(args.begin(), args.end(), "-l") != args.end();
    if (!lifetime_given && s.lifetime == ClientSettings{}.lifetime) {
      s.lifetime = binding::coap_binding::kLorawanDefaultLifetime;
    }
  }
  // Transport TS 6.8.4: over LoRaWAN the name defaults to the DevEUI.
  // Written in lower case, as ChirpStack writes DevEUIs and as the server names the device.
  if (auto eui = lorawan::parse_dev_eui(s.lorawan.dev_eui); !endpoint_given && eui) {
    s.config.endpoint = lorawan::dev_eui_text(*eui);
  }
  if (auto ok = lwm2m::check_endpoint_name(s.config.endpoint); !ok) {
    throw std::invalid_argument("endpoint name: " + ok.error().reason);
  }

  transport::EventLoop loop;
  SystemRandom random;
  SystemClock clock;
  auto models = lwm2m::model::ObjectRegistry::with_builtin();
  std::vector<std::uint16_t> custom;
  if (!s.models.empty()) {
    // Objects the device maker defines, registry objects given exactly among them.
    lwm2m::model::ObjectRegistry own;
    auto loaded = own.load_directory(s.models);
    if (!loaded) throw std::invalid_argument(loaded.error().reason);
    for (const auto* def : own.all()) {
      custom.push_back(def->id);
      models.add(*def);
    }
  }
  client::DataModel data(models);
  client::DeviceInfo info;
  info.serial = s.config.endpoint;
  client::DeviceObject& device = client::add_standard_objects(data, info, clock);
  auto temperature_object = std::make_unique<client::TemperatureObject>();
  client::TemperatureObject& temperature = *temperature_object;
  (void)data.add(std::move(temperature_object));
  // Light Control (3311): instances come and go by the servers' Create and Delete.
  (void)data.add(std::make_unique<client::DataObject>(3311));
  (void)data.add(std::make_unique<client::ConnectivityObject>());
  // LwM2M COSE (23): keys of accounts over MQTT, linked from /0/x/27.
  (void)data.add(std::make_unique<client::DataObject>(client::oid::kCose));
  // MQTT Server (24): how to connect to the broker of an mqtt:// account, linked from /0/x/26.
  (void)data.add(std::make_unique<client::DataObject>(client::oid::kMqttServer));
  // Objects defined only by --models hold plain data: the factory configuration's
  // "objects" section fills them, servers read, write, create and delete instances.
  for (auto id : custom) {
    if (data.find(id) == nullptr) (void)data.add(std::make_unique<client::DataObject>(id));
  }
  // Firmware Update: a package pulled from its URI through the client's own transports; an
  // installed package is kept next to the state file (a real device would flash it).
  client::Lwm2mClient* fetcher = nullptr;
  const std::string firmware_file =
      (s.state_file.empty() ? std::string("tether-client") : s.state_file) + ".firmware.bin";
  (void)data.add(std::make_unique<client::FirmwareObject>(
      [&fetcher](const std::string& uri,
                 std::function<void(client::FirmwareObject::Download)> done) {
        if (fetcher == nullptr)
          return done({{}, client::FirmwareObject::UpdateResult::kConnectionLost});
        fetcher->fetch(uri, [done = std::move(done)](Result<Bytes> fetched) {
          done(client::FirmwareObject::download_from(std::move(fetched)));
        });
      },
      [&firmware_file](const Bytes& package) -> Result<Ok> {
        std::ofstream out(firmware_file, std::ios::binary | std::ios::trunc);
        out.write(reinterpret_cast<const char*>(package.data()),
                  static_cast<std::streamsize>(package.size()));
        if (!out) return fail("cannot write " + firmware_file);
        log_line("event=firmware-installed bytes=" + std::to_string(package.size()) +
                 " file=" + firmware_file);
        return Ok{};
      }));

  // Accounts: the state file when there is one, else the factory configuration and flags.
  if (have_state) {
    auto tree = lwm2m::tree_from_object_json(state, models);
    if (!tree) throw std::invalid_argument(s.state_file + ": " + tree.error().reason);
    if (auto ok = data.put(*tree); !ok) throw std::invalid_argument(ok.error().reason);
  } else {
    auto tree = lwm2m::tree_from_object_json(s.factory, models);
    if (!tree) throw std::invalid_argument("factory configuration: " + tree.error().reason);
    if (!s.bootstrap_uri.empty()) add_account(*tree, s.bootstrap_uri, true, s);
    if (!s.server_uri.empty()) add_account(*tree, s.server_uri, false, s);
    // Core TS E.1/E.2: our own accounts hold every mandatory resource, as a Read shows them.
    if (auto ok = lwm2m::complete_account_instances(*tree); !ok) {
      throw std::invalid_argument("accounts: " + ok.error().reason);
    }
    if (auto ok = data.put(*tree); !ok) throw std::invalid_argument(ok.error().reason);
  }
  if (data.server_accounts().empty() && !data.bootstrap_account()) {
    throw std::invalid_argument("give --server or --bootstrap (or a state/config file)");
  }
  // A new state file starts with the accounts from the flags, so --state alone resumes them.
  if (!s.state_file.empty() && !have_state) save_state(s.state_file, data, s.config.endpoint);

  // OSCORE: one keyring for the accounts' contexts. With a state file, the Sender Sequence
  // Numbers' bounds are kept beside it (RFC 8613 B.1.1); without one, every context is
  // re-derived with its server under a new ID Context before use (RFC 8613 B.2).
  oscore::Keyring keyring;
  std::optional<SequenceBounds> sequence_bounds;
  if (!s.state_file.empty()) {
    sequence_bounds.emplace(s.state_file + ".oscore");
    sequence_bounds->serve(keyring, 16);
  } else {
    keyring.rederive_on_start(true);
    if (!s.oscore.secret.empty()) {
      log_line("event=oscore-without-state" +
               logfmt_field("detail",
                            "without --state each OSCORE context is re-derived with the server "
                            "at start (RFC 8613 B.2); the server must allow it"));
    }
  }
  auto protected_config = [&keyring](coap::EndpointConfig c, const char* scheme) {
    c.decorator = std::make_shared<oscore::OscoreDecorator>(keyring.peers(scheme));
    return c;
  };
  coap::EndpointConfig endpoint_config;
  // Over datagrams a delayed request can be replayed (Transport TS 5.7): one gate per carrier,
  // as peers are numbered per transport.
  binding::coap_binding::FreshnessRules freshness;
  freshness.after_silence = Duration{std::int64_t{s.echo_after_silence} * 1000};
  freshness.current_time = s.time_echo;
  binding::coap_binding::FreshnessGate udp_gate(freshness);
  binding::coap_binding::FreshnessGate dtls_gate(freshness);
  coap::EndpointConfig udp_config = protected_config(endpoint_config, "coap");
  udp_gate.install(udp_config);
  coap::EndpointConfig dtls_config = protected_config(endpoint_config, "coaps");
  dtls_gate.install(dtls_config);
  transport::UdpOptions udp_options;
  udp_options.port = s.port;
  transport::UdpTransport udp(loop, udp_config, random, udp_options);
  transport::TcpOptions tcp_options;
  tcp_options.listen = false;
  transport::TcpTransport tcp(loop, protected_config(endpoint_config, "coap+tcp"), random,
                              tcp_options);

  // coaps and coaps+tcp: the same carriers with a (D)TLS layer, credentials per account.
  tls::GnutlsBackend tls_backend;
  transport::SecureOptions secure{&tls_backend, tls::SecureLayerConfig{}};
  transport::UdpOptions dtls_options;
  dtls_options.secure = secure;
  transport::UdpTransport dtls(loop, dtls_config, random, dtls_options);
  transport::TcpOptions tls_options;
  tls_options.listen = false;
  tls_options.secure = secure;
  transport::TcpTransport tls_tcp(loop, protected_config(endpoint_config, "coaps+tcp"), random,
                                  tls_options);

  // Transport TS 6.8.3: sms:// accounts through a cellular modem (AT commands, PDU mode).
  std::unique_ptr<transport::ModemCarrier> modem;
  std::unique_ptr<tls::Backend> sms_dtls_backend;  // before the transport that uses it
  std::unique_ptr<transport::SmsTransport> sms_transport;
  std::unique_ptr<sms::SoftwareUicc> uicc;  // before the transport that uses it
  if (!s.sms_modem.empty()) {
    if (!sms::is_msisdn(s.config.sms_number)) {
      throw std::invalid_argument("--sms-modem needs --sms-number, our MSISDN");
    }
    transport::ModemOptions m;
    m.device = s.sms_modem;
    m.modem.own_number = s.config.sms_number;
    modem = std::make_unique<transport::ModemCarrier>(loop, m);
    modem->set_reporter([](const std::string& event, const std::string& detail) {
      log_line("event=" + event + logfmt_field("detail", detail),
               event == "modem-ready" ? "info" : "warn");
    });
    transport::SmsOptions o;
    o.own_number = s.config.sms_number;
    if (s.sms_security == "dtls") {
      o.secure = sms_dtls(sms_dtls_backend, tls::Role::kClient);
    } else if (s.sms_security == "nosec" || s.sms_security == "smartcard") {
      // The card finds its keys in the Security object, as the flags or a bootstrap server
      // wrote them; accounts in SMS Security Mode 2 go through it, the others in the clear.
      uicc = std::make_unique<sms::SoftwareUicc>(
          [&data](const std::string& number) { return sms_binding_keys(data, number); },
          [&clock] { return static_cast<std::uint64_t>(clock.unix_now()); });
      o.packets = std::make_shared<sms::UiccProtection>(
          *uicc, [&data](const std::string& number) { return uses_secured_packets(data, number); });
    } else {
      throw std::invalid_argument("--sms-security takes nosec, dtls or smartcard");
    }
    // Transport TS 5.4: an SMS from a number that is none of our servers' is not heard.
    o.accept = [&data](const std::string& from) { return is_server_number(data, from); };
    sms_transport = std::make_unique<transport::SmsTransport>(
        loop, protected_config(endpoint_config, "sms"), random, *modem, o);
  }

  if (!s.credentials.trust.empty()) {
    s.config.trust_anchors.push_back(read_binary_file(s.credentials.trust));
  }
  // Before the client that uses them.
  auto lorawan = make_lorawan_link(loop, random, s.lorawan);
  auto nidd_link = make_nidd_link(loop, random, s.nidd);
  if (nidd_link.transport) {
    warn_timer_contradictions(s.nidd, s.lifetime, s.config.queue_mode, s.config.awake_window);
  }
  client::Lwm2mClient lwm2m_client(s.config, clock, data);
  fetcher = &lwm2m_client;
  lwm2m_client.use_oscore(keyring);
  lwm2m_client.attach(udp, "coap");
  lwm2m_client.attach(tcp, "coap+tcp");
  lwm2m_client.attach(dtls, "coaps");
  lwm2m_client.attach(tls_tcp, "coaps+tcp");
  if (sms_transport) lwm2m_client.attach(*sms_transport, "sms");
  if (lorawan.transport) lwm2m_client.attach(*lorawan.transport, "lorawan");
  if (nidd_link.transport) lwm2m_client.attach(*nidd_link.transport, "nidd");
  // Transport TS 8: accounts behind an MQTT broker go through one broker connection (the
  // first mqtt:// or mqtts:// account's broker), driven by the loop.
  std::string broker_uri;
  std::uint16_t broker_security = 0;
  if (auto account = data.bootstrap_account(); account && is_mqtt_uri(account->uri)) {
    broker_uri = account->uri;
    broker_security = account->security_instance;
  }
  for (const auto& account : data.server_accounts()) {
    if (broker_uri.empty() && is_mqtt_uri(account.uri)) {
      broker_uri = account.uri;
      broker_security = account.security_instance;
    }
  }
  std::unique_ptr<transport::MqttConnection> broker;
  client::MqttClientLink* mqtt_link = nullptr;
  if (!broker_uri.empty()) {
    auto c = broker_config(broker_uri);
    apply_broker_options(s.mqtt, c);
    c.client_id = s.mqtt.client_id;
    if (c.client_id.empty()) {
      c.client_id = s.config.endpoint.size() <= 23 ? s.config.endpoint : std::string{};
    }
    // Transport TS 8.8: the account's MQTT Server instance (/24, linked at /0/x/26) says
    // how to connect; what it leaves out comes from the flags.
    auto settings = client::mqtt_server_from_security(data, broker_security);
    if (!settings) throw std::invalid_argument("MQTT Server object: " + settings.error().reason);
    if (*settings) {
      const auto& m = **settings;
      if (m.client_id) c.client_id = *m.client_id;
      if (m.clean_session) c.clean_session = *m.clean_session;
      if (m.keep_alive_s) c.keepalive_s = *m.keep_alive_s;
      if (m.username) c.username = *m.username;
      if (m.password) c.password = *m.password;
      if (m.will) {
        c.will = transport::MqttConnectionConfig::Will{m.will->topic, m.will->message, m.will->qos,
                                                       m.will->retain};
      }
    }
    if (!c.clean_session) {
      // A broker session that outlives a connection needs a name the broker keeps; without
      // --mqtt-session-expiry, the broker keeps it a day (MQTT 5).
      if (c.client_id.empty()) {
        throw std::invalid_argument("a persistent MQTT session needs a client id");
      }
      if (c.session_expiry_s == 0) c.session_expiry_s = 86'400;
    }
    client::MqttClientLinkConfig lc;
    lc.tls = c.tls;
    lc.prefix = s.mqtt.prefix;
    lc.endpoint = s.config.endpoint;
    Bytes start(6);
    random.fill(start);
    for (auto b : start) lc.first_token = (lc.first_token << 8) | b;
    broker = std::make_unique<transport::MqttConnection>(loop, c);
    auto link = std::make_unique<client::MqttClientLink>(
        lc,
        [&broker](const std::string& topic, const Bytes& bytes) {
          (void)broker->publish(topic, bytes, 1);
        },
        &data);
    mqtt_link = link.get();
    lwm2m_client.attach(std::move(link));
    for (const auto& topic : mqtt_link->subscriptions()) broker->subscribe(topic, 1, true);
    if (!c.clean_session) {
      // Queue mode over a persistent session: asleep, the client leaves the broker, which
      // keeps the server's requests until the next Update brings the client back.
      mqtt_link->set_rest_handler([&broker] { broker->sleep(); });
    }
    broker->set_message_handler([&](std::string_view topic, ByteView payload) {
      mqtt_link->on_message(topic, payload, loop.now());
    });
  }
  // Transport TS 7: accounts on http:// or https:// servers (or --http-device-port given,
  // for accounts a bootstrap server may write) get our HTTP link and server.
  bool http_accounts = s.http_device_port != 0;
  if (auto account = data.bootstrap_account(); account && is_http_uri(account->uri)) {
    http_accounts = true;
  }
  for (const auto& account : data.server_accounts()) http_accounts |= is_http_uri(account.uri);
  std::unique_ptr<HttpDeviceService> http_device;
  if (http_accounts) {
    HttpDeviceOptions h;
    h.host = s.http_device_host;
    h.port = s.http_device_port;
    h.origin = s.http_device_origin;
    h.cert = s.http_device_cert;
    h.key = s.http_device_key;
    h.ca = s.credentials.ca;
    h.client_ca = s.http_device_client_ca;
    h.auth = s.http_device_auth;
    http_device = std::make_unique<HttpDeviceService>(loop, h, data);
    lwm2m_client.attach(http_device->take_link());
  }
  lwm2m_client.set_event_handler([&](const client::ClientEvent& e) {
    if (!s.quiet || e.kind != client::ClientEvent::Kind::kRequest) {
      log_client_event(e, s.config.endpoint);
    }
    if (e.kind == client::ClientEvent::Kind::kAccountsChanged && !s.state_file.empty()) {
      save_state(s.state_file, data, s.config.endpoint);
    }
  });
  bool reboot = false;
  device.on_reboot([&] { reboot = true; });

  // The client's deadlines drive one loop timer, re-armed after each turn.
  transport::EventLoop::TimerId timer = 0;
  std::optional<Instant> armed;
  auto rearm = [&] {
    auto next = lwm2m_client.next_deadline();
    if (mqtt_link != nullptr) {
      if (auto d = mqtt_link->next_deadline(); d && (!next || *d < *next)) next = d;
    }
    if (next == armed) return;
    if (timer != 0) loop.cancel(timer);
    timer = 0;
    armed = next;
    if (!next) return;
    timer = loop.schedule(*next, [&] {
      timer = 0;
      armed.reset();
      if (mqtt_link != nullptr) mqtt_link->on_timer(loop.now());
      lwm2m_client.on_timer();
    });
  };
  std::mt19937 drift(std::random_device{}());
  std::function<void()> tick = [&] {
    temperature.tick(std::uniform_real_distribution<double>(-0.5, 0.5)(drift));
    loop.schedule(loop.now() + Duration{5'000}, tick);
  };
  loop.schedule(loop.now() + Duration{5'000}, tick);
  // --send: a telemetry device reporting with Send (Core TS 6.4.6) on its own schedule.
  std::vector<Path> send_paths;
  for (std::string_view rest = s.send_paths; !rest.empty();) {
    const auto comma = rest.find(',');
    auto path = Path::parse(rest.substr(0, comma));
    if (!path) throw std::invalid_argument("--send: " + path.error().reason);
    send_paths.push_back(*path);
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
  }
  std::function<void()> report = [&] {
    lwm2m_client.send(0, send_paths, [&](Result<lwm2m::Status> code) {
      log_line("event=send" + logfmt_field("ep", s.config.endpoint) +
                   logfmt_field("result", code ? code->to_string() : code.error().reason),
               code && code->is_success() ? "info" : "warn");
    });
    loop.schedule(loop.now() + Duration{std::int64_t{1'000} * s.send_interval}, report);
  };
  if (!send_paths.empty() && s.send_interval > 0) {
    loop.schedule(loop.now() + Duration{std::int64_t{1'000} * s.send_interval}, report);
  }

  log_line("event=start ep=" + s.config.endpoint + " udp=" + std::to_string(udp.local_port()) +
           (http_device ? http_device->describe() : std::string{}) +
           (have_state ? " state=" + s.state_file : ""));
  // The first Register waits for the broker: published before, it would be lost.
  bool started = false;
  if (broker) {
    broker->set_state_handler([&](bool connected, const std::string& why) {
      if (!connected && broker->asleep()) {
        log_line("event=mqtt-asleep");  // left the broker on purpose: queue mode
        return;
      }
      log_line(std::string(connected ? "event=mqtt-connected" : "event=mqtt-disconnected") +
                   logfmt_field("detail", why),
               connected ? "info" : "warn");
      if (connected && !started) {
        started = true;
        lwm2m_client.start();
      }
    });
    if (auto ok = broker->start(); !ok) throw std::invalid_argument("MQTT: " + ok.error().reason);
  } else {
    // A LoRaWAN modem says its data rate (so the frame size the first Register is cut to)
    // once it has started and joined; a cellular modem, once attached: wait for them, a
    // minute at most.
    const Instant modem_wait = loop.now() + Duration{60'000};
    auto waiting = [&] {
      return (lorawan.carrier && !lorawan.carrier->own_dev_eui()) ||
             (nidd_link.carrier && !nidd_link.carrier->ready());
    };
    while (waiting() && loop.now() < modem_wait && !stop_requested()) {
      loop.run_once(Duration{100});
    }
    lwm2m_client.start();
  }
  install_stop_handlers();
  while (!stop_requested() && !reboot) {
    rearm();
    loop.run_once(Duration{200});
  }
  bool done = false;
  lwm2m_client.stop([&] { done = true; });
  // A LoRaWAN De-register waits for the duty cycle and a receive window; over NIDD, for
  // the network.
  const bool slow = lorawan.transport || nidd_link.transport;
  const Instant give_up = loop.now() + Duration{slow ? 30'000 : 3'000};
  while (!done && loop.now() < give_up) {
    rearm();
    loop.run_once(Duration{100});
  }
  if (timer != 0) loop.cancel(timer);
  log_line("event=stop ep=" + s.config.endpoint + (reboot ? " reason=reboot" : ""));
  return 0;
}

}  // namespace tether::app

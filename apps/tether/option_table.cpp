#include "option_table.hpp"

#include <cctype>
#include <cstring>
#include <stdexcept>

#include "service_runtime.hpp"

namespace tether::app {

OptionTable& OptionTable::text(const char* flag, const char* key, std::string& out,
                               const char* short_flag) {
  return add({flag, short_flag, key, true, [&out](const std::string& v) { out = v; },
              [&out](const nlohmann::json& v) { out = v.get<std::string>(); }});
}

OptionTable& OptionTable::add(Entry e) {
  // A config file reads like the command line: --keep-sessions is "keepSessions". Keys
  // without a flag (settings only a file gives) are named freely.
  if (e.flag == nullptr) {
    entries_.push_back(std::move(e));
    return *this;
  }
  std::string camel;
  bool upper = false;
  for (const char* c = e.flag + 2; *c != '\0'; ++c) {
    if (*c == '-') {
      upper = true;
      continue;
    }
    camel.push_back(upper ? static_cast<char>(std::toupper(static_cast<unsigned char>(*c))) : *c);
    upper = false;
  }
  if (camel != e.key) {
    throw std::logic_error(std::string("config key ") + e.key + " does not match " + e.flag);
  }
  entries_.push_back(std::move(e));
  return *this;
}

OptionTable& OptionTable::boolean(const char* flag, const char* key, bool& out, bool flag_value,
                                  const char* short_flag) {
  return add({flag, short_flag, key, false,
              [&out, flag_value](const std::string&) { out = flag_value; },
              // "keepSessions": true does what --keep-sessions does.
              [&out, flag_value](const nlohmann::json& v) {
                out = v.get<bool>() ? flag_value : !flag_value;
              }});
}

void OptionTable::parse(const std::vector<std::string>& args) const {
  auto same = [](const char* a, const std::string& b) { return a != nullptr && b == a; };
  for (std::size_t i = 0; i + 1 < args.size(); ++i) {
    if (args[i] != "--config" && args[i] != "-c") continue;
    read_settings_file(args[i + 1], [&](const std::string& key, const nlohmann::json& v) {
      for (const auto& e : entries_) {
        if (same(e.key, key)) return e.from_json(v);
      }
      if (other_keys_ && other_keys_(key, v)) return;
      // Keys renamed to match their flags (Step 7): say what to write instead.
      static const std::pair<const char*, const char*> kRenamed[] = {
          {"renewSessions", "keepSessions (with the opposite value)"},
          {"udp", "tcpOnly (with the opposite value)"},
          {"tcp", "udpOnly (with the opposite value)"},
          {"expiryGraceSeconds", "expiryGrace"},
      };
      for (const auto& [old_key, now] : kRenamed) {
        if (key == old_key) throw std::invalid_argument("setting " + key + " is now " + now);
      }
      throw std::invalid_argument("unknown setting " + key);
    });
  }
  ArgReader r(args);
  while (r.next()) {
    if (r.is("--config", "-c")) {
      r.value();
      continue;
    }
    const Entry* found = nullptr;
    for (const auto& e : entries_) {
      if (same(e.flag, r.current()) || same(e.short_flag, r.current())) found = &e;
    }
    if (found == nullptr) {
      throw std::invalid_argument("unknown option " + r.current() + " (see tether " + command_ +
                                  " --help)");
    }
    found->from_text(found->takes_value ? r.value() : std::string{});
  }
}

void add_service_options(OptionTable& table, ServiceOptions& o) {
  table.text("--bind", "bind", o.bind)
      .number("--coap-port", "coapPort", o.coap_port, 65535, "-p")
      .boolean("--tcp-only", "tcpOnly", o.udp, false)
      .boolean("--udp-only", "udpOnly", o.tcp, false)
      .text("--http-host", "httpHost", o.http_host)
      .number("--http-port", "httpPort", o.http_port, 65535)
      .text("--api-bind", "apiBind", o.http_host)
      .text("--api-token-file", "apiTokenFile", o.api_token_file)
      .text("--api-users", "apiUsers", o.api_users_file)
      .text("--api-auth", "apiAuth", o.api_auth.modes)
      .text("--api-trusted-proxy", "apiTrustedProxy", o.api_auth.trusted_proxies)
      .text("--api-identity-header", "apiIdentityHeader", o.api_auth.identity_header)
      .text("--api-cert", "apiCert", o.api_cert)
      .text("--api-key", "apiKey", o.api_key)
      .text("--api-client-ca", "apiClientCa", o.api_client_ca)
      .number("--api-max-body", "apiMaxBody", o.api_max_body, std::uint64_t{1} << 30)
      .text("--store", "store", o.store)
      .text("--node-id", "nodeId", o.node_id)
      .text("--redis-password-file", "redisPasswordFile", o.redis_password_file)
      .text("--data-dir", "dataDir", o.data_dir)
      .text("--models", "models", o.models)
      .boolean("--no-console", "noConsole", o.console, false)
      .text("--console-dir", "consoleDir", o.console_dir)
      .boolean("--quiet", "quiet", o.quiet, true, "-q")
      .text("--log-level", "logLevel", o.log_level)
      .text("--log-format", "logFormat", o.log_format)
      .number("--coaps-port", "coapsPort", o.coaps_port, 65535)
      .text("--key", "key", o.key)
      .text("--cert", "cert", o.cert)
      .text("--client-ca", "clientCa", o.client_ca)
      .boolean("--keep-sessions", "keepSessions", o.renew_sessions, false)
      .number("--session-idle-timeout", "sessionIdleTimeout", o.session_idle_timeout, 31'536'000)
      .number("--echo-after-silence", "echoAfterSilence", o.echo_after_silence, 31'536'000)
      .number("--max-stray-peers", "maxStrayPeers", o.max_stray_peers, 1U << 30);
  add_mqtt_options(table, o.mqtt, true);
  add_http_binding_options(table, o.http_binding);
  add_sms_gateway_options(table, o.sms);
  add_lorawan_options(table, o.lorawan);
  add_nidd_options(table, o.nidd);
}

void add_nidd_options(OptionTable& table, NiddServiceOptions& o) {
  table.text("--nidd", "nidd", o.scef)
      .text("--nidd-scs-as", "niddScsAs", o.scs_as)
      .text("--nidd-ue", "niddUe", o.ues)
      .text("--nidd-callback-host", "niddCallbackHost", o.callback_host)
      .number("--nidd-callback-port", "niddCallbackPort", o.callback_port, 65535)
      .text("--nidd-callback-token-file", "niddCallbackTokenFile", o.callback_token_file)
      .number("--nidd-maximum-latency", "niddMaximumLatency", o.maximum_latency_s, 86'400)
      .boolean("--nidd-any-name", "niddAnyName", o.any_name);
}

void add_lorawan_options(OptionTable& table, LorawanServiceOptions& o) {
  table.text("--lorawan", "lorawan", o.broker)
      .text("--lorawan-application", "lorawanApplication", o.application)
      .text("--lorawan-region", "lorawanRegion", o.region)
      .boolean("--lorawan-unconfirmed", "lorawanUnconfirmed", o.unconfirmed)
      .boolean("--lorawan-any-name", "lorawanAnyName", o.any_name)
      .number("--lorawan-ack-timeout", "lorawanAckTimeout", o.ack_timeout_s, 86'400)
      .number("--lorawan-max-retransmit", "lorawanMaxRetransmit", o.max_retransmit, 20)
      .text("--lorawan-username", "lorawanUsername", o.username)
      .text("--lorawan-password-file", "lorawanPasswordFile", o.password_file);
}

void add_sms_gateway_options(OptionTable& table, SmsGatewayOptions& o) {
  table.text("--sms-gateway", "smsGateway", o.gateway)
      .text("--sms-gateway-password-file", "smsGatewayPasswordFile", o.password_file)
      .text("--sms-number", "smsNumber", o.number)
      .text("--sms-callback-host", "smsCallbackHost", o.callback_host)
      .number("--sms-callback-port", "smsCallbackPort", o.callback_port, 65535)
      .text("--sms-callback-token-file", "smsCallbackTokenFile", o.callback_token_file)
      .text("--sms-smsc", "smsSmsc", o.smsc_id)
      .boolean("--sms-auto-wake", "smsAutoWake", o.auto_wake)
      .text("--sms-security", "smsSecurity", o.security)
      .text("--sms-keys-file", "smsKeysFile", o.keys_file);
}

void add_http_binding_options(OptionTable& table, HttpBindingOptions& o) {
  table.number("--http-binding-port", "httpBindingPort", o.port, 65535)
      .text("--http-binding-host", "httpBindingHost", o.host)
      .text("--http-binding-cert", "httpBindingCert", o.cert)
      .text("--http-binding-key", "httpBindingKey", o.key)
      .text("--http-binding-client-ca", "httpBindingClientCa", o.client_ca)
      .text("--http-device-ca", "httpDeviceCa", o.device_ca)
      .number("--http-device-port", "httpDevicePort", o.device_port, 65535)
      .text("--http-binding-auth", "httpBindingAuth", o.auth.modes)
      .text("--http-binding-trusted-proxy", "httpBindingTrustedProxy", o.auth.trusted_proxies)
      .text("--http-binding-identity-header", "httpBindingIdentityHeader", o.auth.identity_header);
}

void add_mqtt_options(OptionTable& table, MqttOptions& o, bool with_url) {
  if (with_url) table.text("--mqtt", "mqtt", o.url);
  table.text("--mqtt-prefix", "mqttPrefix", o.prefix)
      .text("--mqtt-client-id", "mqttClientId", o.client_id)
      .text("--mqtt-ca", "mqttCa", o.ca)
      .text("--mqtt-cert", "mqttCert", o.cert)
      .text("--mqtt-key", "mqttKey", o.key)
      .text("--mqtt-username", "mqttUsername", o.username)
      .text("--mqtt-password-file", "mqttPasswordFile", o.password_file)
      .number("--mqtt-session-expiry", "mqttSessionExpiry", o.session_expiry_s, 0xFFFFFFFFu);
}

}  // namespace tether::app

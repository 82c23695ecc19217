#include "nidd/t8.hpp"

#include <nlohmann/json.hpp>

#include "common/base64.hpp"
#include "common/text.hpp"

namespace tether::nidd {

namespace {
using nlohmann::json;

constexpr std::size_t kMaxLink = 512;
constexpr std::size_t kMaxExternalId = 128;

bool is_external_id(std::string_view s) {
  const auto at = s.find('@');
  if (s.empty() || s.size() > kMaxExternalId || at == 0 || at == std::string_view::npos ||
      at + 1 == s.size()) {
    return false;
  }
  for (char c : s) {
    if (c <= ' ' || c > '~') return false;
  }
  return true;
}

// TS 29.122 Msisdn: 5 to 15 digits.
bool is_msisdn(std::string_view s) {
  if (s.size() < 5 || s.size() > 15) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

Result<json> parse_object(ByteView bytes) {
  json j = json::parse(bytes.begin(), bytes.end(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) return fail("not a JSON object");
  return j;
}

Result<std::string> text(const json& j, const char* name, std::size_t max, bool required) {
  auto it = j.find(name);
  if (it == j.end() || it->is_null()) {
    if (required) return fail(std::string("no \"") + name + "\"");
    return std::string{};
  }
  if (!it->is_string()) return fail(std::string("\"") + name + "\" is not a string");
  auto s = it->get<std::string>();
  if (auto ok = check_text(s, name, max); !ok) return ok.error();
  return s;
}

Result<UeId> ue_of(const json& j) {
  UeId ue;
  auto ext = text(j, "externalId", kMaxExternalId, false);
  auto msisdn = text(j, "msisdn", 15, false);
  if (!ext) return ext.error();
  if (!msisdn) return msisdn.error();
  if (!ext->empty() && !is_external_id(*ext)) return fail("\"externalId\" is not local@domain");
  if (!msisdn->empty() && !is_msisdn(*msisdn)) return fail("\"msisdn\" is not 5-15 digits");
  if (ext->empty() == msisdn->empty()) return fail("one of \"externalId\" and \"msisdn\"");
  ue.external_id = std::move(*ext);
  ue.msisdn = std::move(*msisdn);
  return ue;
}

void put_ue(json& j, const UeId& ue) {
  if (!ue.external_id.empty()) j["externalId"] = ue.external_id;
  if (!ue.msisdn.empty()) j["msisdn"] = ue.msisdn;
}

Result<Bytes> data_of(const json& j) {
  auto b64 = text(j, "data", (kMaxPacket + 2) / 3 * 4, true);
  if (!b64) return b64.error();
  auto data = base64_decode(*b64, Base64Alphabet::kStandard);
  if (!data) return fail("\"data\" is not base64");
  if (data->empty()) return fail("\"data\" is empty");
  if (data->size() > kMaxPacket) return fail("\"data\" is longer than a non-IP packet");
  return data;
}

Result<std::optional<std::uint32_t>> seconds_of(const json& j, const char* name) {
  auto it = j.find(name);
  if (it == j.end() || it->is_null()) return std::optional<std::uint32_t>{};
  if (!it->is_number_unsigned() || it->get<std::uint64_t>() > 0xffffffffu) {
    return fail(std::string("\"") + name + "\" is not a whole number");
  }
  return std::optional<std::uint32_t>(static_cast<std::uint32_t>(it->get<std::uint64_t>()));
}
}  // namespace

std::string UeId::key() const {
  return external_id.empty() ? "msisdn:" + msisdn : "ext:" + external_id;
}

std::optional<UeId> ue_from_key(std::string_view key) {
  UeId ue;
  if (key.rfind("ext:", 0) == 0 && is_external_id(key.substr(4))) {
    ue.external_id = std::string(key.substr(4));
    return ue;
  }
  if (key.rfind("msisdn:", 0) == 0 && is_msisdn(key.substr(7))) {
    ue.msisdn = std::string(key.substr(7));
    return ue;
  }
  return std::nullopt;
}

bool is_t8_id(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s) {
    const bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                    c == '-' || c == '_' || c == '.';
    if (!ok) return false;
  }
  return true;
}

std::optional<UeId> parse_ue(std::string_view text) {
  if (auto ue = ue_from_key(text)) return ue;
  return ue_from_key((text.find('@') != std::string_view::npos ? "ext:" : "msisdn:") +
                     std::string(text));
}

std::string to_json(const Configuration& c) {
  json j{{"notificationDestination", c.notification_destination}};
  put_ue(j, c.ue);
  if (!c.self.empty()) j["self"] = c.self;
  if (!c.status.empty()) j["status"] = c.status;
  // T8 gives the maximum packet size in bits.
  if (c.maximum_packet_size) j["maximumPacketSize"] = *c.maximum_packet_size * 8;
  return j.dump();
}

Result<Configuration> parse_configuration(ByteView bytes) {
  auto j = parse_object(bytes);
  if (!j) return j.error();
  Configuration c;
  auto ue = ue_of(*j);
  auto dest = text(*j, "notificationDestination", kMaxLink, true);
  auto self = text(*j, "self", kMaxLink, false);
  auto status = text(*j, "status", 64, false);
  auto bits = seconds_of(*j, "maximumPacketSize");
  if (!ue) return ue.error();
  if (!dest) return dest.error();
  if (!self) return self.error();
  if (!status) return status.error();
  if (!bits) return bits.error();
  c.ue = std::move(*ue);
  c.notification_destination = std::move(*dest);
  c.self = std::move(*self);
  c.status = std::move(*status);
  if (*bits) c.maximum_packet_size = **bits / 8;
  return c;
}

std::string to_json(const DownlinkTransfer& t) {
  json j = json::object();
  // A response leaves the data out.
  if (!t.data.empty()) j["data"] = base64_encode(t.data, Base64Alphabet::kStandard);
  put_ue(j, t.ue);
  if (!t.self.empty()) j["self"] = t.self;
  if (!t.delivery_status.empty()) j["deliveryStatus"] = t.delivery_status;
  if (t.maximum_latency_s) j["maximumLatency"] = *t.maximum_latency_s;
  return j.dump();
}

Result<DownlinkTransfer> parse_downlink_transfer(ByteView bytes) {
  auto j = parse_object(bytes);
  if (!j) return j.error();
  DownlinkTransfer t;
  auto ue = ue_of(*j);
  auto self = text(*j, "self", kMaxLink, false);
  auto status = text(*j, "deliveryStatus", 64, false);
  auto latency = seconds_of(*j, "maximumLatency");
  if (!ue) return ue.error();
  if (!self) return self.error();
  if (!status) return status.error();
  if (!latency) return latency.error();
  // A response may leave the data out; a request may not.
  if (j->contains("data")) {
    auto data = data_of(*j);
    if (!data) return data.error();
    t.data = std::move(*data);
  }
  t.ue = std::move(*ue);
  t.self = std::move(*self);
  t.delivery_status = std::move(*status);
  t.maximum_latency_s = *latency;
  return t;
}

std::string to_json(const Notification& n) {
  json j;
  if (const auto* up = std::get_if<UplinkNotification>(&n)) {
    j = {{"niddConfiguration", up->configuration},
         {"data", base64_encode(up->data, Base64Alphabet::kStandard)}};
    put_ue(j, up->ue);
  } else if (const auto* d = std::get_if<DeliveryStatusNotification>(&n)) {
    j = {{"niddDownlinkDataTransfer", d->transfer}, {"deliveryStatus", d->delivery_status}};
  } else {
    const auto& c = std::get<ConfigurationStatusNotification>(n);
    j = {{"niddConfiguration", c.configuration}, {"status", c.status}};
    put_ue(j, c.ue);
  }
  return j.dump();
}

Result<Notification> parse_notification(ByteView bytes) {
  auto j = parse_object(bytes);
  if (!j) return j.error();
  if (j->contains("niddDownlinkDataTransfer")) {
    DeliveryStatusNotification d;
    auto link = text(*j, "niddDownlinkDataTransfer", kMaxLink, true);
    auto status = text(*j, "deliveryStatus", 64, true);
    if (!link) return link.error();
    if (!status) return status.error();
    d.transfer = std::move(*link);
    d.delivery_status = std::move(*status);
    return Notification(std::move(d));
  }
  auto configuration = text(*j, "niddConfiguration", kMaxLink, true);
  if (!configuration) return configuration.error();
  auto ue = ue_of(*j);
  if (!ue) return ue.error();
  if (j->contains("data")) {
    UplinkNotification up;
    auto data = data_of(*j);
    if (!data) return data.error();
    up.configuration = std::move(*configuration);
    up.ue = std::move(*ue);
    up.data = std::move(*data);
    return Notification(std::move(up));
  }
  ConfigurationStatusNotification c;
  auto status = text(*j, "status", 64, true);
  if (!status) return status.error();
  c.configuration = std::move(*configuration);
  c.ue = std::move(*ue);
  c.status = std::move(*status);
  return Notification(std::move(c));
}

bool is_success(std::string_view s) {
  return s.rfind("SUCCESS", 0) == 0;
}
bool is_buffering(std::string_view s) {
  return s.rfind("BUFFERING", 0) == 0 || s == "TRIGGERED" || s == "SENDING";
}
bool is_failure(std::string_view s) {
  return s.rfind("FAILURE", 0) == 0;
}

}  // namespace tether::nidd

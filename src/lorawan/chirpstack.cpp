#include "lorawan/chirpstack.hpp"

#include <array>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "common/base64.hpp"
#include "common/text.hpp"

namespace tether::lorawan::chirpstack {

namespace {
using nlohmann::json;

constexpr std::size_t kMaxId = 64;

json device_info(DevEui dev, const std::string& application) {
  return {{"applicationId", application},
          {"devEui", dev_eui_text(dev)},
          {"deviceName", dev_eui_text(dev)}};
}

// Protobuf's JSON mapping leaves defaults out: a missing field reads as 0, false or "".
template <typename T>
Result<T> field(const json& j, const char* name, T fallback) {
  auto it = j.find(name);
  if (it == j.end() || it->is_null()) return fallback;
  try {
    return it->get<T>();
  } catch (const json::exception&) {
    return fail(std::string("\"") + name + "\" has the wrong type");
  }
}

// Numbers only as unsigned integers within range: a float or a negative one would wrap.
Result<std::uint32_t> uint_field(const json& j, const char* name, std::uint32_t max) {
  auto it = j.find(name);
  if (it == j.end() || it->is_null()) return 0u;
  if (!it->is_number_unsigned() && !(it->is_number_integer() && it->get<std::int64_t>() >= 0)) {
    return fail(std::string("\"") + name + "\" is not a whole number");
  }
  const auto v = it->get<std::uint64_t>();
  if (v > max) return fail(std::string("\"") + name + "\" is out of range");
  return static_cast<std::uint32_t>(v);
}

Result<std::string> text_field(const json& j, const char* name) {
  auto s = field<std::string>(j, name, {});
  if (!s) return s.error();
  if (auto ok = check_text(*s, name, kMaxId); !ok) return ok.error();
  return s;
}

Result<Bytes> data_field(const json& j) {
  auto text = field<std::string>(j, "data", {});
  if (!text) return text.error();
  if (text->size() > (kMaxData + 2) / 3 * 4) return fail("\"data\" longer than any frame carries");
  auto data = base64_decode(*text, Base64Alphabet::kStandard);
  if (!data) return fail("\"data\" is not base64");
  return data;
}

Result<std::uint8_t> port_field(const json& j) {
  auto port = uint_field(j, "fPort", 255);
  if (!port) return port.error();
  if (!is_application_port(*port)) return fail("fPort outside 1-223");
  return static_cast<std::uint8_t>(*port);
}

// The DevEUI in the body, when there is one, must be the topic's.
Result<Ok> same_device(const json& body, DevEui dev) {
  const json* holder = &body;
  if (auto info = body.find("deviceInfo"); info != body.end() && info->is_object()) {
    holder = &*info;
  }
  auto text = field<std::string>(*holder, "devEui", {});
  if (!text) return text.error();
  if (text->empty()) return Ok{};
  auto eui = parse_dev_eui(*text);
  if (!eui || *eui != dev) return fail("the DevEUI differs from the topic's");
  return Ok{};
}

Result<json> parse_object(ByteView bytes) {
  json j = json::parse(bytes.begin(), bytes.end(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) return fail("not a JSON object");
  return j;
}
}  // namespace

bool is_application_id(std::string_view id) {
  if (id.empty() || id.size() > kMaxId) return false;
  for (char c : id) {
    if (c <= ' ' || c > '~' || c == '/' || c == '+' || c == '#') return false;
  }
  return true;
}

std::string event_filter(const std::string& application) {
  return "application/" + application + "/device/+/event/+";
}
std::string command_filter(const std::string& application) {
  return "application/" + application + "/device/+/command/down";
}
std::string event_topic(const std::string& application, DevEui dev, std::string_view kind) {
  return "application/" + application + "/device/" + dev_eui_text(dev) + "/event/" +
         std::string(kind);
}
std::string command_topic(const std::string& application, DevEui dev) {
  return "application/" + application + "/device/" + dev_eui_text(dev) + "/command/down";
}

Result<Topic> parse_topic(std::string_view topic) {
  std::array<std::string_view, 6> parts;
  std::size_t n = 0;
  while (n < parts.size()) {
    const auto slash = topic.find('/');
    parts[n++] = topic.substr(0, slash);
    if (slash == std::string_view::npos) {
      topic = {};
      break;
    }
    topic.remove_prefix(slash + 1);
  }
  if (n != parts.size() || !topic.empty() || parts[0] != "application" || parts[2] != "device") {
    return fail("not a ChirpStack integration topic");
  }
  if (!is_application_id(parts[1])) return fail("a bad application id");
  auto dev = parse_dev_eui(parts[3]);
  if (!dev) return fail("a bad DevEUI");
  Topic t;
  t.application = std::string(parts[1]);
  t.dev_eui = *dev;
  if (parts[4] == "command" && parts[5] == "down") {
    t.command = true;
    t.kind = "down";
  } else if (parts[4] == "event" && !parts[5].empty() && parts[5].size() <= 16) {
    t.kind = std::string(parts[5]);
  } else {
    return fail("neither an event nor a downlink command");
  }
  return t;
}

Result<std::optional<Event>> parse_event(const Topic& topic, ByteView bytes) {
  if (topic.command) return fail("a command, not an event");
  auto j = parse_object(bytes);
  if (!j) return j.error();
  if (auto ok = same_device(*j, topic.dev_eui); !ok) return ok.error();
  if (topic.kind == "up") {
    UplinkEvent e;
    e.dev_eui = topic.dev_eui;
    auto f_cnt = uint_field(*j, "fCnt", 0xffffffffu);
    auto port = port_field(*j);
    auto confirmed = field<bool>(*j, "confirmed", false);
    auto dr = uint_field(*j, "dr", 15);
    auto data = data_field(*j);
    auto dedup = text_field(*j, "deduplicationId");
    if (!f_cnt) return f_cnt.error();
    if (!port) return port.error();
    if (!confirmed) return confirmed.error();
    if (!dr) return dr.error();
    if (!data) return data.error();
    if (!dedup) return dedup.error();
    e.f_cnt = *f_cnt;
    e.f_port = *port;
    e.confirmed = *confirmed;
    e.dr = static_cast<std::uint8_t>(*dr);
    e.data = std::move(*data);
    e.deduplication_id = std::move(*dedup);
    return std::optional<Event>(std::move(e));
  }
  if (topic.kind == "txack") {
    TxAckEvent e;
    e.dev_eui = topic.dev_eui;
    auto id = text_field(*j, "queueItemId");
    auto f_cnt = uint_field(*j, "fCntDown", 0xffffffffu);
    if (!id) return id.error();
    if (!f_cnt) return f_cnt.error();
    e.queue_item_id = std::move(*id);
    e.f_cnt_down = *f_cnt;
    return std::optional<Event>(std::move(e));
  }
  if (topic.kind == "ack") {
    AckEvent e;
    e.dev_eui = topic.dev_eui;
    auto id = text_field(*j, "queueItemId");
    auto acked = field<bool>(*j, "acknowledged", false);
    auto f_cnt = uint_field(*j, "fCntDown", 0xffffffffu);
    if (!id) return id.error();
    if (!acked) return acked.error();
    if (!f_cnt) return f_cnt.error();
    e.queue_item_id = std::move(*id);
    e.acknowledged = *acked;
    e.f_cnt_down = *f_cnt;
    return std::optional<Event>(std::move(e));
  }
  if (topic.kind == "log") {
    LogEvent e;
    e.dev_eui = topic.dev_eui;
    auto level = text_field(*j, "level");
    auto code = text_field(*j, "code");
    auto description = field<std::string>(*j, "description", {});
    if (!level) return level.error();
    if (!code) return code.error();
    if (!description) return description.error();
    e.level = level->empty() ? "INFO" : std::move(*level);
    e.code = code->empty() ? "UNKNOWN" : std::move(*code);
    e.description = printable(*description, 200);
    if (auto context = j->find("context"); context != j->end() && context->is_object()) {
      auto id = text_field(*context, "queue_item_id");
      if (!id) return id.error();
      e.queue_item_id = std::move(*id);
    }
    return std::optional<Event>(std::move(e));
  }
  return std::optional<Event>{};
}

std::string to_json(const UplinkEvent& e, const std::string& application) {
  json j{{"deduplicationId", e.deduplication_id},
         {"deviceInfo", device_info(e.dev_eui, application)},
         {"dr", e.dr},
         {"fCnt", e.f_cnt},
         {"fPort", e.f_port},
         {"confirmed", e.confirmed},
         {"data", base64_encode(e.data, Base64Alphabet::kStandard)}};
  return j.dump();
}

std::string to_json(const TxAckEvent& e, const std::string& application) {
  json j{{"deviceInfo", device_info(e.dev_eui, application)},
         {"queueItemId", e.queue_item_id},
         {"fCntDown", e.f_cnt_down}};
  return j.dump();
}

std::string to_json(const AckEvent& e, const std::string& application) {
  json j{{"deviceInfo", device_info(e.dev_eui, application)},
         {"queueItemId", e.queue_item_id},
         {"acknowledged", e.acknowledged},
         {"fCntDown", e.f_cnt_down}};
  return j.dump();
}

std::string to_json(const LogEvent& e, const std::string& application) {
  json j{{"deviceInfo", device_info(e.dev_eui, application)},
         {"level", e.level},
         {"code", e.code},
         {"description", e.description},
         {"context", json::object()}};
  if (!e.queue_item_id.empty()) j["context"]["queue_item_id"] = e.queue_item_id;
  return j.dump();
}

std::string event_kind(const Event& e) {
  switch (e.index()) {
    case 0:
      return "up";
    case 1:
      return "txack";
    case 2:
      return "ack";
    default:
      return "log";
  }
}

std::string to_json(const DownlinkCommand& c) {
  json j{{"id", c.id},
         {"devEui", dev_eui_text(c.dev_eui)},
         {"confirmed", c.confirmed},
         {"fPort", c.f_port},
         {"data", base64_encode(c.data, Base64Alphabet::kStandard)}};
  return j.dump();
}

Result<DownlinkCommand> parse_command(const Topic& topic, ByteView bytes) {
  if (!topic.command) return fail("an event, not a command");
  auto j = parse_object(bytes);
  if (!j) return j.error();
  if (auto ok = same_device(*j, topic.dev_eui); !ok) return ok.error();
  DownlinkCommand c;
  c.dev_eui = topic.dev_eui;
  auto id = text_field(*j, "id");
  auto confirmed = field<bool>(*j, "confirmed", false);
  auto port = port_field(*j);
  auto data = data_field(*j);
  if (!id) return id.error();
  if (!confirmed) return confirmed.error();
  if (!port) return port.error();
  if (!data) return data.error();
  if (data->size() > kMaxData) return fail("\"data\" longer than any frame carries");
  c.id = std::move(*id);
  c.confirmed = *confirmed;
  c.f_port = *port;
  c.data = std::move(*data);
  return c;
}

std::string make_uuid(Random& random) {
  std::array<std::uint8_t, 16> b{};
  random.fill(b);
  b[6] = static_cast<std::uint8_t>((b[6] & 0x0f) | 0x40);
  b[8] = static_cast<std::uint8_t>((b[8] & 0x3f) | 0x80);
  char out[37];
  std::snprintf(out, sizeof out,
                "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
                b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
                b[15]);
  return out;
}

}  // namespace tether::lorawan::chirpstack

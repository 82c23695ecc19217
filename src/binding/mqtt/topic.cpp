#include "binding/mqtt/topic.hpp"

#include "common/text.hpp"
#include "lwm2m/endpoint_name.hpp"

namespace tether::binding::mqtt {

namespace {

std::string_view level_of(Interface i) {
  return i == Interface::kBootstrap ? "bs" : "rd";
}

std::string root(std::string_view prefix) {
  std::string out(prefix);
  if (!out.empty()) out += '/';
  out += "lwm2m/";
  return out;
}

}  // namespace

Result<Ok> check_prefix(std::string_view prefix) {
  if (prefix.empty()) return Ok{};
  if (prefix.size() > 1024) return fail("4.00 an MQTT topic prefix longer than 1024 bytes");
  if (!is_utf8(prefix)) return fail("4.00 an MQTT topic prefix that is not UTF-8");
  if (prefix.front() == '$') return fail("4.00 an MQTT topic prefix starting with '$'");
  std::size_t level_start = 0;
  for (std::size_t i = 0; i <= prefix.size(); ++i) {
    if (i == prefix.size() || prefix[i] == '/') {
      if (i == level_start) return fail("4.00 an empty level in the MQTT topic prefix");
      level_start = i + 1;
      continue;
    }
    const auto c = static_cast<unsigned char>(prefix[i]);
    if (c == '+' || c == '#') return fail("4.00 a wildcard in the MQTT topic prefix");
    if (c < 0x20 || c == 0x7f) return fail("4.00 a control character in the MQTT topic prefix");
  }
  return Ok{};
}

Result<Ok> check_topic_endpoint(std::string_view endpoint) {
  if (auto ok = lwm2m::check_endpoint_name(endpoint); !ok) return ok;
  if (endpoint.find_first_of("/+#") != std::string_view::npos) {
    return fail("4.00 an endpoint name with '/', '+' or '#' cannot be an MQTT topic level");
  }
  return Ok{};
}

std::string topic_name(const Topic& topic) {
  std::string out = root(topic.prefix);
  out += level_of(topic.interface);
  out += '/';
  out += topic.endpoint;
  return out;
}

std::string server_subscription(std::string_view prefix, Interface interface) {
  std::string out = root(prefix);
  out += level_of(interface);
  out += "/+";
  return out;
}

Result<Topic> parse_topic(std::string_view topic, std::string_view prefix) {
  const std::string head = root(prefix);
  if (topic.substr(0, head.size()) != head) return fail("not an LwM2M topic under this prefix");
  std::string_view rest = topic.substr(head.size());
  Topic out;
  out.prefix = std::string(prefix);
  if (rest.substr(0, 3) == "bs/") {
    out.interface = Interface::kBootstrap;
  } else if (rest.substr(0, 3) == "rd/") {
    out.interface = Interface::kRegistration;
  } else {
    return fail("neither a bs nor an rd topic");
  }
  rest.remove_prefix(3);
  if (auto ok = check_topic_endpoint(rest); !ok) return ok.error();
  out.endpoint = std::string(rest);
  return out;
}

}  // namespace tether::binding::mqtt

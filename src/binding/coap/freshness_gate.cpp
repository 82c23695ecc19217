#include "binding/coap/freshness_gate.hpp"

#include <string>
#include <vector>

namespace tether::binding::coap_binding {

namespace {

bool is_unsafe(const coap::Code& code) {
  return code == coap::codes::kPost || code == coap::codes::kPut || code == coap::codes::kDelete ||
         code == coap::codes::kPatch || code == coap::codes::kIPatch;
}

}  // namespace

bool may_write_current_time(const coap::Message& request) {
  const auto& code = request.code;
  if (code != coap::codes::kPut && code != coap::codes::kPost && code != coap::codes::kIPatch &&
      code != coap::codes::kPatch) {
    return false;
  }
  // The LwM2M path is the tail of Uri-Path: skip an alternate path's leading segments.
  std::vector<std::string> segments = request.options.strings(coap::option::kUriPath);
  std::size_t first = 0;
  while (first < segments.size() &&
         (segments[first].empty() ||
          segments[first].find_first_not_of("0123456789") != std::string::npos)) {
    ++first;
  }
  const std::vector<std::string> path(segments.begin() + static_cast<std::ptrdiff_t>(first),
                                      segments.end());
  static const std::vector<std::string> kCurrentTime{"3", "0", "13"};
  if (path.size() > kCurrentTime.size()) return false;
  for (std::size_t i = 0; i < path.size(); ++i) {
    if (path[i] != kCurrentTime[i]) return false;
  }
  return true;
}

bool FreshnessGate::requires_echo(coap::PeerId peer, const coap::Message& request, Instant now) {
  if (!is_unsafe(request.code)) return false;
  if (rules_.current_time && may_write_current_time(request)) return true;
  if (rules_.after_silence <= Duration{0}) return false;
  auto it = last_heard_.find(peer);
  if (it == last_heard_.end() || now - it->second > rules_.after_silence) return true;
  // A peer in conversation stays heard; only a silence reopens the question.
  it->second = now;
  return false;
}

void FreshnessGate::heard(coap::PeerId peer, Instant now) {
  if (rules_.after_silence <= Duration{0}) return;
  last_heard_[peer] = now;
  if (last_heard_.size() >= sweep_at_) forget_silent(now);
}

// Amortised: a sweep runs when the table has doubled since the last one.
void FreshnessGate::forget_silent(Instant now) {
  std::erase_if(last_heard_,
                [&](const auto& entry) { return now - entry.second > rules_.after_silence; });
  sweep_at_ = std::max<std::size_t>(1024, last_heard_.size() * 2);
}

void FreshnessGate::install(coap::EndpointConfig& config) {
  config.require_echo = [this](coap::PeerId peer, const coap::Message& m, Instant now) {
    return requires_echo(peer, m, now);
  };
  config.on_fresh_echo = [this](coap::PeerId peer, Instant now) { heard(peer, now); };
}

}  // namespace tether::binding::coap_binding

#include "sms/concatenation.hpp"

#include <algorithm>
#include <tuple>

#include "sms/user_data_header.hpp"

namespace tether::sms {

Result<std::vector<Segment>> split(ByteView payload, std::uint8_t reference,
                                   const std::vector<InformationElement>& first) {
  const Bytes single_udh = first.empty() ? Bytes{} : build_udh(first);
  if (single_udh.size() + payload.size() <= kMaxUserData) {
    return std::vector<Segment>{{single_udh, Bytes(payload.begin(), payload.end())}};
  }
  // The first part's header holds `first` as well as the concatenation element.
  const std::size_t extra = single_udh.empty() ? 0 : single_udh.size() - 1;
  const std::size_t first_data = kConcatPartData - extra;
  const std::size_t total =
      1 + (payload.size() - std::min(payload.size(), first_data) + kConcatPartData - 1) /
              kConcatPartData;
  if (total > 255) return fail("message needs more than 255 SMS");
  std::vector<Segment> out;
  out.reserve(total);
  std::size_t at = 0;
  for (std::size_t i = 0; i < total; ++i) {
    const std::size_t room = i == 0 ? first_data : kConcatPartData;
    const std::size_t n = std::min(room, payload.size() - at);
    ConcatPart part{reference, static_cast<std::uint8_t>(total), static_cast<std::uint8_t>(i + 1)};
    std::vector<InformationElement> elements;
    if (i == 0) elements = first;
    elements.push_back(concat_element(part));
    out.push_back(
        {build_udh(elements), Bytes(payload.begin() + static_cast<std::ptrdiff_t>(at),
                                    payload.begin() + static_cast<std::ptrdiff_t>(at + n))});
    at += n;
  }
  return out;
}

std::optional<Bytes> Reassembler::add(const std::string& sender, ByteView udh, ByteView data,
                                      Instant now) {
  std::optional<ConcatPart> part;
  if (!udh.empty()) {
    if (auto elements = parse_udh(udh)) part = concat_part(*elements);
  }
  if (!part || part->total == 1) {
    ++counters_.completed;
    return Bytes(data.begin(), data.end());
  }
  if (part->total > limits_.max_parts || pending_bytes_ + data.size() > limits_.max_pending_bytes) {
    ++counters_.refused;
    return std::nullopt;
  }
  const Key key{sender, part->reference, part->total};
  auto it = pending_.find(key);
  if (it == pending_.end()) {
    if (pending_.size() >= limits_.max_pending) {
      ++counters_.refused;
      return std::nullopt;
    }
    const auto from_sender = std::count_if(pending_.begin(), pending_.end(),
                                           [&](const auto& p) { return p.first.sender == sender; });
    if (static_cast<std::size_t>(from_sender) >= limits_.max_pending_per_sender) {
      ++counters_.refused;
      return std::nullopt;
    }
    Pending fresh;
    fresh.started = now;
    fresh.parts.resize(part->total);
    it = pending_.emplace(key, std::move(fresh)).first;
  }
  auto& slot = it->second.parts[part->sequence - 1];
  if (slot) {
    ++counters_.duplicates;
    return std::nullopt;
  }
  slot = Bytes(data.begin(), data.end());
  ++it->second.have;
  it->second.bytes += data.size();
  pending_bytes_ += data.size();
  if (it->second.have < it->second.parts.size()) return std::nullopt;
  Bytes whole;
  whole.reserve(it->second.bytes);
  for (const auto& p : it->second.parts) whole.insert(whole.end(), p->begin(), p->end());
  drop(it);
  ++counters_.completed;
  return whole;
}

void Reassembler::drop(std::map<Key, Pending>::iterator it) {
  pending_bytes_ -= it->second.bytes;
  pending_.erase(it);
}

void Reassembler::expire(Instant now) {
  for (auto it = pending_.begin(); it != pending_.end();) {
    if (now - it->second.started >= limits_.part_timeout) {
      ++counters_.expired;
      auto gone = it++;
      drop(gone);
    } else {
      ++it;
    }
  }
}

std::optional<Instant> Reassembler::next_deadline() const {
  std::optional<Instant> next;
  for (const auto& [key, p] : pending_) {
    const Instant at = p.started + limits_.part_timeout;
    if (!next || at < *next) next = at;
  }
  return next;
}

}  // namespace tether::sms

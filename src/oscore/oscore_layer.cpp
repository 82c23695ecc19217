#include "oscore/oscore_layer.hpp"

#include "oscore/crypto.hpp"

#include <algorithm>
#include <variant>
#include <vector>

namespace tether::oscore {

namespace {

namespace codes = coap::codes;

bool is_request(const coap::Message& m) {
  return m.code.code_class() == 0 && !m.code.is_empty();
}

// Growth of a protected message besides kid and kid context: the option's header, flags
// and a 5-byte Partial IV, the inner code byte and the tag.
constexpr std::size_t kBaseOverhead = 3 + 1 + 5 + 1 + kTagLength;

// RFC 8613 B.2: kids awaiting their Request #2 at once.
constexpr std::size_t kMaxRederivations = 1024;
constexpr std::size_t kR2PerKid = 4;

}  // namespace

OscoreLayer::OscoreLayer(OscorePeers peers, coap::MessageSink& above,
                         const coap::LayerDecorator::InnerFactory& make_inner)
    : peers_(std::move(peers)), above_(above), inner_(make_inner(*this)) {}

std::string OscoreLayer::key(coap::PeerId peer, const Bytes& token) {
  std::string k(reinterpret_cast<const char*>(&peer), sizeof(peer));
  k.append(token.begin(), token.end());
  return k;
}

void OscoreLayer::send(coap::PeerId peer, coap::Message m, Instant now) {
  if (is_request(m)) {
    SharedContext context = peers_.context_for_peer ? peers_.context_for_peer(peer) : nullptr;
    if (context == nullptr) {
      inner_->send(peer, std::move(m), now);
      return;
    }
    auto p = protect_request(*context, m);
    if (!p) {
      // Sequence numbers spent: nothing may leave under this context (RFC 8613 7.2.1). The
      // exchange times out; failing it from inside the endpoint's own send would re-enter it.
      return;
    }
    Binding binding{context, p->binding, m.options.has(coap::option::kObserve), std::nullopt};
    if (context->rederiving()) binding.original = std::move(m);
    ours_[key(peer, p->message.token)] = std::move(binding);
    inner_->send(peer, std::move(p->message), now);
    return;
  }
  // A notification (or an empty message): protected when it answers a protected Observe.
  auto it = m.token.empty() ? theirs_.end() : theirs_.find(key(peer, m.token));
  if (it == theirs_.end() || m.code.is_empty()) {
    inner_->send(peer, std::move(m), now);
    return;
  }
  // RFC 8613 4.1.3.5.2: every notification carries a Partial IV of its own.
  auto p = protect_response(*it->second.context, it->second.request, m, true);
  if (!m.options.has(coap::option::kObserve)) theirs_.erase(it);
  if (p) inner_->send(peer, std::move(*p), now);
}

void OscoreLayer::respond(coap::PeerId peer, const coap::Message& request, coap::Message response,
                          Instant now) {
  auto it = theirs_.find(key(peer, request.token));
  if (it == theirs_.end()) {
    inner_->respond(peer, request, std::move(response), now);
    return;
  }
  const bool observing = response.options.has(coap::option::kObserve);
  auto p = protect_response(*it->second.context, it->second.request, response, observing);
  if (!observing) theirs_.erase(it);
  if (!p) {
    inner_->respond(peer, request, coap::make_response(request, codes::kInternalServerError), now);
    return;
  }
  inner_->respond(peer, request, std::move(*p), now);
}

void OscoreLayer::abandon(coap::PeerId peer, const Bytes& token, Instant now) {
  ours_.erase(key(peer, token));
  inner_->abandon(peer, token, now);
}

std::size_t OscoreLayer::peer_max_message_size(coap::PeerId peer) const {
  // The Endpoint sizes blocks for what the carrier takes once OSCORE has grown them.
  std::size_t overhead = kBaseOverhead;
  if (const SharedContext c = peers_.context_for_peer ? peers_.context_for_peer(peer) : nullptr) {
    overhead += c->sender_id().size() + (c->id_context() ? 1 + c->id_context()->size() : 0);
  }
  const std::size_t max = inner_->peer_max_message_size(peer);
  return max > overhead + 64 ? max - overhead : max;
}

bool OscoreLayer::on_message(coap::PeerId peer, coap::Message&& m, Instant now) {
  if (is_request(m)) return on_request(peer, std::move(m), now);
  if (m.code.is_empty() || m.code.is_signaling()) return above_.on_message(peer, std::move(m), now);
  return on_response(peer, std::move(m), now);
}

void OscoreLayer::refuse(coap::PeerId peer, const coap::Message& request, const Refusal& refusal,
                         Instant now) {
  // RFC 8613 8.2: the error goes back unprotected.
  inner_->respond(peer, request, refusal_response(request, refusal), now);
  if (peers_.on_refused) peers_.on_refused(peer, refusal);
}

bool OscoreLayer::on_request(coap::PeerId peer, coap::Message&& m, Instant now) {
  if (!is_protected(m)) {
    // A peer that has a context must use it: its plain requests are refused.
    if (peers_.context_for_peer && peers_.context_for_peer(peer) != nullptr) {
      refuse(peer, m, Refusal{codes::kUnauthorized, "OSCORE required"}, now);
      return true;
    }
    return above_.on_message(peer, std::move(m), now);
  }
  SharedContext found;
  auto result = unprotect_request(m, [&](ByteView kid, std::optional<ByteView> kid_context) {
    found = peers_.lookup ? peers_.lookup(kid, kid_context) : nullptr;
    return found.get();
  });
  if (const auto* refusal = std::get_if<Refusal>(&result)) {
    if (found == nullptr && refusal->code == codes::kUnauthorized) {
      bool applied = false;
      auto instead = rederive(peer, m, now, applied);
      if (applied && !instead) return true;
      if (instead) {
        refuse(peer, m, *instead, now);
        return true;
      }
    }
    refuse(peer, m, *refusal, now);
    return true;
  }
  return accept(peer, m, found, std::move(std::get<VerifiedRequest>(result)), now);
}

bool OscoreLayer::accept(coap::PeerId peer, const coap::Message& m, const SharedContext& found,
                         VerifiedRequest&& verified, Instant now) {
  if (theirs_.size() >= peers_.max_bindings && !theirs_.contains(key(peer, m.token))) {
    refuse(peer, m, Refusal{codes::kServiceUnavailable, "too many OSCORE exchanges"}, now);
    return true;
  }
  // Another worker acted on requests under this context since this copy did: its replay
  // window missed them, so freshness is proved again.
  if (found->held_elsewhere()) found->require_freshness();
  if (!found->freshness_proved()) {
    // RFC 8613 B.1.2: first the request proves it is no replay from before our (re)start,
    // by echoing a value we made up (RFC 9175); the Endpoint above never sees the Echo.
    const coap::Option* echo = verified.message.options.find(coap::option::kEcho);
    if (echo == nullptr || !found->answers_challenge(echo->value)) {
      coap::Message challenge = coap::make_response(verified.message, codes::kUnauthorized);
      const ByteView echo_value = found->echo_challenge(random_bytes(SecurityContext::kEchoLength));
      challenge.options.set(coap::option::kEcho, Bytes(echo_value.begin(), echo_value.end()));
      // With a Partial IV of our own: the request may be a replay whose nonce answered it
      // before the restart (RFC 8613 B.1.2).
      auto p = protect_response(*found, verified.binding, challenge, true);
      inner_->respond(
          peer, m,
          p ? std::move(*p) : refusal_response(m, Refusal{codes::kUnauthorized, "Echo required"}),
          now);
      return true;
    }
    found->prove_freshness(sequence_of(verified.binding.partial_iv.view()));
    verified.message.options.remove(coap::option::kEcho);
  }
  found->mark_held();
  if (peers_.on_verified) peers_.on_verified(peer, found);
  theirs_[key(peer, m.token)] =
      Binding{found, verified.binding, verified.message.options.has(coap::option::kObserve), {}};
  return above_.on_message(peer, std::move(verified.message), now);
}

std::optional<Refusal> OscoreLayer::rederive(coap::PeerId peer, const coap::Message& m, Instant now,
                                             bool& applied) {
  applied = false;
  if (!peers_.rederivable || !peers_.derive_with || !peers_.adopt) return std::nullopt;
  const coap::Option* opt = m.options.find(kOscoreOption);
  auto ov = opt != nullptr ? decode_option(opt->value) : fail("no OSCORE option");
  if (!ov || !ov->kid || !ov->kid_context) return std::nullopt;
  // libcoap sends the kid context of B.2 as a CBOR byte string; a raw one is tried as well.
  std::vector<Bytes> ids{unwrap_kid_context(*ov->kid_context)};
  if (ids[0].size() != ov->kid_context->size()) ids.push_back(*ov->kid_context);
  const std::string kid_key(ov->kid->begin(), ov->kid->end());
  const std::vector<SharedContext> bases = peers_.rederivable(*ov->kid);
  if (bases.empty()) return std::nullopt;
  applied = true;
  auto& pending = r2_by_kid_[kid_key];
  for (const Bytes& id : ids) {
    // Request #2 names R2 || R3, R2 being a value we gave this kid.
    const bool second = std::any_of(pending.begin(), pending.end(), [&](const auto& sent) {
      return id.size() > sent.r2.size() && std::equal(sent.r2.begin(), sent.r2.end(), id.begin());
    });
    for (const SharedContext& base : bases) {
      SharedContext candidate = peers_.derive_with(base, id);
      if (candidate == nullptr) continue;
      auto result =
          unprotect_request(m, [&](ByteView, std::optional<ByteView>) { return candidate.get(); });
      auto* verified = std::get_if<VerifiedRequest>(&result);
      if (verified == nullptr) continue;
      if (second) {
        // Our R2 inside its ID Context proves the request is fresh: the new context is agreed.
        r2_by_kid_.erase(kid_key);
        candidate->prove_freshness(sequence_of(verified->binding.partial_iv.view()));
        candidate->mark_held();
        peers_.adopt(base, candidate);
        accept(peer, m, candidate, std::move(*verified), now);
        return std::nullopt;
      }
      // Request #1 may be a replay: not acted on. Response #1 gives our R2, protected under
      // ID Context R2 || ID1, with a Partial IV of its own.
      auto sent =
          std::find_if(pending.begin(), pending.end(), [&](const auto& p) { return p.id1 == id; });
      if (sent == pending.end()) {
        Bytes r2 = random_bytes(8);
        Bytes next = r2;
        next.insert(next.end(), id.begin(), id.end());
        SharedContext answering = peers_.derive_with(base, next);
        if (answering == nullptr) break;
        if (r2_by_kid_.size() > kMaxRederivations) {
          // Bounded: some other kid's pending rounds go (never this one's, in use here).
          for (auto it = r2_by_kid_.begin(); it != r2_by_kid_.end(); ++it) {
            if (it->first != kid_key) {
              r2_by_kid_.erase(it);
              break;
            }
          }
        }
        if (pending.size() >= kR2PerKid) pending.erase(pending.begin());
        pending.push_back(PendingRederivation{id, std::move(r2), std::move(answering)});
        sent = pending.end() - 1;
      }
      auto p = protect_response(*sent->answering, verified->binding,
                                coap::make_response(verified->message, codes::kUnauthorized), true,
                                ByteView(sent->r2));
      if (!p) break;
      inner_->respond(peer, m, std::move(*p), now);
      return std::nullopt;
    }
  }
  if (pending.empty()) r2_by_kid_.erase(kid_key);
  // RFC 8613 8.2: a context the kid names, which does not open the request.
  return Refusal{codes::kBadRequest, "Decryption failed"};
}

bool OscoreLayer::on_rederivation_response(coap::PeerId peer,
                                           std::unordered_map<std::string, Binding>::iterator it,
                                           const coap::Message& m, const Bytes& r2, Instant now) {
  const SharedContext context = it->second.context;
  // Response #1 is protected under R2 || ID1, ID1 being the ID Context our request used.
  Bytes id2 = r2;
  if (context->id_context()) {
    id2.insert(id2.end(), context->id_context()->begin(), context->id_context()->end());
  }
  SharedContext answering = peers_.derive_with(context, id2);
  if (answering == nullptr) return true;
  auto inner = unprotect_response(*answering, it->second.request, m, context.get());
  if (!inner) return true;  // RFC 8613 8.4: a response that does not verify is discarded
  // Request #2 goes under R2 || R3, R3 ours: both sides then hold a context neither could
  // have had before, so no nonce repeats under it.
  Bytes id3 = r2;
  const Bytes r3 = random_bytes(8);
  id3.insert(id3.end(), r3.begin(), r3.end());
  SharedContext agreed = peers_.derive_with(context, id3);
  if (agreed == nullptr) return true;
  agreed->set_rederiving(true);
  peers_.adopt(context, agreed);
  std::optional<coap::Message> original = std::move(it->second.original);
  ours_.erase(it);
  if (original) {
    send(peer, std::move(*original), now);
    return true;
  }
  // Not a request we kept: its exchange ends with the 4.01; the next one uses the new context.
  return above_.on_message(peer, std::move(*inner), now);
}

bool OscoreLayer::on_response(coap::PeerId peer, coap::Message&& m, Instant now) {
  auto it = ours_.find(key(peer, m.token));
  if (it == ours_.end()) {
    if (!is_protected(m)) return above_.on_message(peer, std::move(m), now);
    // Protected, but to no request of ours we still know (a notification for an observation
    // made before a restart): nothing can verify it, so nothing above may see it. Unknown,
    // the message layer answers it with a reset, which ends the observation (RFC 7641 3.6).
    return false;
  }
  if (!is_protected(m)) {
    // An unprotected answer to a protected request can only be an error (RFC 8613 8.4):
    // pass it up so the exchange ends with that code.
    if (m.code.is_success()) return true;  // dropped: never trusted
    ours_.erase(it);
    return above_.on_message(peer, std::move(m), now);
  }
  if (auto r2 = response_kid_context(m); r2 && peers_.derive_with && peers_.adopt) {
    return on_rederivation_response(peer, it, m, *r2, now);
  }
  auto inner = unprotect_response(*it->second.context, it->second.request, m);
  if (!inner) return true;  // RFC 8613 8.4: a response that does not verify is discarded
  // RFC 8613 B.2: a response under the new context ends the re-derivation.
  if (it->second.context->rederiving()) it->second.context->set_rederiving(false);
  if (!it->second.observing || !inner->options.has(coap::option::kObserve)) ours_.erase(it);
  return above_.on_message(peer, std::move(*inner), now);
}

void OscoreLayer::on_failed(coap::PeerId peer, const Bytes& token, coap::Failure why, Instant now) {
  ours_.erase(key(peer, token));
  above_.on_failed(peer, token, why, now);
}

void OscoreLayer::forget_peer(coap::PeerId peer) {
  const std::string prefix = key(peer, Bytes{});
  std::erase_if(ours_, [&](const auto& kv) { return kv.first.starts_with(prefix); });
  std::erase_if(theirs_, [&](const auto& kv) { return kv.first.starts_with(prefix); });
}

void OscoreLayer::on_peer_closed(coap::PeerId peer, Instant now) {
  forget_peer(peer);
  if (peers_.on_closed) peers_.on_closed(peer);
  above_.on_peer_closed(peer, now);
}

}  // namespace tether::oscore

#include "transport/sms/sms_transport.hpp"

namespace tether::transport {

coap::EndpointConfig sms_endpoint_config(coap::EndpointConfig base) {
  base.carrier = coap::Carrier::kDatagram;
  base.datagram.params = coap::TransmissionParameters::sms();
  // A separate response costs one more SMS: wait long for the answer to piggyback.
  base.datagram.piggyback_window = Duration{10'000};
  // Up to 9 concatenated parts; block-wise (1024-byte blocks) above that.
  base.datagram.max_message_size = 1152;
  base.block_szx = 6;
  return base;
}

SmsTransport::SmsTransport(EventLoop& loop, coap::EndpointConfig config, Random& random,
                           SmsCarrier& carrier, SmsOptions options)
    : loop_(loop),
      carrier_(carrier),
      options_(std::move(options)),
      endpoint_(sms_endpoint_config(std::move(config)), random),
      secure_(make_secure_layer(options_.secure, endpoint_, tls::Carriage::kDatagram)),
      port_(secure_ ? static_cast<coap::CarrierPort&>(*secure_) : endpoint_),
      timer_(loop, port_, [this] { flush(); }),
      reassembler_(options_.reassembly) {
  carrier_.set_receiver([this](sms::ShortMessage m) { on_short_message(std::move(m)); });
}

SmsTransport::~SmsTransport() {
  carrier_.set_receiver(nullptr);
  if (reassembly_timer_ != 0) loop_.cancel(reassembly_timer_);
}

coap::PeerId SmsTransport::peer_id(const std::string& number) {
  // One peer per phone, however its number is written (+49..., 0049..., 49...).
  auto [it, fresh] = ids_.try_emplace(std::string(sms::msisdn_digits(number)), next_peer_);
  if (fresh) numbers_[next_peer_++] = number;
  return it->second;
}

Result<coap::PeerId> SmsTransport::peer_for(const std::string& host, std::uint16_t) {
  if (!sms::is_msisdn(host)) return fail("an SMS peer is an MSISDN: \"+\" and digits");
  return peer_id(host);
}

std::string SmsTransport::number_of(coap::PeerId peer) const {
  auto it = numbers_.find(peer);
  return it == numbers_.end() ? std::string{} : it->second;
}

std::string SmsTransport::describe(coap::PeerId peer) const {
  auto it = numbers_.find(peer);
  return it == numbers_.end() ? "?" : "sms:" + it->second;
}

std::vector<std::pair<std::string, std::uint64_t>> SmsTransport::counters() const {
  const auto& c = carrier_.counters();
  const auto& r = reassembler_.counters();
  std::vector<std::pair<std::string, std::uint64_t>> out{
      {"sms_sent", c.sent},
      {"sms_send_failed", c.send_failures},
      {"sms_received", c.received},
      {"sms_malformed", c.malformed},
      {"sms_callback_refused", c.refused},
      {"sms_foreign_sender", counters_.ignored_sender},
      {"sms_part_duplicate", r.duplicates},
      {"sms_part_expired", r.expired},
      {"sms_part_refused", r.refused},
      {"sms_too_long", counters_.too_long},
      {"sms_packet_unsealed", counters_.unsealed}};
  for (std::size_t f = 0; f < sms::kPacketFaults; ++f) {
    out.emplace_back(std::string("sms_packet_") + sms::fault_name(static_cast<sms::PacketFault>(f)),
                     counters_.packet_faults[f]);
  }
  return out;
}

void SmsTransport::on_short_message(sms::ShortMessage m) {
  // Transport TS 5.4: a stranger's SMS is not even read.
  if (!sms::is_msisdn(m.from) || (options_.accept && !options_.accept(m.from))) {
    ++counters_.ignored_sender;
    return;
  }
  const Instant now = loop_.now();
  auto whole = reassembler_.add(m.from, m.udh, m.data, now);
  rearm_reassembly();
  if (!whole) return;
  if (options_.packets && options_.packets->applies_to(m.from)) {
    // Transport TS 5.4.2: what is not protected as configured is dropped unanswered.
    auto opened = options_.packets->unprotect(m.from, *whole);
    if (auto* fault = std::get_if<sms::PacketFault>(&opened)) {
      ++counters_.packet_faults[static_cast<std::size_t>(*fault)];
      return;
    }
    *whole = std::move(std::get<Bytes>(opened));
  }
  ++counters_.messages_in;
  port_.receive(peer_id(m.from), *whole, now);
  flush();
}

void SmsTransport::rearm_reassembly() {
  if (reassembly_timer_ != 0) loop_.cancel(reassembly_timer_);
  reassembly_timer_ = 0;
  const auto next = reassembler_.next_deadline();
  if (!next) return;
  reassembly_timer_ = loop_.schedule(*next, [this] {
    reassembly_timer_ = 0;
    reassembler_.expire(loop_.now());
    rearm_reassembly();
  });
}

void SmsTransport::flush() {
  while (auto t = port_.poll_transmit()) {
    if (t->kind != coap::Transmit::Kind::kData) continue;
    auto it = numbers_.find(t->peer);
    if (it == numbers_.end()) continue;
    // A copy: a carrier may hand us a message while we send, which may add a peer.
    const std::string to = it->second;
    Bytes payload = std::move(t->bytes);
    std::vector<sms::InformationElement> first_elements;
    const bool sealed = options_.packets && options_.packets->applies_to(to);
    if (sealed) {
      auto packet = options_.packets->protect(to, payload);
      if (!packet) {
        ++counters_.unsealed;
        continue;
      }
      payload = std::move(*packet);
      // 31.115: the command packet element leads the first SMS's header.
      first_elements.push_back({sms::kCommandPacketIei, {}});
    }
    auto parts = sms::split(payload, next_reference_++, first_elements);
    if (!parts) {
      ++counters_.too_long;
      continue;
    }
    ++counters_.messages_out;
    for (auto& part : *parts) {
      sms::ShortMessage m;
      m.from = options_.own_number;
      m.to = to;
      m.udh = std::move(part.udh);
      m.data = std::move(part.data);
      if (sealed) {
        m.pid = sms::kUsimDataDownloadPid;
        m.dcs = sms::kClass2Data;
      }
      carrier_.send(m);
    }
  }
  timer_.rearm();
}

}  // namespace tether::transport

// A soak at the LwM2M level on the simulated network: several of our clients and our server
// for half an hour of virtual time under 20 % loss, 10 % duplication and up to 1.5 s of
// extra delay (so reordering), with registrations, Updates, CON notifications and Writes
// going on. What is asserted is what users rely on:
//   - every Write the server reported as 2.04 holds on the device (or a later one does);
//   - when the server acknowledged a CON notification it had delivered that value or a
//     newer one (RFC 7641 3.4 lets a stale one go), and delivered values only move forward;
//   - every request the server accepted got an answer (none left hanging);
//   - once the faults stop, every device is registered where it thinks it is.
#include <gtest/gtest.h>

#include <map>
#include <random>

#include "client/client_fixture.hpp"
#include "lwm2m/format/codec.hpp"

namespace tether::client {
namespace {

using lwm2m::DownlinkRequest;
using lwm2m::Operation;
using server::DownlinkResult;
using server::ServerEvent;
using namespace testing;

constexpr int kClients = 4;
constexpr coap::PeerId kFirstClient = 30;
const Path kTemperature{3303, 0, 5700};
const Path kUtcOffset{3, 0, 14};

std::string endpoint_of(int i) {
  return "soak-" + std::to_string(i);
}

struct Delivered {
  Instant at;
  double value;
};

TEST(Soak, NothingAcknowledgedIsLostUnderLossDuplicationAndReordering) {
  SimNetwork net;
  server::MemoryStore store;
  ServerHarness server(net, store);
  std::map<std::string, std::vector<Delivered>> delivered;  // notifications, by endpoint
  server.server.set_event_handler([&](const ServerEvent& e) {
    if (e.kind != ServerEvent::Kind::kNotification || !e.content) return;
    if (const auto* v = e.content->content.find_value(kTemperature)) {
      if (auto n = v->as_number()) delivered[e.endpoint].push_back({net.now(), *n});
    }
  });

  std::vector<std::unique_ptr<ClientHarness>> clients;
  std::map<coap::PeerId, int> index_of;
  for (int i = 0; i < kClients; ++i) {
    ClientConfig config;
    config.endpoint = endpoint_of(i);
    const coap::PeerId at = kFirstClient + static_cast<coap::PeerId>(i);
    clients.push_back(std::make_unique<ClientHarness>(net, config, at));
    clients.back()->add_server(101, "coap://10.0.0.1:1", 90);  // an Update every ~45 s
    index_of[at] = i;
  }

  std::mt19937 rng(20261204);
  std::uniform_real_distribution<double> chance(0.0, 1.0);
  std::uniform_int_distribution<std::int64_t> jitter(0, 1500);
  net.drop_if([&](const coap::sim::Packet&) { return chance(rng) < 0.20; });
  net.duplicate_if([&](const coap::sim::Packet&) { return chance(rng) < 0.10; });
  net.delay_by([&](const coap::sim::Packet&) { return Duration{jitter(rng)}; });
  for (auto& c : clients) c->client.start();

  // What the server's callers were told, per client.
  struct Writes {
    std::vector<std::string> sent;  // in order
    std::optional<std::size_t> last_acknowledged;
    std::size_t answered = 0;
  };
  std::vector<Writes> writes(kClients);
  std::vector<bool> observing(kClients, false);
  std::vector<bool> observe_pending(kClients, false);
  std::size_t requests = 0, answers = 0;

  const Instant end_of_faults = net.now() + Duration{30 * 60'000};
  int tick = 0;
  while (net.now() < end_of_faults) {
    net.run_for(Duration{5'000});
    ++tick;
    for (int i = 0; i < kClients; ++i) {
      const std::string ep = endpoint_of(i);
      if (server.server.find(ep) == nullptr) continue;
      clients[static_cast<std::size_t>(i)]->temperature->tick(1.0);
      if (!observing[static_cast<std::size_t>(i)] &&
          !observe_pending[static_cast<std::size_t>(i)]) {
        DownlinkRequest observe;
        observe.op = Operation::kObserve;
        observe.path = kTemperature;
        observe.attributes = {"con=1"};
        observe_pending[static_cast<std::size_t>(i)] = true;
        ++requests;
        server.server.send(ep, observe, {}, [&, i](DownlinkResult r) {
          ++answers;
          observe_pending[static_cast<std::size_t>(i)] = false;
          observing[static_cast<std::size_t>(i)] =
              r.response && r.response->code == coap::codes::kContent;
        });
      }
      if (tick % 6 == i % 6) {
        auto& w = writes[static_cast<std::size_t>(i)];
        const std::size_t n = w.sent.size();
        char offset[16];
        std::snprintf(offset, sizeof(offset), "+%02zu:%02zu", n / 60 % 24, n % 60);
        w.sent.emplace_back(offset);
        DownlinkRequest write;
        write.op = Operation::kWrite;
        write.path = kUtcOffset;
        write.format = lwm2m::format::ContentFormat::kText;
        (void)write.content.set(kUtcOffset, Value(std::string(offset)));
        ++requests;
        server.server.send(ep, write, {}, [&, i, n](DownlinkResult r) {
          ++answers;
          auto& mine = writes[static_cast<std::size_t>(i)];
          ++mine.answered;
          if (r.response && r.response->code == coap::codes::kChanged) {
            if (!mine.last_acknowledged || *mine.last_acknowledged < n) mine.last_acknowledged = n;
          }
        });
      }
    }
  }
  net.clear_faults();
  net.run_for(Duration{10 * 60'000});

  // Every request got its answer: a result, a timeout or "unreachable", never silence.
  EXPECT_EQ(answers, requests);

  // Writes reported as done hold (a later Write that timed out may have landed too).
  for (int i = 0; i < kClients; ++i) {
    const auto& w = writes[static_cast<std::size_t>(i)];
    ASSERT_TRUE(w.last_acknowledged) << endpoint_of(i) << ": no Write got through";
    const auto held = clients[static_cast<std::size_t>(i)]->data.value(kUtcOffset);
    ASSERT_TRUE(held);
    const auto* value = held->get_if<std::string>();
    ASSERT_NE(value, nullptr);
    const auto at = std::find(w.sent.begin(), w.sent.end(), *value);
    ASSERT_NE(at, w.sent.end()) << *value;
    EXPECT_GE(static_cast<std::size_t>(at - w.sent.begin()), *w.last_acknowledged)
        << endpoint_of(i) << " lost an acknowledged Write";
  }

  // CON notifications: each ACK the server sent covered a value it had delivered by then.
  std::size_t acknowledged_notifications = 0;
  std::map<std::pair<coap::PeerId, std::uint16_t>, double> notification_by_mid;
  for (const auto& p : net.log()) {
    if (!p.message || p.dropped || p.to != server::testing::kServerAddress) continue;
    if (!index_of.count(p.from)) continue;
    const auto& m = *p.message;
    if (m.type != coap::Type::kConfirmable || !m.observe() || m.code != coap::codes::kContent) {
      continue;
    }
    auto tree =
        lwm2m::format::decode(*lwm2m::format::content_format_from(m.content_format().value_or(0)),
                              kTemperature, m.payload, server.models);
    ASSERT_TRUE(tree) << tree.error().reason;
    notification_by_mid[{p.from, m.message_id}] = *tree->find_value(kTemperature)->as_number();
  }
  for (const auto& p : net.log()) {
    if (!p.message || p.from != server::testing::kServerAddress || !index_of.count(p.to)) continue;
    if (p.message->type != coap::Type::kAcknowledgement) continue;
    auto n = notification_by_mid.find({p.to, p.message->message_id});
    if (n == notification_by_mid.end()) continue;
    ++acknowledged_notifications;
    const auto& got = delivered[endpoint_of(index_of[p.to])];
    const bool covered = std::any_of(got.begin(), got.end(), [&](const Delivered& d) {
      return d.at <= p.sent && d.value >= n->second;
    });
    EXPECT_TRUE(covered) << endpoint_of(index_of[p.to]) << ": the notification of " << n->second
                         << " was acknowledged but never delivered";
  }
  EXPECT_GT(acknowledged_notifications, 100u);
  for (const auto& [ep, got] : delivered) {
    for (std::size_t k = 1; k < got.size(); ++k) {
      EXPECT_GT(got[k].value, got[k - 1].value) << ep << ": a stale notification was delivered";
    }
  }

  // With the network calm again, every device is registered where it believes it is.
  for (int i = 0; i < kClients; ++i) {
    const auto& c = *clients[static_cast<std::size_t>(i)];
    EXPECT_EQ(c.client.state(101), Lwm2mClient::State::kRegistered) << endpoint_of(i);
    const auto* r = server.server.find(endpoint_of(i));
    ASSERT_NE(r, nullptr) << endpoint_of(i);
    EXPECT_EQ(c.client.location(101), r->id) << endpoint_of(i);
  }
}

}  // namespace
}  // namespace tether::client

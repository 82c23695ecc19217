// The exchange layer as a user sees it: requests, responses, options, cancellation.
#include <gtest/gtest.h>

#include <optional>
#include <set>

#include "coap/endpoint.hpp"
#include "sim_network.hpp"

namespace tether::coap {
namespace {

using sim::Node;
using sim::Packet;
using sim::Recorder;
using sim::SimNetwork;

constexpr PeerId kClient = 1;
constexpr PeerId kServer = 2;

// A tiny resource store: GET reads, PUT writes, POST appends, DELETE removes.
struct Store {
  Store(Node& node, SimNetwork& net) {
    node.endpoint.set_request_handler([this, &net](PeerId, const Message& req, Responder r) {
      ++calls;
      last = req;
      const std::string path = req.path();
      Message resp;
      if (req.code == codes::kGet) {
        auto it = data.find(path);
        resp = make_response(req, it == data.end() ? codes::kNotFound : codes::kContent);
        if (it != data.end()) {
          resp.payload = it->second;
          resp.set_content_format(content_format::kTextPlain);
        }
      } else if (req.code == codes::kPut) {
        data[path] = req.payload;
        resp = make_response(req, codes::kChanged);
      } else if (req.code == codes::kPost) {
        auto& v = data[path];
        v.insert(v.end(), req.payload.begin(), req.payload.end());
        resp = make_response(req, codes::kCreated);
        resp.options.add(option::kLocationPath, "new");
      } else if (req.code == codes::kDelete) {
        resp = make_response(req, data.erase(path) != 0 ? codes::kDeleted : codes::kNotFound);
      } else {
        resp = make_response(req, codes::kMethodNotAllowed);
      }
      r.respond(std::move(resp), net.now());
    });
  }
  std::map<std::string, Bytes> data;
  int calls = 0;
  Message last;
};

struct Pair {
  explicit Pair(Carrier carrier = Carrier::kDatagram)
      : net(carrier), client(config(carrier), 1), server(config(carrier), 2), store(server, net) {
    net.add(kClient, client);
    net.add(kServer, server);
    if (carrier == Carrier::kStream) net.connect(kClient, kServer);
  }
  static EndpointConfig config(Carrier carrier) {
    EndpointConfig c;
    c.carrier = carrier;
    return c;
  }
  Result<Message> call(Message m) {
    Recorder rec;
    client.endpoint.request(kServer, std::move(m), rec.handler(), net.now());
    net.run_for(Duration{10'000});
    if (rec.size() != 1) return fail("got " + std::to_string(rec.size()) + " responses");
    return std::move(rec.results[0]);
  }
  SimNetwork net;
  Node client;
  Node server;
  Store store;
};

Message request(Code code, std::string_view path, std::string_view payload = {}) {
  Message m = make_request(code, path);
  m.type = Type::kConfirmable;
  m.payload = to_bytes(payload);
  return m;
}

void exercise_methods(Pair& p) {
  auto r = p.call(request(codes::kGet, "/1/0/1"));
  ASSERT_TRUE(r.ok()) << r.error().reason;
  EXPECT_EQ(r->code, codes::kNotFound);

  r = p.call(request(codes::kPut, "/1/0/1", "300"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->code, codes::kChanged);
  EXPECT_EQ(p.store.last.code, codes::kPut);
  EXPECT_EQ(to_string(p.store.last.payload), "300");

  r = p.call(request(codes::kGet, "/1/0/1"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->code, codes::kContent);
  EXPECT_EQ(to_string(r->payload), "300");
  EXPECT_EQ(r->content_format(), content_format::kTextPlain);

  r = p.call(request(codes::kPost, "/1/0/1", "0"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->code, codes::kCreated);
  EXPECT_EQ(r->location_path(), "/new");
  EXPECT_EQ(to_string(p.store.data["/1/0/1"]), "3000");

  r = p.call(request(codes::kDelete, "/1/0/1"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->code, codes::kDeleted);
  r = p.call(request(codes::kDelete, "/1/0/1"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->code, codes::kNotFound);
  EXPECT_EQ(p.store.calls, 6);
  EXPECT_EQ(p.client.endpoint.pending_requests(), 0u);
}

TEST(Endpoint, GetPutPostDeleteOverUdp) {
  Pair p;
  exercise_methods(p);
}

TEST(Endpoint, GetPutPostDeleteOverTcp) {
  Pair p(Carrier::kStream);
  exercise_methods(p);
}

TEST(Endpoint, UnknownCriticalOptionIsRejectedWithBadOption) {
  Pair p;
  for (std::uint16_t number : {std::uint16_t{9}, std::uint16_t{2049}, std::uint16_t{65001}}) {
    SCOPED_TRACE(number);
    Message m = request(codes::kGet, "/x");
    m.options.add(number, Bytes{1});
    auto r = p.call(m);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->code, codes::kBadOption);
  }
  // A known critical option with a length outside its range counts as unrecognised.
  Message bad_accept = request(codes::kGet, "/x");
  bad_accept.options.add(option::kAccept, Bytes{1, 2, 3});
  auto r = p.call(bad_accept);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->code, codes::kBadOption);
  EXPECT_EQ(p.store.calls, 0);
}

// RFC 7252 5.7.2: we proxy for no one (5.05), but a request a forward proxy passed on still
// naming us (Proxy-Scheme, Uri-Host, Uri-Port) is served as ours.
TEST(Endpoint, ProxyRequestsAreServedOnlyWhenTheyNameUs) {
  SimNetwork net;
  EndpointConfig config;
  config.names_self = [](const std::string&, std::uint16_t port) { return port == 5683; };
  Node client(EndpointConfig{}, 1);
  Node server(config, 2);
  Store store(server, net);
  net.add(kClient, client);
  net.add(kServer, server);
  auto call = [&](Message m) {
    Recorder rec;
    client.endpoint.request(kServer, std::move(m), rec.handler(), net.now());
    net.run_for(Duration{10'000});
    return rec.size() == 1 && rec.results[0].ok() ? rec.results[0]->code : Code{};
  };
  auto proxied = [](std::uint16_t port) {
    Message m = request(codes::kGet, "/x");
    m.options.set(option::kProxyScheme, to_bytes("coap"));
    m.options.set(option::kUriHost, to_bytes("10.0.0.2"));
    m.options.set_uint(option::kUriPort, port);
    return m;
  };
  store.data["/x"] = to_bytes("mine");
  EXPECT_EQ(call(proxied(5683)), codes::kContent);
  EXPECT_FALSE(store.last.options.has(option::kProxyScheme));
  EXPECT_EQ(call(proxied(5684)), codes::kProxyingNotSupported);
  Message uri = request(codes::kGet, "/x");
  uri.options.set(option::kProxyUri, to_bytes("coap://10.0.0.2:5683/x"));
  EXPECT_EQ(call(uri), codes::kProxyingNotSupported);
  EXPECT_EQ(store.calls, 1);
}

TEST(Endpoint, UnknownElectiveOptionIsIgnored) {
  Pair p;
  p.store.data["/x"] = to_bytes("v");
  Message m = request(codes::kGet, "/x");
  m.options.add(2048, Bytes{1});
  m.options.add(65000, to_bytes("zz"));
  auto r = p.call(m);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->code, codes::kContent);
  EXPECT_EQ(p.store.calls, 1);
}

TEST(Endpoint, MalformedBlockOptionIsBadOption) {
  Pair p;
  Message m = request(codes::kPut, "/x", "data");
  m.options.add(option::kBlock1, Bytes{0x07});  // SZX 7 is not allowed over UDP
  auto r = p.call(m);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->code, codes::kBadOption);
  EXPECT_EQ(p.store.calls, 0);
}

TEST(Endpoint, NoRequestHandlerMeansNotFound) {
  SimNetwork net;
  Node client({}, 1), server({}, 2);
  net.add(kClient, client);
  net.add(kServer, server);
  Recorder rec;
  client.endpoint.request(kServer, request(codes::kGet, "/x"), rec.handler(), net.now());
  net.settle();
  ASSERT_EQ(rec.size(), 1u);
  EXPECT_EQ(rec.message().code, codes::kNotFound);
}

TEST(Endpoint, TokensAreFreshAndResponsesAreMatchedByToken) {
  Pair p;
  for (int i = 0; i < 20; ++i) p.store.data["/r" + std::to_string(i)] = to_bytes(std::to_string(i));
  std::vector<Recorder> recs(20);
  for (int i = 0; i < 20; ++i) {
    p.client.endpoint.request(kServer, request(codes::kGet, "/r" + std::to_string(i)),
                              recs[static_cast<std::size_t>(i)].handler(), p.net.now());
  }
  p.net.run_for(Duration{60'000});
  for (int i = 0; i < 20; ++i) {
    const auto& rec = recs[static_cast<std::size_t>(i)];
    ASSERT_EQ(rec.size(), 1u);
    EXPECT_EQ(to_string(rec.message().payload), std::to_string(i));
  }
  std::set<Bytes> tokens;
  for (const auto& pkt : p.net.sent(kClient, sim::is_request)) tokens.insert(pkt.message->token);
  EXPECT_EQ(tokens.size(), 20u);
}

TEST(Endpoint, CancelledRequestNeverCallsItsHandler) {
  SimNetwork net;
  Node client({}, 1), server({}, 2);
  net.add(kClient, client);
  net.add(kServer, server);
  std::optional<Responder> later;
  Message held;
  server.endpoint.set_request_handler([&](PeerId, const Message& req, Responder r) {
    held = req;
    later = r;
  });
  Recorder rec;
  RequestId id =
      client.endpoint.request(kServer, request(codes::kGet, "/x"), rec.handler(), net.now());
  net.run_for(Duration{2000});
  client.endpoint.cancel(id, false, net.now());
  EXPECT_EQ(client.endpoint.pending_requests(), 0u);
  ASSERT_TRUE(later.has_value());
  later->respond(make_response(held, codes::kContent), net.now());
  net.run_for(Duration{10'000});
  EXPECT_EQ(rec.size(), 0u);
  // The late separate response matches nothing any more: it is rejected.
  EXPECT_EQ(net.count(kClient, [](const Packet& pkt) { return sim::is_type(pkt, Type::kReset); }),
            1u);
}

TEST(Endpoint, RequestTimeoutAppliesAfterAnEmptyAck) {
  SimNetwork net;
  Node client({}, 1), server({}, 2);
  net.add(kClient, client);
  net.add(kServer, server);
  server.endpoint.set_request_handler([](PeerId, const Message&, Responder) {});  // never answers
  Recorder rec;
  const Instant start = net.now();
  Instant failed{};
  client.endpoint.request(
      kServer, request(codes::kGet, "/x"),
      [&](Result<Message> r) {
        failed = net.now();
        rec.results.push_back(std::move(r));
      },
      net.now(), RequestOptions{std::nullopt, Duration{20'000}});
  net.run_for(Duration{100'000});
  ASSERT_EQ(rec.size(), 1u);
  EXPECT_FALSE(rec.ok());
  EXPECT_EQ(failed - start, Duration{20'000});
  EXPECT_EQ(net.count(kClient, sim::is_request), 1u);
}

TEST(Endpoint, DefaultRequestTimeoutIsExchangeLifetime) {
  SimNetwork net;
  Node client({}, 1), server({}, 2);
  net.add(kClient, client);
  net.add(kServer, server);
  server.endpoint.set_request_handler([](PeerId, const Message&, Responder) {});
  Recorder rec;
  const Instant start = net.now();
  Instant failed{};
  client.endpoint.request(
      kServer, request(codes::kGet, "/x"),
      [&](Result<Message> r) {
        failed = net.now();
        rec.results.push_back(std::move(r));
      },
      net.now());
  net.run_for(Duration{400'000});
  ASSERT_EQ(rec.size(), 1u);
  EXPECT_EQ(failed - start, TransmissionParameters::udp().exchange_lifetime());
}

TEST(Endpoint, RespondingTwiceSendsOneResponse) {
  SimNetwork net;
  Node client({}, 1), server({}, 2);
  net.add(kClient, client);
  net.add(kServer, server);
  server.endpoint.set_request_handler([&](PeerId, const Message& req, Responder r) {
    r.respond(make_response(req, codes::kContent), net.now());
    r.respond(make_response(req, codes::kBadRequest), net.now());
  });
  Recorder rec;
  client.endpoint.request(kServer, request(codes::kGet, "/x"), rec.handler(), net.now());
  net.run_for(Duration{10'000});
  ASSERT_EQ(rec.size(), 1u);
  EXPECT_EQ(rec.message().code, codes::kContent);
  EXPECT_EQ(net.count(kServer), 1u);
}

TEST(Endpoint, HandlersMayStartNewRequests) {
  Pair p;
  p.store.data["/a"] = to_bytes("/b");
  p.store.data["/b"] = to_bytes("done");
  std::string result;
  p.client.endpoint.request(
      kServer, request(codes::kGet, "/a"),
      [&](Result<Message> r) {
        ASSERT_TRUE(r.ok());
        p.client.endpoint.request(
            kServer, request(codes::kGet, to_string(r->payload)),
            [&](Result<Message> r2) { result = to_string(r2->payload); }, p.net.now());
      },
      p.net.now());
  p.net.run_for(Duration{10'000});
  EXPECT_EQ(result, "done");
}

TEST(Endpoint, BothSidesCanBeClientAndServer) {
  SimNetwork net;
  Node a({}, 1), b({}, 2);
  net.add(kClient, a);
  net.add(kServer, b);
  Store sa(a, net), sb(b, net);
  sa.data["/who"] = to_bytes("a");
  sb.data["/who"] = to_bytes("b");
  Recorder ra, rb;
  a.endpoint.request(kServer, request(codes::kGet, "/who"), ra.handler(), net.now());
  b.endpoint.request(kClient, request(codes::kGet, "/who"), rb.handler(), net.now());
  net.run_for(Duration{10'000});
  ASSERT_EQ(ra.size(), 1u);
  ASSERT_EQ(rb.size(), 1u);
  EXPECT_EQ(to_string(ra.message().payload), "b");
  EXPECT_EQ(to_string(rb.message().payload), "a");
}

TEST(Endpoint, ResetOfARequestFailsIt) {
  SimNetwork net;
  Node client({}, 1);
  net.add(kClient, client);
  net.add_raw(kServer);
  Recorder rec;
  client.endpoint.request(kServer, request(codes::kGet, "/x"), rec.handler(), net.now());
  net.settle();
  ASSERT_EQ(net.raw_inbox(kServer).size(), 1u);
  Message rst;
  rst.type = Type::kReset;
  rst.message_id = net.raw_inbox(kServer)[0].message->message_id;
  net.send_raw(kServer, kClient, rst);
  net.settle();
  ASSERT_EQ(rec.size(), 1u);
  EXPECT_FALSE(rec.ok());
  EXPECT_NE(rec.results[0].error().reason.find("reset"), std::string::npos);
}

}  // namespace
}  // namespace tether::coap

// The Kannel carrier against a stand-in smsbox (our HTTP server on 127.0.0.1): messages go
// to send-sms one at a time, in the order they were handed over, so secured packets, whose
// counter must grow (Transport TS 5.4.2.1.3), reach the device in counter order.
#include "transport/sms/kannel_gateway.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "common/bytes.hpp"
#include "support/run_loop.hpp"

namespace tether::transport {
namespace {

using testing::run_until;

// An smsbox that answers only when told: what it was asked, and the answers it holds back.
struct Smsbox {
  explicit Smsbox(EventLoop& loop)
      : server(loop, options(), [this](const http::Request& r, HttpServer::Responder to) {
          targets.push_back(r.target);
          held.push_back(std::move(to));
        }) {
    EXPECT_TRUE(server.start());
  }
  static HttpServerOptions options() {
    HttpServerOptions o;
    o.host = "127.0.0.1";
    o.port = 0;
    return o;
  }
  void accept_next() {
    held.front().respond(http::Response::text(202, "0: Accepted for delivery"));
    held.erase(held.begin());
  }
  HttpServer server;
  std::vector<std::string> targets;
  std::vector<HttpServer::Responder> held;
};

sms::ShortMessage message(const std::string& text) {
  sms::ShortMessage m;
  m.from = "+15559999";
  m.to = "+15550001";
  m.data = to_bytes(text);
  return m;
}

TEST(KannelGateway, SendsOneMessageAtATimeInTheOrderGiven) {
  EventLoop loop;
  Smsbox smsbox(loop);
  KannelOptions options;
  options.sendsms_url =
      "http://user:pass@127.0.0.1:" + std::to_string(smsbox.server.port()) + "/cgi-bin/sendsms";
  KannelGateway gateway(loop, options);
  ASSERT_TRUE(gateway.start());
  for (const char* text : {"first", "second", "third"}) gateway.send(message(text));

  ASSERT_TRUE(run_until(loop, [&] { return smsbox.targets.size() == 1; }));
  // While smsbox has not answered the first, the second waits: on another connection it
  // could overtake it.
  loop.run_once(Duration{200});
  EXPECT_EQ(smsbox.targets.size(), 1u);
  EXPECT_NE(smsbox.targets[0].find("text=first"), std::string::npos) << smsbox.targets[0];
  smsbox.accept_next();
  ASSERT_TRUE(run_until(loop, [&] { return smsbox.targets.size() == 2; }));
  EXPECT_NE(smsbox.targets[1].find("text=second"), std::string::npos) << smsbox.targets[1];
  smsbox.accept_next();
  ASSERT_TRUE(run_until(loop, [&] { return smsbox.targets.size() == 3; }));
  EXPECT_NE(smsbox.targets[2].find("text=third"), std::string::npos) << smsbox.targets[2];
  smsbox.accept_next();
  ASSERT_TRUE(run_until(loop, [&] { return gateway.counters().sent == 3; }));
}

}  // namespace
}  // namespace tether::transport

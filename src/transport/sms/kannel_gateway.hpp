#pragma once
// The server's SMS carrier: a Kannel SMS gateway (smsbox). Mobile-terminated SMS go out
// through smsbox's send-sms HTTP interface (8-bit, coding=1, our own UDH); mobile-originated
// SMS come in through the URL smsbox calls for each one (its sms-service get-url):
//   GET <callback path>?from=%p&to=%P&udh=%u&data=%b
// docs/sms.md has the Kannel configuration that goes with it.
#include <deque>
#include <memory>
#include <string>

#include "transport/event_loop.hpp"
#include "transport/http/http_client.hpp"
#include "transport/http/http_server.hpp"
#include "transport/sms/sms_carrier.hpp"

namespace tether::transport {

struct KannelOptions {
  // smsbox's send-sms URL with its credentials:
  // http://USER:PASSWORD@127.0.0.1:13013/cgi-bin/sendsms
  std::string sendsms_url;
  // Where smsbox delivers what phones send (get-url), and on which path.
  std::string callback_host = "127.0.0.1";
  std::uint16_t callback_port = 0;  // 0: any free port (tests)
  std::string callback_path = "/sms";
  std::string smsc_id;  // optional: the SMSC Kannel routes our SMS through
  // When set, a callback must carry it as token=... (in smsbox's get-url): the callback's
  // address alone does not say the caller is smsbox.
  std::string callback_token;
  Duration send_timeout{30'000};
};

struct KannelUrl {
  std::string origin;  // http://127.0.0.1:13013
  std::string path;    // /cgi-bin/sendsms
  std::string username;
  std::string password;
};
// Splits a send-sms URL; fails for anything but http:// with an IP literal host.
Result<KannelUrl> parse_kannel_url(const std::string& url);

class KannelGateway final : public SmsCarrier {
 public:
  // Throws std::invalid_argument for a URL it cannot use (start-up configuration).
  KannelGateway(EventLoop& loop, KannelOptions options);
  ~KannelGateway() override;

  // Listens for smsbox's calls; fails when the port is taken.
  Result<Ok> start();
  std::uint16_t callback_port() const { return server_->port(); }

  void send(const sms::ShortMessage& m) override;
  void set_receiver(Receiver r) override { receiver_ = std::move(r); }
  void set_reporter(Reporter r) override { reporter_ = std::move(r); }
  const SmsCarrierCounters& counters() const override { return counters_; }
  std::string describe() const override;

 private:
  void on_callback(const http::Request& request, HttpServer::Responder responder);
  void report(const std::string& event, const std::string& detail);
  void send_next();

  // Messages go to smsbox one at a time, in the order they were handed over: secured
  // packets carry a counter that must grow (Transport TS 5.4.2.1.3), and two requests on two
  // connections could reach smsbox, and the device, the other way round.
  struct Waiting {
    http::Request request;
    std::string to;
  };
  static constexpr std::size_t kMaxWaiting = 1000;
  std::deque<Waiting> waiting_;
  bool sending_ = false;

  EventLoop& loop_;
  KannelOptions options_;
  KannelUrl url_;
  HttpClient client_;
  std::unique_ptr<HttpServer> server_;
  Receiver receiver_;
  Reporter reporter_;
  SmsCarrierCounters counters_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace tether::transport

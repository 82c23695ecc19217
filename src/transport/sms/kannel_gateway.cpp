#include "transport/sms/kannel_gateway.hpp"

#include <stdexcept>

#include "common/text.hpp"
#include "http/uri.hpp"
#include "sms/pdu.hpp"

namespace tether::transport {

namespace {
std::string param(std::string_view name, std::string_view value) {
  return std::string(name) + "=" + percent_encode(value);
}
}  // namespace

Result<KannelUrl> parse_kannel_url(const std::string& url) {
  constexpr std::string_view kScheme = "http://";
  if (url.compare(0, kScheme.size(), kScheme) != 0) {
    return fail("the SMS gateway URL must start with http://");
  }
  std::string_view rest = std::string_view(url).substr(kScheme.size());
  const auto slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  KannelUrl out;
  out.path = slash == std::string_view::npos ? "/cgi-bin/sendsms" : std::string(rest.substr(slash));
  if (const auto at = authority.rfind('@'); at != std::string_view::npos) {
    const std::string_view user = authority.substr(0, at);
    const auto colon = user.find(':');
    auto name = percent_decode(user.substr(0, colon));
    auto password = percent_decode(colon == std::string_view::npos ? "" : user.substr(colon + 1));
    if (!name || !password) return fail("the SMS gateway URL's user part is not well encoded");
    out.username = std::move(*name);
    out.password = std::move(*password);
    authority.remove_prefix(at + 1);
  }
  out.origin = "http://" + std::string(authority);
  if (auto origin = parse_origin(out.origin); !origin) return origin.error();
  return out;
}

namespace {
HttpClientOptions client_options(const KannelOptions& o) {
  HttpClientOptions c;
  // One call at a time: a silent smsbox holds the queue only this long per message.
  c.limits.response_timeout = o.send_timeout;
  return c;
}
}  // namespace

KannelGateway::KannelGateway(EventLoop& loop, KannelOptions options)
    : loop_(loop), options_(std::move(options)), client_(loop, client_options(options_)) {
  auto url = parse_kannel_url(options_.sendsms_url);
  if (!url) throw std::invalid_argument("--sms-gateway: " + url.error().reason);
  url_ = std::move(*url);
  HttpServerOptions s;
  s.host = options_.callback_host;
  s.port = options_.callback_port;
  s.limits.max_body_bytes = 4096;
  server_ = std::make_unique<HttpServer>(
      loop_, s, [this](const http::Request& r, HttpServer::Responder done) {
        on_callback(r, std::move(done));
      });
}

KannelGateway::~KannelGateway() {
  *alive_ = false;
  server_->stop();
}

Result<Ok> KannelGateway::start() {
  return server_->start();
}

std::string KannelGateway::describe() const {
  return "kannel " + url_.origin + " callback=" + options_.callback_host + ":" +
         std::to_string(server_->port());
}

void KannelGateway::report(const std::string& event, const std::string& detail) {
  if (reporter_) reporter_(event, detail);
}

void KannelGateway::send(const sms::ShortMessage& m) {
  // smsbox's send-sms: coding=1 is 8-bit data, sent as given; our UDH rides in udh=.
  std::string target = url_.path + "?" + param("username", url_.username) + "&" +
                       param("password", url_.password) + "&" + param("from", m.from) + "&" +
                       param("to", m.to) + "&" + param("text", to_string(m.data)) + "&coding=1";
  if (!m.udh.empty()) target += "&" + param("udh", to_string(m.udh));
  if (m.pid != 0) target += "&pid=" + std::to_string(m.pid);
  if (auto cls = sms::message_class(m.dcs)) target += "&mclass=" + std::to_string(*cls);
  if (!options_.smsc_id.empty()) target += "&" + param("smsc", options_.smsc_id);
  http::Request request;
  request.method = "GET";
  request.target = target;
  if (waiting_.size() >= kMaxWaiting) {
    ++counters_.send_failures;
    report("sms-send-failed", "to " + m.to + ": " + std::to_string(kMaxWaiting) +
                                  " messages already wait for the gateway");
    return;
  }
  waiting_.push_back({std::move(request), m.to});
  send_next();
}

void KannelGateway::send_next() {
  if (sending_ || waiting_.empty()) return;
  sending_ = true;
  Waiting next = std::move(waiting_.front());
  waiting_.pop_front();
  std::weak_ptr<bool> alive = alive_;
  client_.request(url_.origin, std::move(next.request),
                  [this, alive, to = std::move(next.to)](Result<http::Response> r) {
                    const auto live = alive.lock();
                    if (!live || !*live) return;
                    sending_ = false;
                    // 202 "Accepted for delivery" (or 200 "Sent." from older versions).
                    if (r && (r->status == 202 || r->status == 200)) {
                      ++counters_.sent;
                    } else {
                      ++counters_.send_failures;
                      report("sms-send-failed",
                             "to " + to + ": " +
                                 (r ? "gateway answered " + std::to_string(r->status) + " " +
                                          printable(r->body, 80)
                                    : r.error().reason));
                      if (!*live) return;  // the reporter may have ended us
                    }
                    // On a loop turn of its own: a call refused at once answers at once, and
                    // a long queue would otherwise nest one call per waiting message.
                    loop_.schedule(loop_.now(), [this, alive] {
                      if (const auto l = alive.lock(); l && *l) send_next();
                    });
                  });
}

void KannelGateway::on_callback(const http::Request& request, HttpServer::Responder responder) {
  if (request.method != "GET" && request.method != "POST") {
    return responder.respond(http::Response::text(405, ""));
  }
  if (request.path != options_.callback_path) {
    return responder.respond(http::Response::text(404, ""));
  }
  auto params = http::parse_query(request.query);
  sms::ShortMessage m;
  bool have_from = false;
  std::string token;
  bool eight_bit = true;
  if (params) {
    for (auto& p : *params) {
      if (p.name == "token") {
        token = std::move(p.value);
      } else if (p.name == "from") {
        m.from = std::move(p.value);
        have_from = true;
      } else if (p.name == "to") {
        m.to = std::move(p.value);
      } else if (p.name == "udh") {
        m.udh = to_bytes(p.value);
      } else if (p.name == "data") {
        m.data = to_bytes(p.value);
      } else if (p.name == "coding") {
        // Kannel's %c: 0 7-bit text, 1 8-bit data, 2 UCS-2. CoAP comes only as 8-bit data.
        eight_bit = p.value.empty() || p.value == "1";
      }
    }
  }
  if (!options_.callback_token.empty() && !same_secret(token, options_.callback_token)) {
    ++counters_.refused;
    report("sms-callback-refused", "a callback without the gateway's token");
    return responder.respond(http::Response::text(403, ""));
  }
  // Kannel keeps a leading "+" only when the SMSC gave one; an MSISDN is all we take.
  if (!params || !have_from || !eight_bit || !sms::is_msisdn(m.from) ||
      m.udh.size() + m.data.size() > 140 ||
      (!m.udh.empty() && std::size_t{m.udh[0]} + 1 != m.udh.size())) {
    ++counters_.malformed;
    report("sms-malformed", params ? "a callback without a usable sender, not 8-bit data, or "
                                     "over 140 octets"
                                   : params.error().reason);
    // 200 all the same: smsbox would otherwise retry what we can never read.
    return responder.respond(http::Response::text(200, ""));
  }
  ++counters_.received;
  responder.respond(http::Response::text(200, ""));
  if (receiver_) receiver_(std::move(m));
}

}  // namespace tether::transport

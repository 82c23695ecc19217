#include "http/client_connection.hpp"

#include <http_parser.h>

#include <exception>

namespace tether::http {

struct ClientConnection::Parser {
  http_parser p{};
  Response response;
  std::string field;
  std::string value;
  bool in_value = false;
  bool headers_done = false;
  std::size_t header_bytes = 0;
  std::size_t fields = 0;
  ClientLimits limits;
  std::string refusal;  // why a callback stopped the parser
  bool complete = false;
  bool keep_alive = true;

  static Parser& of(http_parser* p) { return *static_cast<Parser*>(p->data); }

  // Nothing may unwind through the C parser.
  template <typename F>
  static int guarded(http_parser* p, F&& f) {
    try {
      return f(of(p));
    } catch (const std::exception&) {
      of(p).refusal = "out of memory";
      return -1;
    }
  }
  int refuse(std::string why) {
    refusal = std::move(why);
    return -1;
  }
  int count(std::size_t n) {
    header_bytes += n;
    return header_bytes > limits.max_header_bytes ? refuse("response header fields too large") : 0;
  }
  void end_field() {
    if (!in_value) return;
    if (!headers_done) response.headers.add(std::move(field), std::move(value));
    field.clear();
    value.clear();
    in_value = false;
  }

  static int on_message_begin(http_parser* p) {
    return guarded(p, [](Parser& self) {
      self.response = Response{};
      self.field.clear();
      self.value.clear();
      self.in_value = false;
      self.headers_done = false;
      self.header_bytes = 0;
      self.fields = 0;
      return 0;
    });
  }
  static int on_status(http_parser* p, const char*, std::size_t n) {
    return guarded(p, [n](Parser& self) { return self.count(n); });
  }
  static int on_header_field(http_parser* p, const char* at, std::size_t n) {
    return guarded(p, [at, n](Parser& self) {
      if (self.in_value || self.fields == 0) {
        self.end_field();
        if (++self.fields > self.limits.max_header_fields) {
          return self.refuse("too many response header fields");
        }
      }
      if (!self.headers_done) self.field.append(at, n);
      return self.count(n + 4);
    });
  }
  static int on_header_value(http_parser* p, const char* at, std::size_t n) {
    return guarded(p, [at, n](Parser& self) {
      self.in_value = true;
      if (!self.headers_done) self.value.append(at, n);
      return self.count(n);
    });
  }
  static int on_headers_complete(http_parser* p) {
    return guarded(p, [p](Parser& self) {
      self.end_field();
      self.headers_done = true;
      if (p->http_major != 1) return self.refuse("not an HTTP/1.x response");
      self.response.status = p->status_code;
      if (self.response.headers.has("content-length") &&
          p->content_length > self.limits.max_body_bytes) {
        return self.refuse("a response body over " + std::to_string(self.limits.max_body_bytes) +
                           " bytes");
      }
      return 0;
    });
  }
  static int on_body(http_parser* p, const char* at, std::size_t n) {
    return guarded(p, [at, n](Parser& self) {
      if (self.response.body.size() + n > self.limits.max_body_bytes) {
        return self.refuse("a response body over " + std::to_string(self.limits.max_body_bytes) +
                           " bytes");
      }
      self.response.body.append(at, n);
      return 0;
    });
  }
  static int on_message_complete(http_parser* p) {
    return guarded(p, [p](Parser& self) {
      self.end_field();
      // RFC 9110 15.2: interim (1xx) responses come before the final one.
      if (self.response.status >= 200) {
        self.complete = true;
        self.keep_alive = http_should_keep_alive(p) != 0;
        http_parser_pause(p, 1);
      }
      return 0;
    });
  }
  static const http_parser_settings& settings() {
    static const http_parser_settings s = [] {
      http_parser_settings out;
      http_parser_settings_init(&out);
      out.on_message_begin = on_message_begin;
      out.on_status = on_status;
      out.on_header_field = on_header_field;
      out.on_header_value = on_header_value;
      out.on_headers_complete = on_headers_complete;
      out.on_body = on_body;
      out.on_message_complete = on_message_complete;
      return out;
    }();
    return s;
  }
};

ClientConnection::ClientConnection(const ClientLimits& limits, std::string host)
    : limits_(limits), host_(std::move(host)), parser_(std::make_unique<Parser>()) {
  parser_->limits = limits_;
}

ClientConnection::~ClientConnection() = default;

Result<Ok> ClientConnection::send(const Request& request, Instant now) {
  if (!ready()) return fail(closed_ ? "the connection is closed" : "a request is in flight");
  http_parser_init(&parser_->p, HTTP_RESPONSE);
  parser_->p.data = parser_.get();
  parser_->complete = false;
  parser_->refusal.clear();
  output_.erase(0, output_sent_);
  output_sent_ = 0;
  output_ += serialize_request(request, host_);
  in_flight_ = true;
  deadline_ = now + limits_.response_timeout;
  return Ok{};
}

void ClientConnection::receive(std::string_view data, Instant now) {
  (void)now;
  if (closed_ || data.empty()) return;
  if (!in_flight_) {
    // Nothing was asked: a server talking out of turn cannot be trusted with the next one.
    closed_ = true;
    return;
  }
  Parser& p = *parser_;
  const std::size_t used = http_parser_execute(&p.p, &Parser::settings(), data.data(), data.size());
  const auto err = HTTP_PARSER_ERRNO(&p.p);
  if (p.complete) {
    // Bytes after the response, before anything else was asked: not reused.
    const bool reuse = p.keep_alive && used >= data.size();
    finish(std::move(p.response));
    if (!reuse) closed_ = true;
    return;
  }
  if (err != HPE_OK) {
    closed_ = true;
    finish(fail(p.refusal.empty() ? std::string("a malformed response: ") + http_errno_name(err)
                                  : p.refusal));
  }
}

void ClientConnection::on_peer_closed(Instant now) {
  (void)now;
  if (in_flight_) {
    Parser& p = *parser_;
    // A body delimited by the close ends now (RFC 9112 6.3, item 8).
    http_parser_execute(&p.p, &Parser::settings(), nullptr, 0);
    if (p.complete) {
      finish(std::move(p.response));
    } else {
      finish(fail("the server closed the connection before answering"));
    }
  }
  closed_ = true;
}

std::optional<Result<Response>> ClientConnection::take_response() {
  auto out = std::move(done_);
  done_.reset();
  return out;
}

void ClientConnection::consumed(std::size_t n) {
  output_sent_ = std::min(output_.size(), output_sent_ + n);
  if (output_sent_ == output_.size()) {
    output_.clear();
    output_sent_ = 0;
  }
}

std::optional<Instant> ClientConnection::next_deadline() const {
  return in_flight_ ? deadline_ : std::nullopt;
}

void ClientConnection::on_timer(Instant now) {
  if (!in_flight_ || !deadline_ || now < *deadline_) return;
  closed_ = true;
  finish(fail("no answer within " + std::to_string(limits_.response_timeout.count()) + " ms"));
}

void ClientConnection::finish(Result<Response> outcome) {
  in_flight_ = false;
  deadline_.reset();
  done_ = std::move(outcome);
}

}  // namespace tether::http

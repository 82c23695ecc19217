#include "http/server_connection.hpp"

#include <http_parser.h>

#include <algorithm>
#include <charconv>
#include <exception>

namespace tether::http {

struct ServerConnection::Parser {
  http_parser p{};
  Request request;
  std::string field;
  std::string value;
  bool in_value = false;
  bool headers_done = false;  // later fields are chunked trailers: counted, not kept
  bool begun = false;         // a request has started (not just CRLFs between requests)
  std::size_t header_bytes = 0;
  std::size_t fields = 0;
  std::size_t max_header_bytes = 0;
  std::size_t max_header_fields = 0;
  std::size_t max_body_bytes = 0;
  // Why a callback stopped the parser: the status to answer with.
  int refusal = 0;
  std::string refusal_reason;
  bool complete = false;
  bool keep_alive = true;
  bool expect_continue = false;

  static Parser& of(http_parser* p) { return *static_cast<Parser*>(p->data); }

  // Nothing may unwind through the C parser: a failure (out of memory) stops it instead.
  template <typename F>
  static int guarded(http_parser* p, F&& f) {
    try {
      return f(of(p));
    } catch (const std::exception&) {
      of(p).refuse(503, "the server cannot take this request now");
      return -1;
    }
  }

  int refuse(int status, std::string why) {
    refusal = status;
    refusal_reason = std::move(why);
    return -1;
  }
  void end_field() {
    if (in_value) {
      if (!headers_done) request.headers.add(std::move(field), std::move(value));
      field.clear();
      value.clear();
      in_value = false;
    }
  }
  // The request line and fields, with their framing (": ", CRLF), against the limits.
  int count(std::size_t n) {
    header_bytes += n;
    if (header_bytes > max_header_bytes) {
      return refuse(431, "the request line and header fields are over " +
                             std::to_string(max_header_bytes) + " bytes");
    }
    return 0;
  }

  static int on_message_begin(http_parser* p) {
    return guarded(p, [](Parser& self) {
      self.request = Request{};
      self.field.clear();
      self.value.clear();
      self.in_value = false;
      self.headers_done = false;
      self.begun = true;
      self.header_bytes = 0;
      self.fields = 0;
      self.complete = false;
      self.expect_continue = false;
      return 0;
    });
  }
  static int on_url(http_parser* p, const char* at, std::size_t n) {
    return guarded(p, [at, n](Parser& self) {
      self.request.target.append(at, n);
      return self.count(n);
    });
  }
  static int on_header_field(http_parser* p, const char* at, std::size_t n) {
    return guarded(p, [at, n](Parser& self) {
      if (self.in_value || self.fields == 0) {
        self.end_field();
        if (++self.fields > self.max_header_fields) {
          return self.refuse(
              431, "more than " + std::to_string(self.max_header_fields) + " header fields");
        }
        if (self.count(4) != 0) return -1;  // ": " and CRLF
      }
      if (!self.headers_done) self.field.append(at, n);
      return self.count(n);
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
      Request& r = self.request;
      if (p->http_major != 1) return self.refuse(505, "only HTTP/1.x is served");
      r.method = http_method_str(static_cast<http_method>(p->method));
      r.version_minor = p->http_minor;
      const std::string_view target = r.target;
      const std::string_view no_fragment = target.substr(0, target.find('#'));
      const auto question = no_fragment.find('?');
      r.path = std::string(no_fragment.substr(0, question));
      if (question != std::string_view::npos) {
        r.query = std::string(no_fragment.substr(question + 1));
      }
      // Refused from the announced length, before a byte of the body is read.
      if (r.headers.has("content-length") && p->content_length > self.max_body_bytes) {
        return self.refuse(413,
                           "the body is over " + std::to_string(self.max_body_bytes) + " bytes");
      }
      if (auto expect = r.headers.get("expect")) {
        std::string lower(*expect);
        std::transform(lower.begin(), lower.end(), lower.begin(),
                       [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
        if (lower != "100-continue") {
          return self.refuse(417, "only Expect: 100-continue is understood");
        }
        // RFC 9110 10.1.1: an HTTP/1.0 client is not told to continue.
        self.expect_continue = p->http_minor >= 1;
      }
      self.keep_alive = http_should_keep_alive(p) != 0;
      return 0;
    });
  }
  static int on_body(http_parser* p, const char* at, std::size_t n) {
    return guarded(p, [at, n](Parser& self) {
      if (self.request.body.size() + n > self.max_body_bytes) {
        return self.refuse(413,
                           "the body is over " + std::to_string(self.max_body_bytes) + " bytes");
      }
      self.request.body.append(at, n);
      return 0;
    });
  }
  static int on_message_complete(http_parser* p) {
    return guarded(p, [p](Parser& self) {
      self.end_field();
      self.complete = true;
      self.keep_alive = http_should_keep_alive(p) != 0;
      // One request at a time: the rest of the input waits for the answer.
      http_parser_pause(p, 1);
      return 0;
    });
  }

  static const http_parser_settings& settings() {
    static const http_parser_settings s = [] {
      http_parser_settings out;
      http_parser_settings_init(&out);
      out.on_message_begin = on_message_begin;
      out.on_url = on_url;
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

ServerConnection::ServerConnection(const ConnectionLimits& limits, Instant now)
    : limits_(limits), parser_(std::make_unique<Parser>()), idle_since_(now), last_progress_(now) {
  http_parser_init(&parser_->p, HTTP_REQUEST);
  parser_->p.data = parser_.get();
  parser_->max_header_bytes = limits_.max_header_bytes;
  parser_->max_header_fields = limits_.max_header_fields;
  parser_->max_body_bytes = limits_.max_body_bytes;
}

ServerConnection::~ServerConnection() = default;

void ServerConnection::receive(std::string_view data, Instant now) {
  if (state_ == State::kDone || state_ == State::kClosing || data.empty()) return;
  input_.append(data);
  parse(now);
}

void ServerConnection::on_peer_closed(Instant now) {
  peer_closed_ = true;
  // A request cut short gets no answer; one being answered still gets its answer.
  if (state_ == State::kReading && !ready_) {
    state_ = output().empty() ? State::kDone : State::kClosing;
    last_progress_ = now;
  }
}

void ServerConnection::parse(Instant now) {
  while (state_ == State::kReading && !ready_ && !input_.empty()) {
    // The peer reads what it asked for before it is read from again.
    if (output_backlogged()) return;
    Parser& p = *parser_;
    const std::size_t used =
        http_parser_execute(&p.p, &Parser::settings(), input_.data(), input_.size());
    input_.erase(0, std::min(used, input_.size()));
    // The request deadline starts with the request, not with CRLFs between requests.
    if (p.begun && !request_started_) request_started_ = now;
    const auto err = HTTP_PARSER_ERRNO(&p.p);
    if (p.expect_continue && err == HPE_OK && !p.complete) {
      // RFC 9110 10.1.1: the client waits for this before it sends the body.
      append_output("HTTP/1.1 100 Continue\r\n\r\n", now);
      p.expect_continue = false;
    }
    if (err == HPE_PAUSED || (err == HPE_OK && p.complete)) {
      http_parser_pause(&p.p, 0);
      p.complete = false;
      p.begun = false;
      p.expect_continue = false;
      keep_alive_ = p.keep_alive && !p.p.upgrade;
      answering_head_ = p.request.method == "HEAD";
      http10_ = p.p.http_minor == 0;
      ready_ = std::move(p.request);
      p.request = Request{};
      state_ = State::kHandling;
      request_started_.reset();
      return;
    }
    if (err != HPE_OK) {
      if (p.refusal != 0) return fail_request(p.refusal, p.refusal_reason, now);
      if (err == HPE_HEADER_OVERFLOW) {
        return fail_request(431, "the header fields are too large", now);
      }
      return fail_request(400, std::string("malformed request: ") + http_errno_description(err),
                          now);
    }
    if (used == 0) return;  // nothing consumed and nothing wrong: wait for more
  }
}

std::optional<Request> ServerConnection::take_request() {
  if (!ready_) return std::nullopt;
  std::optional<Request> out = std::move(ready_);
  ready_.reset();
  ++request_number_;
  return out;
}

void ServerConnection::fail_request(int status, const std::string& why, Instant now) {
  // The rest of the input cannot be framed any more: answer and close.
  Response r = Response::text(status, why + "\n");
  keep_alive_ = false;
  answering_head_ = false;
  linger_ = true;
  input_.clear();
  append_output(serialize_head(r, BodyFraming::kLength, Persistence::kClose), now);
  append_output(r.body, now);
  state_ = State::kClosing;
}

Persistence ServerConnection::persistence() const {
  if (!keep_alive_ || peer_closed_) return Persistence::kClose;
  return http10_ ? Persistence::kKeepAlive : Persistence::kDefault;
}

void ServerConnection::respond(std::uint64_t number, Response response, Instant now) {
  if (!answering(number)) return;
  append_output(serialize_head(response, BodyFraming::kLength, persistence()), now);
  if (!answering_head_ && !bodiless(response.status)) append_output(response.body, now);
  finish_response(now);
}

void ServerConnection::finish_response(Instant now) {
  if (!keep_alive_ || peer_closed_) {
    state_ = State::kClosing;
    return;
  }
  state_ = State::kReading;
  idle_since_ = now;
  parse(now);
}

bool ServerConnection::start_stream(std::uint64_t number, Response head, Instant now) {
  if (!answering(number)) return false;
  // HTTP/1.0 has no chunked coding: the body then ends with the connection.
  chunked_stream_ = !http10_ && !answering_head_;
  if (!chunked_stream_) keep_alive_ = false;
  append_output(
      serialize_head(head, chunked_stream_ ? BodyFraming::kChunked : BodyFraming::kUntilClose,
                     persistence()),
      now);
  state_ = answering_head_ ? State::kClosing : State::kStreaming;
  return true;
}

bool ServerConnection::write_stream(std::uint64_t number, std::string_view data, Instant now) {
  if (!streaming(number)) return false;
  if (data.empty()) return true;
  if (output().size() + data.size() > limits_.max_output_bytes) {
    // A reader this far behind gets nothing more; it may connect again.
    state_ = State::kDone;
    return false;
  }
  if (chunked_stream_) {
    char size[20];
    const auto [end, ec] = std::to_chars(size, size + sizeof(size), data.size(), 16);
    append_output(std::string_view(size, static_cast<std::size_t>(end - size)), now);
    append_output("\r\n", now);
    append_output(data, now);
    append_output("\r\n", now);
  } else {
    append_output(data, now);
  }
  return true;
}

void ServerConnection::end_stream(std::uint64_t number, Instant now) {
  if (!streaming(number)) return;
  if (chunked_stream_) {
    append_output("0\r\n\r\n", now);
    finish_response(now);
  } else {
    state_ = State::kClosing;  // the close ends the body
  }
}

void ServerConnection::append_output(std::string_view bytes, Instant now) {
  if (output().empty()) last_progress_ = now;
  output_.append(bytes);
}

std::string_view ServerConnection::output() const {
  return std::string_view(output_).substr(output_sent_);
}

void ServerConnection::consumed(std::size_t n, Instant now) {
  output_sent_ = std::min(output_.size(), output_sent_ + n);
  if (n > 0) last_progress_ = now;
  if (output_sent_ == output_.size()) {
    output_.clear();
    output_sent_ = 0;
    if (state_ == State::kClosing) state_ = State::kDone;
  } else if (output_sent_ > 64 * 1024 && output_sent_ > output_.size() / 2) {
    output_.erase(0, output_sent_);
    output_sent_ = 0;
  }
  // Requests that waited behind unsent output go on once the peer has read it.
  if (state_ == State::kReading && !ready_ && !input_.empty()) parse(now);
}

bool ServerConnection::wants_input() const {
  switch (state_) {
    case State::kReading:
      return !output_backlogged() && input_.size() < limits_.max_buffered_input;
    case State::kHandling:
    case State::kStreaming:
      return !peer_closed_ && input_.size() < limits_.max_buffered_input;
    case State::kClosing:
    case State::kDone:
      return false;
  }
  return false;
}

bool ServerConnection::finished() const {
  return state_ == State::kDone || (state_ == State::kClosing && output().empty());
}

std::optional<Instant> ServerConnection::next_deadline() const {
  if (state_ == State::kDone) return std::nullopt;
  std::optional<Instant> out;
  auto earliest = [&out](Instant t) { out = out ? std::min(*out, t) : t; };
  if (!output().empty() || state_ == State::kClosing) {
    earliest(last_progress_ + limits_.write_timeout);
  }
  if (state_ == State::kReading && !ready_) {
    earliest(request_started_ ? *request_started_ + limits_.request_timeout
                              : idle_since_ + limits_.idle_timeout);
  }
  return out;
}

void ServerConnection::on_timer(Instant now) {
  if (state_ == State::kDone) return;
  if ((!output().empty() || state_ == State::kClosing) &&
      now >= last_progress_ + limits_.write_timeout) {
    state_ = State::kDone;  // the peer stopped reading
    return;
  }
  if (state_ != State::kReading || ready_) return;
  if (request_started_) {
    if (now >= *request_started_ + limits_.request_timeout) {
      fail_request(408, "the request took too long to arrive", now);
    }
  } else if (now >= idle_since_ + limits_.idle_timeout) {
    state_ = output().empty() ? State::kDone : State::kClosing;
  }
}

}  // namespace tether::http

#include "http/server_connection.hpp"

#include <http_parser.h>

#include <algorithm>
#include <charconv>

namespace tether::http {

struct ServerConnection::Parser {
  http_parser p{};
  Request request;
  std::string field;
  std::string value;
  bool in_value = false;
  std::size_t header_bytes = 0;
  std::size_t max_header_bytes = 0;
  std::size_t max_body_bytes = 0;
  // Why a callback stopped the parser: the status to answer with.
  int refusal = 0;
  std::string refusal_reason;
  bool complete = false;
  bool keep_alive = true;
  bool expect_continue = false;

  static Parser& of(http_parser* p) { return *static_cast<Parser*>(p->data); }

  void end_field() {
    if (in_value) {
      request.headers.add(std::move(field), std::move(value));
      field.clear();
      value.clear();
      in_value = false;
    }
  }
  int count(std::size_t n) {
    // http-parser has its own limit (set below); this one also covers the URL.
    header_bytes += n;
    if (header_bytes > max_header_bytes) {
      refusal = 431;
      refusal_reason = "the request line and header fields are over " +
                       std::to_string(max_header_bytes) + " bytes";
      return -1;
    }
    return 0;
  }

  static int on_message_begin(http_parser* p) {
    Parser& self = of(p);
    self.request = Request{};
    self.field.clear();
    self.value.clear();
    self.in_value = false;
    self.header_bytes = 0;
    self.complete = false;
    self.expect_continue = false;
    return 0;
  }
  static int on_url(http_parser* p, const char* at, std::size_t n) {
    Parser& self = of(p);
    self.request.target.append(at, n);
    return self.count(n);
  }
  static int on_header_field(http_parser* p, const char* at, std::size_t n) {
    Parser& self = of(p);
    self.end_field();
    self.field.append(at, n);
    return self.count(n);
  }
  static int on_header_value(http_parser* p, const char* at, std::size_t n) {
    Parser& self = of(p);
    self.in_value = true;
    self.value.append(at, n);
    return self.count(n);
  }
  static int on_headers_complete(http_parser* p) {
    Parser& self = of(p);
    self.end_field();
    Request& r = self.request;
    r.method = http_method_str(static_cast<http_method>(p->method));
    r.version_minor = p->http_minor;
    const std::string_view target = r.target;
    const auto fragment = target.find('#');
    const std::string_view no_fragment = target.substr(0, fragment);
    const auto question = no_fragment.find('?');
    r.path = std::string(no_fragment.substr(0, question));
    if (question != std::string_view::npos) r.query = std::string(no_fragment.substr(question + 1));
    // Refused from the announced length, before a byte of the body is read.
    if (r.headers.has("content-length") && p->content_length > self.max_body_bytes) {
      self.refusal = 413;
      self.refusal_reason = "the body is over " + std::to_string(self.max_body_bytes) + " bytes";
      return -1;
    }
    if (auto expect = r.headers.get("expect")) {
      std::string lower(*expect);
      std::transform(lower.begin(), lower.end(), lower.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      if (lower != "100-continue") {
        self.refusal = 417;
        self.refusal_reason = "only Expect: 100-continue is understood";
        return -1;
      }
      self.expect_continue = true;
    }
    self.keep_alive = http_should_keep_alive(p) != 0;
    return 0;
  }
  static int on_body(http_parser* p, const char* at, std::size_t n) {
    Parser& self = of(p);
    if (self.request.body.size() + n > self.max_body_bytes) {
      self.refusal = 413;
      self.refusal_reason = "the body is over " + std::to_string(self.max_body_bytes) + " bytes";
      return -1;
    }
    self.request.body.append(at, n);
    return 0;
  }
  static int on_message_complete(http_parser* p) {
    Parser& self = of(p);
    self.complete = true;
    self.keep_alive = http_should_keep_alive(p) != 0;
    // One request at a time: the rest of the input waits for the answer.
    http_parser_pause(p, 1);
    return 0;
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
  parser_->max_body_bytes = limits_.max_body_bytes;
}

ServerConnection::~ServerConnection() = default;

void ServerConnection::receive(std::string_view data, Instant now) {
  if (state_ == State::kDone || state_ == State::kClosing || data.empty()) return;
  if (state_ == State::kReading && !request_started_) request_started_ = now;
  input_.append(data);
  parse(now);
}

void ServerConnection::on_peer_closed(Instant now) {
  peer_closed_ = true;
  // A request cut short gets no answer; one being answered still gets its answer.
  if (state_ == State::kReading) {
    state_ = output().empty() ? State::kDone : State::kClosing;
    last_progress_ = now;
  }
}

void ServerConnection::parse(Instant now) {
  while (state_ == State::kReading && !ready_ && !input_.empty()) {
    Parser& p = *parser_;
    const std::size_t used =
        http_parser_execute(&p.p, &Parser::settings(), input_.data(), input_.size());
    input_.erase(0, std::min(used, input_.size()));
    const auto err = HTTP_PARSER_ERRNO(&p.p);
    if (p.expect_continue && err == HPE_OK && !p.complete) {
      // RFC 9110 10.1.1: the client waits for this before it sends the body.
      append_output("HTTP/1.1 100 Continue\r\n\r\n", now);
      p.expect_continue = false;
    }
    if (err == HPE_PAUSED || (err == HPE_OK && p.complete)) {
      http_parser_pause(&p.p, 0);
      p.complete = false;
      p.expect_continue = false;
      keep_alive_ = p.keep_alive && !p.p.upgrade;
      answering_head_ = p.request.method == "HEAD";
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
  }
}

std::optional<Request> ServerConnection::take_request() {
  std::optional<Request> out = std::move(ready_);
  ready_.reset();
  return out;
}

void ServerConnection::fail_request(int status, const std::string& why, Instant now) {
  // The rest of the input cannot be framed any more: answer and close.
  Response r = Response::text(status, why + "\n");
  keep_alive_ = false;
  answering_head_ = false;
  input_.clear();
  append_output(serialize_head(r, false, true), now);
  append_output(r.body, now);
  state_ = State::kClosing;
}

void ServerConnection::respond(Response response, Instant now) {
  if (state_ != State::kHandling) return;
  const bool close = !keep_alive_ || peer_closed_;
  append_output(serialize_head(response, false, close), now);
  if (!answering_head_) append_output(response.body, now);
  finish_response(now);
}

void ServerConnection::finish_response(Instant now) {
  if (!keep_alive_ || peer_closed_) {
    state_ = State::kClosing;
    return;
  }
  state_ = State::kReading;
  idle_since_ = now;
  if (!input_.empty()) request_started_ = now;
  parse(now);
}

void ServerConnection::start_stream(Response head, Instant now) {
  if (state_ != State::kHandling) return;
  // HTTP/1.0 has no chunked coding: the body then ends with the connection.
  chunked_stream_ = parser_->p.http_major == 1 && parser_->p.http_minor >= 1 && !answering_head_;
  if (!chunked_stream_) keep_alive_ = false;
  append_output(serialize_head(head, chunked_stream_, !keep_alive_), now);
  state_ = answering_head_ ? State::kClosing : State::kStreaming;
}

bool ServerConnection::write_stream(std::string_view data, Instant now) {
  if (state_ != State::kStreaming) return false;
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

void ServerConnection::end_stream(Instant now) {
  if (state_ != State::kStreaming) return;
  if (chunked_stream_) append_output("0\r\n\r\n", now);
  finish_response(now);
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
}

bool ServerConnection::wants_input() const {
  switch (state_) {
    case State::kReading:
      return true;
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
  if (state_ == State::kReading) {
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
  if (state_ != State::kReading) return;
  if (request_started_) {
    if (now >= *request_started_ + limits_.request_timeout) {
      fail_request(408, "the request took too long to arrive", now);
    }
  } else if (now >= idle_since_ + limits_.idle_timeout) {
    state_ = output().empty() ? State::kDone : State::kClosing;
  }
}

}  // namespace tether::http

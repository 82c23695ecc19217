#pragma once
// One HTTP/1.1 connection on the client side, sans-I/O: a request in, bytes out; bytes in, a
// response out; time in, a deadline out. The socket (and TLS) adapter only moves bytes, so
// every limit holds whatever the server sends, and tests drive it on virtual time. Parsing
// is http-parser's, as on the server side.
//
// One request at a time (no pipelining): a caller with more requests opens more
// connections or waits for ready(). A response that asks to close, a protocol error, the
// peer closing or a timeout end the connection (closed()), and the transport closes it.
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.hpp"
#include "common/time.hpp"
#include "http/message.hpp"

namespace tether::http {

struct ClientLimits {
  std::size_t max_header_bytes = 16 * 1024;  // the status line and header fields
  std::size_t max_header_fields = 100;
  std::size_t max_body_bytes = 4 * 1024 * 1024;
  // From the request's first byte to the response's last.
  Duration response_timeout{30'000};
};

class ClientConnection {
 public:
  // `host` is what the Host field says ("192.0.2.7:8443").
  ClientConnection(const ClientLimits& limits, std::string host);
  ~ClientConnection();
  ClientConnection(const ClientConnection&) = delete;
  ClientConnection& operator=(const ClientConnection&) = delete;

  // Open, and no request in flight.
  bool ready() const { return !closed_ && !in_flight_; }
  // Fails unless ready().
  Result<Ok> send(const Request& request, Instant now);

  // Bytes from the server; afterwards take_response() may hold the answer.
  void receive(std::string_view data, Instant now);
  // The server will send nothing more: a body that runs to the close ends here; a response
  // cut short fails.
  void on_peer_closed(Instant now);
  // The answer to the request in flight (or why there is none), once.
  std::optional<Result<Response>> take_response();

  std::string_view output() const { return std::string_view(output_).substr(output_sent_); }
  void consumed(std::size_t n);

  std::optional<Instant> next_deadline() const;
  void on_timer(Instant now);
  // No further request can use this connection.
  bool closed() const { return closed_; }

 private:
  struct Parser;
  void finish(Result<Response> outcome);

  ClientLimits limits_;
  std::string host_;
  std::unique_ptr<Parser> parser_;
  std::string output_;
  std::size_t output_sent_ = 0;
  bool in_flight_ = false;
  bool closed_ = false;
  std::optional<Instant> deadline_;
  std::optional<Result<Response>> done_;
};

}  // namespace tether::http

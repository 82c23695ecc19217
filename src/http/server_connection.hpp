#pragma once
// One HTTP/1.1 connection on the server side, sans-I/O: bytes and time in, requests out;
// responses in, bytes and a deadline out. The socket adapter (transport/http) only moves
// bytes, so every limit here holds whatever the peer does, and tests drive it on virtual
// time. Parsing is the http-parser library's (Debian's libhttp-parser); framing, limits,
// keep-alive and deadlines are ours.
//
// One request is answered at a time: bytes that follow it (pipelining) wait, up to a bound,
// until the answer is out, and no further request is read while much output is unsent.
// Each request handed out has a number; an answer for another number is ignored, so a
// late answer can never be taken for the next request's.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/time.hpp"
#include "http/message.hpp"

namespace tether::http {

struct ConnectionLimits {
  std::size_t max_header_bytes = 8 * 1024;       // request line and header fields (431 beyond)
  std::size_t max_header_fields = 100;           // 431 beyond
  std::size_t max_body_bytes = 4 * 1024 * 1024;  // 413 beyond, from Content-Length if given
  // From the first byte of a request to its last: a slow sender cannot hold a connection
  // longer (408).
  Duration request_timeout{10'000};
  // Keep-alive: how long a connection may wait for its next request.
  Duration idle_timeout{15'000};
  // Output that makes no progress this long (a peer that stopped reading): closed.
  Duration write_timeout{30'000};
  // Unsent output beyond this (an event stream nobody reads): closed.
  std::size_t max_output_bytes = 8 * 1024 * 1024;
  // Input read ahead while a request is being answered; beyond it, reading pauses. Reading
  // also pauses while this much output is unsent, so pipelined requests cannot pile up
  // answers nobody reads.
  std::size_t max_buffered_input = 64 * 1024;
};

class ServerConnection {
 public:
  ServerConnection(const ConnectionLimits& limits, Instant now);
  ~ServerConnection();
  ServerConnection(const ServerConnection&) = delete;
  ServerConnection& operator=(const ServerConnection&) = delete;

  // Bytes from the peer; afterwards take_request() may hold a request, output() may not
  // be empty (an error answer, 100 Continue).
  void receive(std::string_view data, Instant now);
  // The peer will send nothing more.
  void on_peer_closed(Instant now);
  // The next complete request, once; nothing while one is being answered.
  std::optional<Request> take_request();
  bool has_request() const { return ready_.has_value(); }
  // The number of the request taken last (what respond() and the stream calls name).
  std::uint64_t current_request() const { return request_number_; }

  // Answers request `number` (ignored unless it is the one being answered).
  void respond(std::uint64_t number, Response response, Instant now);
  // Answers it with a body sent in pieces of unknown total length (chunked, or up to the
  // close for an HTTP/1.0 peer): event streams. False when `number` is not being answered.
  bool start_stream(std::uint64_t number, Response head, Instant now);
  // False when the stream is gone: the connection ended, or the peer reads too slowly
  // (more than max_output_bytes unsent), which ends it.
  bool write_stream(std::uint64_t number, std::string_view data, Instant now);
  void end_stream(std::uint64_t number, Instant now);
  bool streaming(std::uint64_t number) const {
    return state_ == State::kStreaming && number == request_number_;
  }

  // What to send; consumed(n) once n bytes of it are written.
  std::string_view output() const;
  void consumed(std::size_t n, Instant now);
  // Whether reading should go on (false while enough input waits behind a request, or
  // enough output waits for the peer).
  bool wants_input() const;
  // Whether the transport should close the socket now (output is flushed first when it
  // can be, and given up on after write_timeout).
  bool finished() const;
  // After an error answer the peer may still be sending (a refused body): the transport
  // should stop sending, read and drop for a moment, then close, so the answer is not lost
  // to a reset.
  bool linger() const { return linger_; }

  std::optional<Instant> next_deadline() const;
  void on_timer(Instant now);

 private:
  enum class State { kReading, kHandling, kStreaming, kClosing, kDone };
  struct Parser;
  friend struct Parser;

  void parse(Instant now);
  void fail_request(int status, const std::string& why, Instant now);
  void finish_response(Instant now);
  void append_output(std::string_view bytes, Instant now);
  bool answering(std::uint64_t number) const {
    return state_ == State::kHandling && number == request_number_;
  }
  Persistence persistence() const;
  bool output_backlogged() const { return output().size() > limits_.max_buffered_input; }

  ConnectionLimits limits_;
  std::unique_ptr<Parser> parser_;
  State state_ = State::kReading;
  std::string input_;             // received, not yet parsed
  std::optional<Request> ready_;  // parsed, not yet taken
  std::uint64_t request_number_ = 0;
  bool answering_head_ = false;  // the request being answered is a HEAD
  bool keep_alive_ = true;
  bool http10_ = false;  // the request being answered is HTTP/1.0
  bool chunked_stream_ = false;
  bool peer_closed_ = false;
  bool linger_ = false;
  std::string output_;
  std::size_t output_sent_ = 0;
  Instant idle_since_;                      // when the connection last had nothing to do
  std::optional<Instant> request_started_;  // when the current request's first byte came
  Instant last_progress_;                   // output last written
};

}  // namespace tether::http

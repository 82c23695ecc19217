#pragma once
// The edge of an HTTP/1.1 server: a listening socket on the event loop, non-blocking
// connections, and the loop's timers, around one sans-I/O http::ServerConnection per
// connection. Handlers run on the loop thread, like the CoAP transports' handlers, and
// answer at once or later through a Responder (a device's answer can take seconds), so a
// slow peer costs a connection slot, never a thread.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>

#include "common/result.hpp"
#include "http/server_connection.hpp"
#include "tls/session.hpp"
#include "transport/event_loop.hpp"

namespace tether::transport {

struct HttpServerOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8080;  // 0: any free port (tests)
  http::ConnectionLimits limits;
  // Connections beyond this are answered 503 and closed at once.
  std::size_t max_connections = 1024;
  // HTTPS: each connection runs a TLS server session of this backend (its server
  // credentials; owned by the caller, outliving the server). Null: plain HTTP.
  tls::Backend* tls = nullptr;
};

// Who is on the other end of a request's connection.
struct HttpPeer {
  std::string address;         // "192.0.2.7:51234", "[::1]:40000"
  bool secure = false;         // over TLS
  tls::PeerIdentity identity;  // what the TLS client proved (kind kNone: nothing)
};

struct HttpServerMetrics {
  std::uint64_t accepted = 0;
  std::uint64_t refused_busy = 0;  // over max_connections
  std::uint64_t requests = 0;
  std::uint64_t handler_errors = 0;  // a handler threw; answered 500
};

class HttpServer {
  struct Connection;

 public:
  class Stream {
   public:
    Stream() = default;
    // False once the stream is gone (the peer left, or fell too far behind and was cut).
    bool write(std::string_view data) const;
    void end() const;
    bool alive() const;

   private:
    friend class HttpServer;
    Stream(std::weak_ptr<Connection> c, std::uint64_t request)
        : connection_(std::move(c)), request_(request) {}
    std::weak_ptr<Connection> connection_;
    std::uint64_t request_ = 0;
  };

  // Answers one request, now or later, once. A Responder outliving its connection, or
  // its request (already answered), does nothing. Called outside the loop's own callbacks
  // (from an engine's), it writes at once, and the connection's next request waits for
  // the loop: no handler runs inside another's call.
  class Responder {
   public:
    void respond(http::Response response) const;
    // Starts a body of unknown length (an event stream); write to it through the Stream.
    Stream stream(http::Response head) const;
    bool connected() const { return sink_ ? *sink_ != nullptr : !connection_.expired(); }
    // The connection's peer (an empty address once it is gone).
    HttpPeer peer() const;
    // A responder with no connection: the answer goes to `sink`, once. For a request
    // another server node handed over (api/node_routing); it cannot start a stream.
    static Responder to(std::function<void(http::Response)> sink);

   private:
    friend class HttpServer;
    using Sink = std::function<void(http::Response)>;
    Responder(std::weak_ptr<Connection> c, std::uint64_t request)
        : connection_(std::move(c)), request_(request) {}
    std::weak_ptr<Connection> connection_;
    std::uint64_t request_ = 0;
    std::shared_ptr<Sink> sink_;  // shared by copies, emptied by the first answer
  };
  using Handler = std::function<void(const http::Request&, Responder)>;
  // Where problems go that no peer hears about (a handler that threw).
  using ErrorSink = std::function<void(const std::string&)>;

  HttpServer(EventLoop& loop, HttpServerOptions options, Handler handler);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and listens; fails (with the reason) when the address is taken: the port is never
  // shared with another process (no SO_REUSEPORT).
  Result<Ok> start();
  // Closes the listener and every connection.
  void stop();
  std::uint16_t port() const { return port_; }
  std::size_t connection_count() const { return connections_.size(); }
  const HttpServerMetrics& metrics() const { return metrics_; }
  void set_error_sink(ErrorSink sink) { on_error_ = std::move(sink); }

 private:
  void on_accept();
  void on_io(const std::shared_ptr<Connection>& c, std::uint32_t events);
  void read_from(Connection& c);
  void write_to(Connection& c);
  // Moves bytes, hands out complete requests (when `may_dispatch`), re-arms events and the
  // timer, closes. Without `may_dispatch`, a ready request is left for a loop turn.
  void pump(const std::shared_ptr<Connection>& c, bool may_dispatch = true);
  void pump_once(const std::shared_ptr<Connection>& c, bool may_dispatch);
  void dispatch(const std::shared_ptr<Connection>& c, http::Request request);
  void rearm(const std::shared_ptr<Connection>& c);
  // After an error answer: stop sending, drop what the peer still sends for a moment, then
  // close (a close with unread input would reset the answer away).
  void start_draining(const std::shared_ptr<Connection>& c);
  void drain(Connection& c);
  void close(Connection& c);

  EventLoop& loop_;
  HttpServerOptions options_;
  Handler handler_;
  ErrorSink on_error_;
  int listen_fd_ = -1;
  EventLoop::TimerId resume_accepting_ = 0;  // set while accepting pauses (out of descriptors)
  std::uint16_t port_ = 0;
  std::uint64_t next_id_ = 1;
  std::unordered_map<std::uint64_t, std::shared_ptr<Connection>> connections_;
  HttpServerMetrics metrics_;
};

}  // namespace tether::transport

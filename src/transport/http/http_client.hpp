#pragma once
// The edge of an HTTP/1.1 client: non-blocking connections on the event loop, TLS through a
// SecureStream (https origins), and one sans-I/O http::ClientConnection per connection. The
// HTTP binding's two directions use it (the LwM2M client towards /rd, the server towards a
// device's own HTTP server). Callbacks run on the loop thread; nothing blocks.
//
// Per origin: up to max_connections_per_origin connections, kept alive between requests
// (closed after idle_timeout unused), and a bounded queue behind them. A request that fails
// on a reused connection before any answer (the server closed it while idle) is sent once
// more on a new one.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "common/result.hpp"
#include "http/client_connection.hpp"
#include "tls/credentials.hpp"
#include "tls/session.hpp"
#include "transport/event_loop.hpp"

namespace tether::transport {

struct HttpClientOptions {
  http::ClientLimits limits;
  Duration connect_timeout{10'000};  // TCP connect and TLS handshake
  // Below the 15 s our own HTTP server keeps an idle connection.
  Duration idle_timeout{10'000};
  std::size_t max_connections_per_origin = 4;
  std::size_t max_queued_per_origin = 256;
  // https origins: client sessions of this backend (owned by the caller, outliving us).
  tls::Backend* tls = nullptr;
};

// "https://192.0.2.7:8443" -> its parts. Hosts are IP literals or "localhost": a DNS name
// would block the loop while it resolves.
struct HttpOrigin {
  bool tls = false;
  std::string host;  // without brackets
  std::uint16_t port = 0;
  std::string authority;  // for Host: "192.0.2.7:8443", "[::1]:80"
};
Result<HttpOrigin> parse_origin(std::string_view origin);

class HttpClient {
 public:
  using Done = std::function<void(Result<http::Response>)>;

  HttpClient(EventLoop& loop, HttpClientOptions options);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Sends `request` (origin-form target) to `origin`; `done` runs once, on the loop, with
  // the response or why there is none. For https, `credentials` says how to check the
  // server (and what we show it); by default any certificate that chains to the system's
  // trust store and names the host.
  void request(const std::string& origin, http::Request request, Done done,
               const tls::ClientCredentials* credentials = nullptr);

  std::size_t connection_count() const;
  // Ends every connection; pending requests fail.
  void close_all();

 private:
  struct Connection;
  struct Pending;
  struct Origin;

  void start(Origin& origin, const std::shared_ptr<Connection>& c);
  void assign(const std::shared_ptr<Origin>& origin);
  void on_io(const std::shared_ptr<Connection>& c, std::uint32_t events);
  void pump(const std::shared_ptr<Connection>& c);
  void rearm(const std::shared_ptr<Connection>& c);
  void fail_connection(const std::shared_ptr<Connection>& c, const std::string& why);
  void close(const std::shared_ptr<Connection>& c);

  EventLoop& loop_;
  HttpClientOptions options_;
  // Shared with their connections: a callback that forgets an origin (the sweep in
  // request()) cannot pull it from under a connection still being handled.
  std::map<std::string, std::shared_ptr<Origin>> origins_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace tether::transport

#pragma once
// Our SCEF for tests and demos (`tether scef`, Transport TS Appendix D.3), sans-I/O: the T8
// NIDD API (nidd/t8) on one side, UEs on the other. It keeps what a real network imposes
// on an SCS/AS:
// - a UE in power saving mode is unreachable. After it sends it stays connected until the
//   network releases it, then idle but reachable (paged) for its active time (T3324), then
//   asleep until its next periodic TAU (T3412), which wakes it for T3324 again. The release
//   assistance indication (D.4) says when the release comes: "no further data" at once,
//   "one downlink" after the next downlink, none after `connected_inactivity`;
// - mobile-terminated data for a reachable UE goes at once (200, SUCCESS); otherwise it is
//   buffered (201, BUFFERING_TEMPORARILY_NOT_REACHABLE; "extended buffering", D.6) and
//   delivered when the UE is next reachable, each delivery reported by a
//   NiddDownlinkDataDeliveryStatusNotification; what waits past its maximum latency is
//   reported FAILURE_TIMEOUT and dropped;
// - mobile-originated data goes to the configuration's notificationDestination as a
//   NiddUplinkDataNotification;
// - packets over the maximum packet size, unknown UEs and malformed requests are refused
//   with the T8 status codes (400, 404, 413).
// The app puts the HTTP server and client around it and a modem emulator per UE.
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>

#include "common/time.hpp"
#include "nidd/t8.hpp"

namespace tether::nidd {

struct ScefConfig {
  std::string base_url = "http://127.0.0.1:8090";  // for the self links we hand out
  std::size_t max_packet = kMaxPacket;
  std::size_t max_buffered = 32;        // MT packets waiting per UE
  Duration default_latency{3'600'000};  // how long MT data waits without maximumLatency
  Duration periodic_tau{3'600'000};     // T3412 unless the UE's modem set one
  Duration active_time{60'000};         // T3324 likewise
  // How long the network keeps a UE connected after its last packet when its release
  // assistance indication did not say (the MME's inactivity timer).
  Duration connected_inactivity{10'000};
};

struct HttpAnswer {
  int status = 200;
  std::string body;      // JSON
  std::string location;  // 201: the new resource
};

struct Callback {
  std::string url;
  std::string json;
};

struct ScefCounters {
  std::uint64_t uplinks = 0;
  std::uint64_t delivered = 0;
  std::uint64_t buffered = 0;
  std::uint64_t expired = 0;
  std::uint64_t refused = 0;  // requests answered 4xx
  std::uint64_t unknown_ue = 0;
};

class Scef {
 public:
  explicit Scef(ScefConfig config) : config_(std::move(config)) {}

  // A UE the network knows; reachable from `now` for its active time (it just attached).
  void add_ue(const UeId& ue, Instant now);
  // Its modem's AT+CPSMS timers (else the config's).
  void set_psm(const UeId& ue, Duration periodic_tau, Duration active_time);

  // The T8 API: `path` below the API root, e.g. "/3gpp-nidd/v1/as1/configurations".
  HttpAnswer handle(const std::string& method, const std::string& path, ByteView body, Instant now);
  // A packet a UE sent (AT+CSODCP) with its release assistance indication (0-2).
  void on_uplink(const UeId& ue, Bytes data, unsigned rai, Instant now);
  void on_timer(Instant now);

  std::optional<std::pair<UeId, Bytes>> poll_downlink();
  std::optional<Callback> poll_callback();
  std::optional<Instant> next_deadline() const;
  bool reachable(const UeId& ue, Instant now) const;
  std::size_t buffered(const UeId& ue) const;
  const ScefCounters& counters() const { return counters_; }

 private:
  struct Waiting {
    std::string id;    // the delivery's id
    std::string link;  // its URL, as the SCS/AS was told
    Bytes data;
    Instant expires{};
  };
  struct Ue {
    UeId id;
    std::string configuration;  // its configuration's id ("" without one)
    Duration periodic_tau{};
    Duration active_time{};
    Instant reachable_until{};
    Instant next_tau{};
    bool release_after_downlink = false;
    std::deque<Waiting> buffer;
  };
  struct Config {
    std::string scs_as;
    std::string ue_key;
    std::string destination;
  };

  HttpAnswer refuse(int status, const std::string& detail);
  HttpAnswer create_configuration(const std::string& scs_as, ByteView body);
  HttpAnswer deliver(const std::string& config_id, ByteView body, Instant now);
  void send_downlink(Ue& ue, Bytes data, Instant now);
  void flush_buffer(Ue& ue, Instant now);
  std::string link(const Config& c, const std::string& config_id) const;
  void status_callback(const Ue& ue, const Waiting& w, const std::string& status);

  ScefConfig config_;
  std::map<std::string, Ue> ues_;          // by UeId::key()
  std::map<std::string, Config> configs_;  // by configuration id
  std::uint64_t next_id_ = 1;
  std::deque<std::pair<UeId, Bytes>> downlinks_;
  std::deque<Callback> callbacks_;
  ScefCounters counters_;
};

}  // namespace tether::nidd

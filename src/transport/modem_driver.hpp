#pragma once
// A sans-I/O AT modem dialogue (lorawan::AtModem, nidd::NiddModem) on a serial device and
// the event loop: bytes read go in, what it writes goes out, its deadline becomes a loop
// timer, and its events are counted and handed to the owner on the loop. A device that goes
// away is opened again by the SerialLine, and the dialogue starts over. The LoRaWAN and
// NIDD modem carriers each own one; what a packet sent, failed or received means is theirs,
// the rest (start-up, malformed lines, restarts) become problem reports here.
#include <functional>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "transport/event_loop.hpp"
#include "transport/serial_line.hpp"

namespace tether::transport {

template <class Modem>
class ModemDriver {
 public:
  using Event = std::decay_t<decltype(*std::declval<Modem&>().poll_event())>;
  using Kind = typename Event::Kind;
  // Sent, failed and received packets.
  using EventHandler = std::function<void(Event& e)>;
  using Problem = std::function<void(const std::string& event, const std::string& detail)>;

  // `name` prefixes counters and events ("lorawan": lorawan_modem_sent,
  // lorawan-uplink-failed). Throws std::runtime_error when the device cannot be opened
  // (start-up configuration).
  ModemDriver(EventLoop& loop, std::string device, std::string name, Modem& modem,
              EventHandler on_event, Problem problem)
      : loop_(loop),
        name_(std::move(name)),
        modem_(modem),
        on_event_(std::move(on_event)),
        problem_(std::move(problem)),
        line_(loop, std::move(device),
              SerialLine::Handlers{[this] {
                                     (void)modem_.take_output();
                                     modem_.start(loop_.now());
                                     pump();
                                   },
                                   [this](ByteView bytes) { modem_.receive(bytes, loop_.now()); },
                                   [this] { pump(); },
                                   [this](const std::string& why) {
                                     disarm();
                                     problem_("modem-lost", why);
                                   }}) {}
  ~ModemDriver() {
    *alive_ = false;
    disarm();
  }
  ModemDriver(const ModemDriver&) = delete;
  ModemDriver& operator=(const ModemDriver&) = delete;

  // After the owner handed the modem something to send: its command goes out now, its
  // events come on a loop turn of their own (never from within the owner's send()).
  void sent() {
    line_.write(modem_.take_output());
    if (timer_ == 0) later([this] { pump(); });
  }
  // A packet the modem would not take: counted, reported, and `report` told of its handle
  // on a loop turn of its own; returns that handle.
  std::uint64_t refuse(const std::string& why, std::function<void(std::uint64_t)> report) {
    ++failed_;
    problem_(name_ + "-uplink-refused", why);
    const std::uint64_t h = refused_handle_++;
    later([h, report = std::move(report)] { report(h); });
    return h;
  }
  std::vector<std::pair<std::string, std::uint64_t>> counters() const {
    const std::string p = name_ + "_modem_";
    return {{p + "sent", sent_},
            {p + "failed", failed_},
            {p + "received", received_},
            {p + "malformed", malformed_},
            {p + "restarts", restarts_}};
  }
  // Runs `f` on a loop turn of its own, unless we are gone by then.
  void later(std::function<void()> f) {
    loop_.post([alive = alive_, f = std::move(f)] {
      if (*alive) f();
    });
  }
  const std::string& device() const { return line_.device(); }

 private:
  void disarm() {
    if (timer_ != 0) loop_.cancel(timer_);
    timer_ = 0;
  }
  void dispatch(Event& e) {
    switch (e.kind) {
      case Kind::kReady:
        return problem_("modem-ready", e.detail);
      case Kind::kMalformed:
        ++malformed_;
        return problem_("modem-malformed", e.detail);
      case Kind::kRestarting:
        ++restarts_;
        return problem_("modem-restarting", e.detail);
      case Kind::kSent:
        ++sent_;
        break;
      case Kind::kFailed:
        ++failed_;
        problem_(name_ + "-uplink-failed", e.detail);
        break;
      case Kind::kReceived:
        ++received_;
        break;
    }
    on_event_(e);
  }
  void pump() {
    const auto alive = alive_;  // a handler may destroy us: the flag outlives this
    line_.write(modem_.take_output());
    while (auto e = modem_.poll_event()) {
      dispatch(*e);
      if (!*alive) return;
      line_.write(modem_.take_output());
    }
    disarm();
    if (!line_.is_open()) return;
    if (auto next = modem_.next_deadline()) {
      timer_ = loop_.schedule(*next, [this] {
        timer_ = 0;
        modem_.on_timer(loop_.now());
        pump();
      });
    }
  }

  EventLoop& loop_;
  std::string name_;
  Modem& modem_;
  EventHandler on_event_;
  Problem problem_;
  EventLoop::TimerId timer_ = 0;
  std::uint64_t refused_handle_ = std::uint64_t{1} << 63;  // apart from the modem's own
  std::uint64_t sent_ = 0;
  std::uint64_t failed_ = 0;
  std::uint64_t received_ = 0;
  std::uint64_t malformed_ = 0;
  std::uint64_t restarts_ = 0;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  SerialLine line_;  // last: it starts the dialogue as it opens
};

}  // namespace tether::transport

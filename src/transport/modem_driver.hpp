#pragma once
// A sans-I/O AT modem dialogue (lorawan::AtModem, nidd::NiddModem) on a serial device and
// the event loop: bytes read go in, what it writes goes out, its deadline becomes a loop
// timer, and each event it reports is handed to the owner on the loop. A device that goes
// away is opened again by the SerialLine, and the dialogue starts over. The LoRaWAN and
// NIDD modem carriers each own one; what an event means is theirs.
#include <functional>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>

#include "transport/event_loop.hpp"
#include "transport/serial_line.hpp"

namespace tether::transport {

template <class Modem>
class ModemDriver {
 public:
  using Event = std::decay_t<decltype(*std::declval<Modem&>().poll_event())>;
  using EventHandler = std::function<void(Event& e)>;
  using LostHandler = std::function<void(const std::string& why)>;

  // Throws std::runtime_error when the device cannot be opened (start-up configuration).
  ModemDriver(EventLoop& loop, std::string device, Modem& modem, EventHandler on_event,
              LostHandler on_lost)
      : loop_(loop),
        modem_(modem),
        on_event_(std::move(on_event)),
        on_lost_(std::move(on_lost)),
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
                                     if (on_lost_) on_lost_(why);
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
  void pump() {
    const auto alive = alive_;  // a handler may destroy us: the flag outlives this
    line_.write(modem_.take_output());
    while (auto e = modem_.poll_event()) {
      on_event_(*e);
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
  Modem& modem_;
  EventHandler on_event_;
  LostHandler on_lost_;
  EventLoop::TimerId timer_ = 0;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  SerialLine line_;  // last: it starts the dialogue as it opens
};

}  // namespace tether::transport

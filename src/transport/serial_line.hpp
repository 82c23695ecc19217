#pragma once
// A modem's serial device (a USB modem's AT port, or a pseudo-terminal in tests) on our
// event loop: raw at 115200 baud, bytes read handed up, bytes written as the device takes
// them. A device that goes away (unplugged, hung up) is closed and opened again every 5 s;
// the owner is told both, so its AT dialogue can start over. Shared by the SMS modem and
// the LoRaWAN modem carriers.
#include <functional>
#include <string>

#include "common/bytes.hpp"
#include "transport/event_loop.hpp"

namespace tether::transport {

class SerialLine {
 public:
  struct Handlers {
    std::function<void()> opened;        // (again): start the dialogue
    std::function<void(ByteView)> read;  // bytes from the device
    std::function<void()> read_done;     // after a burst of reads
    std::function<void(const std::string&)> lost;
  };
  // Opens the device; throws std::runtime_error when it cannot (start-up configuration).
  SerialLine(EventLoop& loop, std::string device, Handlers handlers);
  ~SerialLine();
  SerialLine(const SerialLine&) = delete;
  SerialLine& operator=(const SerialLine&) = delete;

  // Queued and written as the device takes it; dropped while the device is away (the
  // dialogue starts over when it is back).
  void write(ByteView bytes);
  bool is_open() const { return fd_ >= 0; }
  const std::string& device() const { return device_; }

 private:
  static constexpr Duration kReopenDelay{5'000};
  bool open_device();  // false (errno set) when the device cannot be opened
  void lose(const std::string& why);
  void schedule_reopen();
  void on_io(std::uint32_t events);
  void write_pending();

  EventLoop& loop_;
  std::string device_;
  Handlers handlers_;
  int fd_ = -1;
  Bytes pending_;
  EventLoop::TimerId reopen_timer_ = 0;
};

}  // namespace tether::transport

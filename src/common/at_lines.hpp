#pragma once
// The line side of an AT-command dialogue (TS 27.007 V.250 framing), shared by the modem
// drivers and the simulators' modems: bytes from the other end cut into lines (CR or LF ends
// one; empty lines are skipped; a line longer than any answer is dropped), and our lines
// queued for the serial device, each ended with CR LF.
#include <cstddef>
#include <string>

#include "common/bytes.hpp"

namespace tether {

class AtLines {
 public:
  explicit AtLines(std::size_t max_line) : max_line_(max_line) {}

  // Calls on_line(const std::string&) for each complete line and on_overflow() for each line
  // that grew past max_line (dropped).
  template <typename OnLine, typename OnOverflow>
  void feed(ByteView bytes, OnLine&& on_line, OnOverflow&& on_overflow) {
    for (auto b : bytes) {
      const char c = static_cast<char>(b);
      if (c == '\r' || c == '\n') {
        if (input_.empty()) continue;
        std::string line;
        line.swap(input_);
        on_line(line);
        continue;
      }
      if (input_.size() >= max_line_) {
        input_.clear();
        on_overflow();
        continue;
      }
      input_.push_back(c);
    }
  }
  void clear_input() { input_.clear(); }

  void write_line(const std::string& text) {
    output_.insert(output_.end(), text.begin(), text.end());
    output_.push_back('\r');
    output_.push_back('\n');
  }
  Bytes take_output() {
    Bytes out;
    out.swap(output_);
    return out;
  }

 private:
  std::size_t max_line_;
  std::string input_;
  Bytes output_;
};

}  // namespace tether

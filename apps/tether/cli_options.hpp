#pragma once
// Small helpers shared by the tether subcommands: option parsing and content-format names.
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace tether::app {

// Walks "--name value" and "--flag" arguments; positionals are kept in order.
class ArgReader {
 public:
  explicit ArgReader(const std::vector<std::string>& args) : args_(args) {}
  bool next() { return ++i_ < args_.size(); }
  const std::string& current() const { return args_[i_]; }
  bool is(const char* long_name, const char* short_name = nullptr) const {
    return current() == long_name || (short_name != nullptr && current() == short_name);
  }
  std::string value() {
    if (i_ + 1 >= args_.size()) throw std::invalid_argument(current() + " needs a value");
    return args_[++i_];
  }

 private:
  const std::vector<std::string>& args_;
  std::size_t i_ = static_cast<std::size_t>(-1);
};

// "text", "link", "cbor", "senml+json", "tlv", ... or a number.
std::uint16_t parse_content_format(const std::string& text);
std::uint64_t parse_number(const std::string& text, std::uint64_t max);

}  // namespace tether::app

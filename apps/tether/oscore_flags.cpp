#include "oscore_flags.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <stdexcept>

namespace tether::app {

const char* const kOscoreHelp =
    "OSCORE (RFC 8613), for coap:// and coap+tcp:// URIs (hex values):\n"
    "  --oscore-secret HEX        Master Secret (turns OSCORE on)\n"
    "  --oscore-sender-id HEX     our Sender ID (may be empty: \"\")\n"
    "  --oscore-recipient-id HEX  the server's Sender ID\n"
    "  --oscore-salt HEX          Master Salt (default none)\n"
    "  --oscore-context HEX       ID Context (default none)\n"
    "  --oscore-seq N             first Sender Sequence Number (default 0); a new run with\n"
    "                             the same context must start past the last one used\n"
    "  --oscore-state FILE        keep the sequence number here across runs (RFC 8613 B.1.1:\n"
    "                             a bound 16 ahead is stored before it is passed)\n";

namespace {

Bytes hex_value(const std::string& flag, const std::string& text) {
  auto bytes = from_hex(text);
  if (!bytes) throw std::invalid_argument(flag + ": not hex: " + text);
  return std::move(*bytes);
}

bool store_bound(const std::string& file, std::uint64_t bound) {
  return write_durably(file, std::to_string(bound) + "\n");
}

}  // namespace

// Written to a new file, flushed to disk, then renamed over the old one: a crash leaves
// either version, never a torn one.
bool write_durably(const std::string& file, const std::string& text) {
  const std::string tmp = file + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) return false;
  const bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
                       ::fsync(fd) == 0;
  ::close(fd);
  return written && std::rename(tmp.c_str(), file.c_str()) == 0;
}

void add_oscore_account(lwm2m::Tree& tree, std::uint16_t instance, const OscoreFlags& f) {
  using lwm2m::Path;
  using lwm2m::Value;
  (void)tree.set(Path{21, instance, 0}, Value(hex_value("--oscore-secret", f.secret)));
  (void)tree.set(Path{21, instance, 1}, Value(hex_value("--oscore-sender-id", f.sender_id)));
  (void)tree.set(Path{21, instance, 2}, Value(hex_value("--oscore-recipient-id", f.recipient_id)));
  (void)tree.set(Path{21, instance, 3}, Value(std::int64_t{10}));
  (void)tree.set(Path{21, instance, 4}, Value(std::int64_t{-10}));
  if (!f.salt.empty()) {
    (void)tree.set(Path{21, instance, 5}, Value(hex_value("--oscore-salt", f.salt)));
  }
  if (!f.context.empty()) {
    (void)tree.set(Path{21, instance, 6}, Value(hex_value("--oscore-context", f.context)));
  }
  (void)tree.set(Path{0, instance, 17}, Value(lwm2m::Objlnk{21, instance}));
}

SequenceBounds::SequenceBounds(std::string file) : file_(std::move(file)) {
  std::ifstream in(file_);
  std::string name;
  std::uint64_t bound = 0;
  while (in >> name >> bound) bounds_[name] = bound;
}

bool SequenceBounds::store(const std::string& name, std::uint64_t bound) {
  bounds_[name] = bound;
  std::string text;
  for (const auto& [n, b] : bounds_) text += n + " " + std::to_string(b) + "\n";
  return write_durably(file_, text);
}

void SequenceBounds::serve(oscore::Keyring& keyring, std::uint64_t step) {
  keyring.resume_sequences(bounds_);
  keyring.persist_sequences(
      step, [this](const std::string& key, std::uint64_t bound) { return store(key, bound); },
      true);
}

bool take_oscore_flag(ArgReader& r, OscoreFlags& f) {
  if (r.is("--oscore-secret")) {
    f.secret = r.value();
  } else if (r.is("--oscore-salt")) {
    f.salt = r.value();
  } else if (r.is("--oscore-sender-id")) {
    f.sender_id = r.value();
  } else if (r.is("--oscore-recipient-id")) {
    f.recipient_id = r.value();
  } else if (r.is("--oscore-context")) {
    f.context = r.value();
  } else if (r.is("--oscore-state")) {
    f.state = r.value();
  } else if (r.is("--oscore-seq")) {
    f.sequence = parse_number(r.value(), (std::uint64_t{1} << 40) - 1);
  } else {
    return false;
  }
  return true;
}

oscore::SharedContext oscore_context(const OscoreFlags& f) {
  if (f.secret.empty()) return nullptr;
  oscore::ContextInput in;
  in.master_secret = hex_value("--oscore-secret", f.secret);
  in.master_salt = hex_value("--oscore-salt", f.salt);
  in.sender_id = hex_value("--oscore-sender-id", f.sender_id);
  in.recipient_id = hex_value("--oscore-recipient-id", f.recipient_id);
  if (!f.context.empty()) in.id_context = hex_value("--oscore-context", f.context);
  auto context = oscore::SecurityContext::derive(in);
  if (!context) throw std::invalid_argument("OSCORE: " + context.error().reason);
  std::uint64_t start = f.sequence;
  if (!f.state.empty()) {
    std::ifstream state_file(f.state);
    std::uint64_t stored = 0;
    if (state_file >> stored) start = std::max(start, stored);
  }
  context->set_sender_sequence(start);
  if (!f.state.empty()) {
    context->reserve_in_steps(
        16, [file = f.state](std::uint64_t bound) { return store_bound(file, bound); });
  }
  return std::make_shared<oscore::SecurityContext>(std::move(*context));
}

}  // namespace tether::app

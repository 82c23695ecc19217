#include "oscore_flags.hpp"

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
    "                             the same context must start past the last one used\n";

namespace {

Bytes hex_value(const std::string& flag, const std::string& text) {
  auto bytes = from_hex(text);
  if (!bytes) throw std::invalid_argument(flag + ": not hex: " + text);
  return std::move(*bytes);
}

}  // namespace

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
  } else if (r.is("--oscore-seq")) {
    f.sequence = parse_number(r.value(), (std::uint64_t{1} << 40) - 1);
  } else {
    return false;
  }
  return true;
}

std::optional<oscore::SecurityContext> oscore_context(const OscoreFlags& f) {
  if (f.secret.empty()) return std::nullopt;
  oscore::ContextInput in;
  in.master_secret = hex_value("--oscore-secret", f.secret);
  in.master_salt = hex_value("--oscore-salt", f.salt);
  in.sender_id = hex_value("--oscore-sender-id", f.sender_id);
  in.recipient_id = hex_value("--oscore-recipient-id", f.recipient_id);
  if (!f.context.empty()) in.id_context = hex_value("--oscore-context", f.context);
  auto context = oscore::SecurityContext::derive(in);
  if (!context) throw std::invalid_argument("OSCORE: " + context.error().reason);
  context->set_sender_sequence(f.sequence);
  return std::move(*context);
}

}  // namespace tether::app

#include "client/objects/firmware_object.hpp"

#include "lwm2m/operation/status.hpp"

namespace tether::client {

namespace {
using lwm2m::Path;
using lwm2m::Value;
namespace status = lwm2m::status;
constexpr std::uint16_t kPackage = 0, kPackageUri = 1, kUpdate = 2, kState = 3, kResult = 5,
                        kProtocols = 8, kDeliveryMethod = 9;
}  // namespace

FirmwareObject::Download FirmwareObject::download_from(Result<Bytes> fetched) {
  if (fetched) return Download{std::move(*fetched), std::nullopt};
  const std::string& why = fetched.error().reason;
  if (why.starts_with("invalid URI")) return Download{{}, UpdateResult::kInvalidUri};
  if (why.starts_with("unsupported protocol")) {
    return Download{{}, UpdateResult::kUnsupportedProtocol};
  }
  return Download{{}, UpdateResult::kConnectionLost};
}

FirmwareObject::FirmwareObject(Downloader downloader, Installer installer,
                               std::vector<std::int64_t> protocols)
    : DataObject(5, false), downloader_(std::move(downloader)), installer_(std::move(installer)) {
  set(Path{5, 0, kPackageUri}, Value(""));
  for (std::size_t i = 0; i < protocols.size(); ++i) {
    set(Path{5, 0, kProtocols, static_cast<std::uint16_t>(i)}, Value(protocols[i]));
  }
  set(Path{5, 0, kDeliveryMethod}, Value(std::int64_t{2}));  // pull and push
  enter(State::kIdle, UpdateResult::kInitial);
  on_execute(kUpdate, [this](std::uint16_t, std::string_view) -> Result<Ok> {
    if (state_ != State::kDownloaded) {
      return lwm2m::reject(status::kMethodNotAllowed, "Update needs a downloaded package");
    }
    enter(State::kUpdating, result_);
    auto installed = installer_ ? installer_(package_) : Result<Ok>(Ok{});
    if (!installed) {
      enter(State::kDownloaded, UpdateResult::kUpdateFailed);
      return Ok{};  // the Execute itself was accepted; the result tells the outcome
    }
    package_.clear();
    enter(State::kIdle, UpdateResult::kSuccess);
    return Ok{};
  });
}

void FirmwareObject::enter(State s, UpdateResult r) {
  state_ = s;
  result_ = r;
  set(Path{5, 0, kState}, Value(static_cast<std::int64_t>(s)));
  set(Path{5, 0, kResult}, Value(static_cast<std::int64_t>(r)));
}

Result<lwm2m::InstanceNode> FirmwareObject::read(std::uint16_t instance) const {
  auto node = DataObject::read(instance);
  if (node) node->resources.erase(kPackage);  // write-only
  return node;
}

Result<Ok> FirmwareObject::write(std::uint16_t instance, const lwm2m::InstanceNode& values,
                                 WriteMode mode,
                                 const std::function<bool(std::uint16_t)>& writable) {
  if (instance != 0) return lwm2m::reject(status::kNotFound, "no such instance");
  const auto* package = values.resources.find(kPackage);
  const auto* uri = values.resources.find(kPackageUri);
  const Bytes* bytes = package != nullptr ? package->value.get_if<Bytes>() : nullptr;
  const std::string* text = uri != nullptr ? uri->value.get_if<std::string>() : nullptr;
  // An empty Package or Package URI cancels whatever is under way (Core TS E.6).
  const bool cancel = (package != nullptr && (bytes == nullptr || bytes->empty())) ||
                      (uri != nullptr && (text == nullptr || text->empty()));
  if (cancel) {
    ++download_id_;
    package_.clear();
    if (uri != nullptr) set(Path{5, 0, kPackageUri}, Value(""));
    enter(State::kIdle, UpdateResult::kInitial);
    return Ok{};
  }
  if ((package != nullptr || uri != nullptr) && state_ != State::kIdle) {
    return lwm2m::reject(status::kMethodNotAllowed, "a package is already in progress");
  }
  lwm2m::InstanceNode rest = values;
  rest.resources.erase(kPackage);
  if (!rest.resources.empty()) {
    auto done = DataObject::write(instance, rest, mode, [&](std::uint16_t rid) {
      return rid != kPackage && rid != kPackageUri && writable(rid);
    });
    if (!done) return done;
  }
  if (bytes != nullptr) {
    package_ = *bytes;
    enter(State::kDownloaded, UpdateResult::kInitial);
  } else if (text != nullptr) {
    start_download(*text);
  }
  return Ok{};
}

void FirmwareObject::start_download(const std::string& uri) {
  enter(State::kDownloading, UpdateResult::kInitial);
  if (!downloader_) {
    enter(State::kIdle, UpdateResult::kUnsupportedProtocol);
    return;
  }
  const std::uint64_t id = ++download_id_;
  downloader_(uri, [this, id](Download d) {
    if (id != download_id_ || state_ != State::kDownloading) return;  // cancelled meanwhile
    if (d.error) {
      enter(State::kIdle, *d.error);
      return;
    }
    package_ = std::move(d.package);
    enter(State::kDownloaded, UpdateResult::kInitial);
  });
}

}  // namespace tether::client

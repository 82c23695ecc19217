#pragma once
// Firmware Update (object 5, Core TS Appendix E.6): a package pushed by a (block-wise)
// Write of Package (/5/0/0) or pulled from Package URI (/5/0/1), then installed by an
// Execute of Update (/5/0/2), with the state machine Idle -> Downloading -> Downloaded ->
// Updating -> Idle and the Update Result codes. Fetching and installing are the device's:
// the object is given a Downloader and an Installer.
#include <functional>
#include <string>

#include "client/object.hpp"

namespace tether::client {

class FirmwareObject final : public DataObject {
 public:
  enum class State : std::int64_t { kIdle = 0, kDownloading = 1, kDownloaded = 2, kUpdating = 3 };
  enum class UpdateResult : std::int64_t {
    kInitial = 0,
    kSuccess = 1,
    kNoStorage = 2,
    kOutOfMemory = 3,
    kConnectionLost = 4,
    kIntegrityFailure = 5,
    kUnsupportedPackage = 6,
    kInvalidUri = 7,
    kUpdateFailed = 8,
    kUnsupportedProtocol = 9,
  };
  struct Download {
    Bytes package;                      // when it worked
    std::optional<UpdateResult> error;  // when it did not
  };
  using Downloader =
      std::function<void(const std::string& uri, std::function<void(Download)> done)>;
  // Installs the package; an error leaves the package Downloaded with result 8.
  using Installer = std::function<Result<Ok>(const Bytes& package)>;

  // Reads what Lwm2mClient::fetch answered: its "invalid URI" and "unsupported protocol"
  // failures become results 7 and 9, any other failure 4 (connection lost).
  static Download download_from(Result<Bytes> fetched);

  FirmwareObject(Downloader downloader, Installer installer,
                 std::vector<std::int64_t> protocols = {0, 1, 4, 5});

  Result<Ok> write(std::uint16_t instance, const lwm2m::InstanceNode& values, WriteMode mode,
                   const std::function<bool(std::uint16_t)>& writable) override;
  Result<lwm2m::InstanceNode> read(std::uint16_t instance) const override;

  State state() const { return state_; }
  UpdateResult result() const { return result_; }
  std::size_t package_size() const { return package_.size(); }

 private:
  void enter(State s, UpdateResult r);
  void start_download(const std::string& uri);

  Downloader downloader_;
  Installer installer_;
  State state_ = State::kIdle;
  UpdateResult result_ = UpdateResult::kInitial;
  Bytes package_;
  std::uint64_t download_id_ = 0;  // a cancelled download's late answer is ignored
};

}  // namespace tether::client

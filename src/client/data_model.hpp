#pragma once
// The client's objects and the Device Management, Information Reporting (data side) and
// Bootstrap operations on them (Core TS 6.1, 6.3, 6.4), with the response codes of
// Transport TS Tables 6.7-1 and 6.7-3. Sans-I/O and binding-independent: a DownlinkRequest
// in, a DownlinkResponse out. Access control is enforced here for servers; the
// Bootstrap-Server bypasses it.
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "client/object.hpp"
#include "lwm2m/attributes.hpp"
#include "lwm2m/format/link_format.hpp"
#include "lwm2m/model/object_registry.hpp"
#include "lwm2m/operation/downlink_request.hpp"

namespace tether::client {

// Who asks: a server by Short Server ID, or the Bootstrap-Server.
struct Requester {
  std::uint16_t ssid = 0;
  bool bootstrap = false;
};

// Well-known objects and resources the client itself relies on (Core TS Appendix E).
namespace oid {
inline constexpr std::uint16_t kSecurity = 0, kServer = 1, kAccessControl = 2, kDevice = 3,
                               kOscore = 21, kCose = 23, kMqttServer = 24;
}
namespace security {
inline constexpr std::uint16_t kUri = 0, kBootstrap = 1, kMode = 2, kPublicKeyOrIdentity = 3,
                               kServerPublicKey = 4, kSecretKey = 5, kShortServerId = 10,
                               kHoldOff = 11, kAccountTimeout = 12, kSni = 14,
                               kCertificateUsage = 15, kOscoreSecurityMode = 17, kMqttServer = 26,
                               kCoseSecurity = 27;
inline constexpr std::int64_t kModePsk = 0, kModeRpk = 1, kModeCertificate = 2, kModeNoSec = 3,
                              kModeEst = 4;
}  // namespace security
namespace oscore_res {
inline constexpr std::uint16_t kMasterSecret = 0, kSenderId = 1, kRecipientId = 2, kAead = 3,
                               kHmac = 4, kMasterSalt = 5, kIdContext = 6;
}  // namespace oscore_res
namespace server_res {
inline constexpr std::uint16_t kShortServerId = 0, kLifetime = 1, kDefaultPmin = 2,
                               kDefaultPmax = 3, kDisable = 4, kDisableTimeout = 5,
                               kNotificationStoring = 6, kBinding = 7, kUpdateTrigger = 8,
                               kBootstrapTrigger = 9, kBootstrapOnFailure = 16, kRetryCount = 17,
                               kRetryTimer = 18, kSequenceDelay = 19, kSequenceRetryCount = 20,
                               kMuteSend = 23;
}

// One usable Server Account: a Security instance (not the Bootstrap-Server's) and the
// Server instance with the same Short Server ID.
struct ServerAccount {
  std::uint16_t ssid = 0;
  std::uint16_t security_instance = 0;
  std::uint16_t server_instance = 0;
  std::string uri;
};
struct BootstrapAccount {
  std::uint16_t security_instance = 0;
  std::string uri;
};

class DataModel {
 public:
  explicit DataModel(const lwm2m::model::ObjectRegistry& models, std::string lwm2m_version = "1.2")
      : models_(models, std::move(lwm2m_version)) {}

  // Adds an object (replacing one with the same ID). Its definition must be known to the
  // registry (built in, or loaded from XML).
  Result<Ok> add(std::unique_ptr<Object> object);
  Object* find(std::uint16_t object_id) const;
  // The object definitions of the LwM2M version the client speaks now.
  const lwm2m::model::Model& model() const { return models_; }
  const lwm2m::model::ObjectRegistry& registry() const { return models_.registry(); }
  const std::string& lwm2m_version() const { return models_.lwm2m_version(); }
  void set_lwm2m_version(std::string version) { models_.set_lwm2m_version(std::move(version)); }
  void set_change_listener(std::function<void(const lwm2m::Path&)> listener);

  // Answers one operation. Observe answers like Read (the caller keeps the observation).
  lwm2m::DownlinkResponse handle(const lwm2m::DownlinkRequest& request, const Requester& who);

  // --- local access (no access control) ------------------------------------
  Result<lwm2m::Tree> read(const lwm2m::Path& path) const;
  bool exists(const lwm2m::Path& path) const;
  std::optional<lwm2m::Value> value(const lwm2m::Path& path) const;
  // Writes one value as the Bootstrap-Server would (creating the instance if needed).
  Result<Ok> put(const lwm2m::Path& path, lwm2m::Value value);
  // Applies a whole tree as Bootstrap-Writes (factory configuration, state file, pack).
  Result<Ok> put(const lwm2m::Tree& tree);

  std::vector<ServerAccount> server_accounts() const;
  std::optional<BootstrapAccount> bootstrap_account() const;
  // The Security instance (not the Bootstrap-Server's) whose URI names the same scheme, host
  // and port as `uri`: credentials for servers other than LwM2M servers, such as a firmware
  // server behind a coaps Package URI.
  std::optional<std::uint16_t> security_instance_for(const std::string& uri) const;
  // Transport TS 6.8.3 / 5.4: the Security instance of the account (a server's or the
  // Bootstrap-Server's) whose SMS number is `number`: its sms:// URI, or its LwM2M Server
  // SMS Number (/0/x/9), compared with sms::same_msisdn.
  std::optional<std::uint16_t> security_instance_of_sms_number(std::string_view number) const;
  // Core TS 6.2.1: the object list of Register and Update.
  lwm2m::format::link_format::RegistrationPayload registration_payload() const;
  // Bootstrap-Finish: fails (4.06) when no usable Server Account would result.
  Result<Ok> check_bootstrap_consistency() const;

  // Attributes a server attached (Write-Attributes), and their effective value at `path`
  // after inheritance and the Server object's defaults.
  lwm2m::Attributes effective_attributes(std::uint16_t ssid, const lwm2m::Path& path) const;
  void forget_attributes(std::uint16_t ssid) { attributes_.erase(ssid); }

  // Unbootstrapping (Core TS 1.2 5.2.5) after server `ssid` lost its Security instance: its
  // Server instance goes; in each ACL instance its entry goes, and where it was the owner the
  // server with the highest Write+Delete rights becomes the owner, or, when no other server
  // has an entry, the object instance only it could reach goes with its ACL instance.
  void unbootstrap(std::uint16_t ssid);

 private:
  lwm2m::DownlinkResponse read_op(const lwm2m::DownlinkRequest& r, const Requester& who) const;
  lwm2m::DownlinkResponse read_composite(const lwm2m::DownlinkRequest& r,
                                         const Requester& who) const;
  lwm2m::DownlinkResponse discover(const lwm2m::DownlinkRequest& r, const Requester& who) const;
  lwm2m::DownlinkResponse write(const lwm2m::DownlinkRequest& r, const Requester& who);
  lwm2m::DownlinkResponse write_composite(const lwm2m::DownlinkRequest& r, const Requester& who);
  lwm2m::DownlinkResponse write_attributes(const lwm2m::DownlinkRequest& r, const Requester& who);
  lwm2m::DownlinkResponse execute(const lwm2m::DownlinkRequest& r, const Requester& who);
  lwm2m::DownlinkResponse create(const lwm2m::DownlinkRequest& r, const Requester& who);
  lwm2m::DownlinkResponse remove(const lwm2m::DownlinkRequest& r, const Requester& who);
  lwm2m::DownlinkResponse bootstrap_write(const lwm2m::DownlinkRequest& r);
  lwm2m::DownlinkResponse bootstrap_read(const lwm2m::DownlinkRequest& r) const;
  lwm2m::DownlinkResponse bootstrap_discover(const lwm2m::DownlinkRequest& r) const;
  lwm2m::DownlinkResponse bootstrap_delete(const lwm2m::DownlinkRequest& r);

  // 4.01/4.04 checks shared by the DM operations; empty when allowed.
  std::optional<lwm2m::DownlinkResponse> refuse(const lwm2m::Path& path, const Requester& who,
                                                std::uint8_t right) const;
  std::uint8_t rights_of(const Requester& who, std::uint16_t oid, std::uint16_t iid) const;
  // Writes a tree into existing instances (creating missing ones when `create`).
  Result<Ok> store(const lwm2m::Tree& tree, WriteMode mode, bool create);
  bool is_bootstrap_account(std::uint16_t security_instance) const;
  void add_executables(lwm2m::Tree& tree) const;

  lwm2m::model::VersionedModel models_;
  std::map<std::uint16_t, std::unique_ptr<Object>> objects_;
  std::function<void(const lwm2m::Path&)> listener_;
  // ssid -> path -> attributes (Write-Attributes is per server, Core TS 5.1.2).
  std::map<std::uint16_t, std::map<lwm2m::Path, lwm2m::Attributes>> attributes_;
};

}  // namespace tether::client

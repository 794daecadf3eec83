#include "runtime/features.h"

#include <nlohmann/json.hpp>

#include "oci/config.h"
#include "oci/names.h"
#include "runtime/mount_options.h"
#include "runtime/process_attrs.h"
#include "runtime/seccomp.h"

namespace berth::runtime {

std::string features_json() {
  using json = nlohmann::ordered_json;
  json doc;
  // config.json versions the parser accepts: every 1.x up to the one written.
  doc["ociVersionMin"] = "1.0.0";
  doc["ociVersionMax"] = std::string(oci::kOciVersion);
  // oci::Hooks' members, in the order the lifecycle runs them.
  doc["hooks"] = {"prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"};
  doc["mountOptions"] = known_mount_options();

  json linux;
  json namespaces = json::array();
  for (const auto& kind : oci::namespace_kinds()) namespaces.push_back(std::string(kind.type));
  linux["namespaces"] = namespaces;
  linux["capabilities"] = all_capability_names();
  // cgroupfs v1 and v2 (rdma limits where the controller is mounted); no systemd driver.
  linux["cgroup"] = {{"v1", true}, {"v2", true}, {"systemd", false}, {"systemdUser", false}, {"rdma", true}};
  linux["seccomp"] = {{"enabled", true},
                      {"actions", seccomp_action_names()},
                      {"operators", seccomp_operator_names()},
                      {"archs", seccomp_arch_names()},
                      {"knownFlags", seccomp_flag_names()},
                      {"supportedFlags", seccomp_supported_flag_names()}};
  linux["apparmor"] = {{"enabled", false}};
  linux["selinux"] = {{"enabled", false}};
  linux["intelRdt"] = {{"enabled", false}};
  linux["mountExtensions"] = {{"idmap", {{"enabled", kIdmappedMounts}}}};
  doc["linux"] = linux;

  doc["annotations"] = {{"io.github.seccomp.libseccomp.version", libseccomp_version()},
                        {"org.berth.runtime.checkpoint.enabled", "false"},
                        {"org.berth.runtime.version", BERTH_VERSION}};
  return doc.dump(2) + "\n";
}

}  // namespace berth::runtime

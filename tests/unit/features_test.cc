// The features document is made from the runtime's own tables: every listed
// mount option is one parse_mount_options() recognizes, every capability and
// namespace one the runtime maps, every seccomp name one compile_seccomp takes.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "oci/names.h"
#include "runtime/features.h"
#include "runtime/mount_options.h"
#include "runtime/process_attrs.h"
#include "runtime/seccomp.h"

namespace berth::runtime {
namespace {

using json = nlohmann::json;

json doc() {
  auto j = json::parse(features_json(), nullptr, false);
  EXPECT_TRUE(j.is_object());
  return j;
}

TEST(Features, VersionsAndHooks) {
  auto j = doc();
  EXPECT_EQ(j["ociVersionMin"], "1.0.0");
  EXPECT_EQ(j["ociVersionMax"], "1.2.0");
  EXPECT_EQ(j["hooks"].size(), 6u);
}

TEST(Features, EveryMountOptionIsRecognized) {
  auto j = doc();
  ASSERT_GT(j["mountOptions"].size(), 50u);
  for (const auto& o : j["mountOptions"]) {
    std::string opt = o.get<std::string>();
    auto parsed = parse_mount_options({opt});
    EXPECT_EQ(parsed.data, "") << opt << " is passed on as filesystem data, not recognized";
  }
  EXPECT_EQ(parse_mount_options({"size=1m"}).data, "size=1m");
  bool has_idmap = false;
  for (const auto& o : j["mountOptions"]) has_idmap |= o == "idmap";
  EXPECT_EQ(has_idmap, kIdmappedMounts);
  EXPECT_EQ(j["linux"]["mountExtensions"]["idmap"]["enabled"], kIdmappedMounts);
}

TEST(Features, CapabilitiesAndNamespacesAreTheRuntimesTables) {
  auto j = doc();
  for (const auto& c : j["linux"]["capabilities"])
    EXPECT_TRUE(capability_from_name(c.get<std::string>()).has_value()) << c;
  EXPECT_EQ(j["linux"]["capabilities"].size(), all_capability_names().size());
  for (const auto& n : j["linux"]["namespaces"]) EXPECT_NE(oci::namespace_kind(n.get<std::string>()), nullptr) << n;
  EXPECT_EQ(j["linux"]["namespaces"].size(), oci::namespace_kinds().size());
}

TEST(Features, SeccompNamesCompile) {
  auto j = doc();
  const auto& sc = j["linux"]["seccomp"];
  EXPECT_TRUE(sc["enabled"].get<bool>());
  EXPECT_EQ(sc["actions"].size(), 9u);
  EXPECT_EQ(sc["operators"].size(), 7u);
  EXPECT_GE(sc["archs"].size(), 19u);
  for (const auto& a : sc["actions"]) {
    oci::Seccomp p;
    p.default_action = "SCMP_ACT_ALLOW";
    p.listener_path = "/run/agent.sock";
    oci::SeccompSyscall r;
    r.names = {"getpid"};
    r.action = a.get<std::string>();
    p.syscalls = {r};
    auto c = compile_seccomp(p);
    EXPECT_TRUE(c) << a << ": " << c.error().what();
  }
  for (const auto& op : sc["operators"]) {
    oci::Seccomp p;
    p.default_action = "SCMP_ACT_ALLOW";
    oci::SeccompSyscall r;
    r.names = {"getpid"};
    r.action = "SCMP_ACT_ERRNO";
    r.args = {oci::SeccompArg{0, 1, 1, op.get<std::string>()}};
    p.syscalls = {r};
    auto c = compile_seccomp(p);
    EXPECT_TRUE(c) << op << ": " << c.error().what();
  }
  for (const auto& arch : sc["archs"]) {
    oci::Seccomp p;
    p.default_action = "SCMP_ACT_ALLOW";
    p.architectures = {arch.get<std::string>()};
    auto c = compile_seccomp(p);
    // A big-endian architecture cannot share x86_64's filter: named as such.
    EXPECT_TRUE(c || c.error().what().find("another byte order") != std::string::npos)
        << arch << ": " << c.error().what();
  }
  for (const auto& f : sc["supportedFlags"]) {
    oci::Seccomp p;
    p.default_action = "SCMP_ACT_ALLOW";
    p.flags = {f.get<std::string>()};
    auto c = compile_seccomp(p);
    EXPECT_TRUE(c) << f << ": " << c.error().what();
  }
  EXPECT_EQ(j["annotations"]["io.github.seccomp.libseccomp.version"], libseccomp_version());
}

}  // namespace
}  // namespace berth::runtime

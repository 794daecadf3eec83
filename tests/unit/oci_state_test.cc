// The state documents and the default config of `spec`, checked against the
// spec's field rules and against runc's own output when runc is installed.
#include <stdlib.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "oci/config.h"

namespace berth::oci {
namespace {

using json = nlohmann::json;

State sample_state() {
  State s;
  s.id = "berth-test-1";
  s.status = Status::created;
  s.pid = 4422;
  s.bundle = "/containers/redis";
  s.annotations = {{"myKey", "myValue"}};
  return s;
}

TEST(OciState, SpecDocument) {
  EXPECT_EQ(state_to_json(sample_state()),
            R"({"ociVersion":"1.2.0","id":"berth-test-1","status":"created","pid":4422,)"
            R"("bundle":"/containers/redis","annotations":{"myKey":"myValue"}})");
}

TEST(OciState, PidAndAnnotationsLeftOutWhenUnset) {
  State s = sample_state();
  s.status = Status::stopped;
  s.pid = 0;
  s.annotations.clear();
  EXPECT_EQ(state_to_json(s),
            R"({"ociVersion":"1.2.0","id":"berth-test-1","status":"stopped","bundle":"/containers/redis"})");
  auto pretty = json::parse(state_to_json(s, true));
  EXPECT_EQ(pretty["status"], "stopped");
  EXPECT_FALSE(pretty.contains("pid"));
}

TEST(OciState, EveryStatusName) {
  const std::pair<Status, const char*> names[] = {{Status::creating, "creating"},
                                                  {Status::created, "created"},
                                                  {Status::running, "running"},
                                                  {Status::stopped, "stopped"},
                                                  {Status::paused, "paused"}};
  for (auto [status, name] : names) {
    State s = sample_state();
    s.status = status;
    EXPECT_EQ(json::parse(state_to_json(s))["status"], name);
  }
}

TEST(OciState, RuncStateVerbDocument) {
  State s = sample_state();
  StateDetails d{.rootfs = "/containers/redis/rootfs", .created = "2026-11-27T20:36:14.075705543Z", .owner = ""};
  // Byte for byte what `runc state` prints: two-space indent, no newline.
  EXPECT_EQ(runtime_state_to_json(s, d),
            "{\n"
            "  \"ociVersion\": \"1.2.0\",\n"
            "  \"id\": \"berth-test-1\",\n"
            "  \"pid\": 4422,\n"
            "  \"status\": \"created\",\n"
            "  \"bundle\": \"/containers/redis\",\n"
            "  \"rootfs\": \"/containers/redis/rootfs\",\n"
            "  \"created\": \"2026-11-27T20:36:14.075705543Z\",\n"
            "  \"annotations\": {\n"
            "    \"myKey\": \"myValue\"\n"
            "  },\n"
            "  \"owner\": \"\"\n"
            "}");
  s.pid = 0;
  s.status = Status::stopped;
  s.annotations.clear();
  d.owner = "root";
  EXPECT_EQ(runtime_state_to_json(s, d, false),
            R"({"ociVersion":"1.2.0","id":"berth-test-1","pid":0,"status":"stopped",)"
            R"("bundle":"/containers/redis","rootfs":"/containers/redis/rootfs",)"
            R"("created":"2026-11-27T20:36:14.075705543Z","owner":"root"})");
}

TEST(OciState, Rfc3339Nano) {
  EXPECT_EQ(rfc3339_nano({1795811774, 75705543}), "2026-11-27T20:36:14.075705543Z");
  EXPECT_EQ(rfc3339_nano({1795811774, 500000000}), "2026-11-27T20:36:14.5Z");
  EXPECT_EQ(rfc3339_nano({0, 0}), "1970-01-01T00:00:00Z");
}

TEST(OciState, StringsAreEscaped) {
  State s = sample_state();
  s.id = "a\"b\\c\n";
  s.annotations = {{"k", std::string("\x01", 1)}};
  auto back = json::parse(state_to_json(s));
  EXPECT_EQ(back["id"], s.id);
  EXPECT_EQ(back["annotations"]["k"], "\x01");
}

// Runs `runc spec [--rootless]` in a temporary directory; empty when runc is missing.
std::string runc_spec(bool rootless) {
  char tmpl[] = "/tmp/berth-test-oci-spec-XXXXXX";
  if (!mkdtemp(tmpl)) return {};
  std::string dir = tmpl;
  std::string cmd = "runc spec " + std::string(rootless ? "--rootless " : "") + "--bundle " + dir +
                    " >/dev/null 2>&1";
  std::string out;
  if (std::system(cmd.c_str()) == 0) {
    std::ifstream in(dir + "/config.json");
    std::stringstream ss;
    ss << in.rdbuf();
    out = ss.str();
  }
  std::filesystem::remove_all(dir);
  return out;
}

TEST(OciDefaultConfig, SameDocumentAsRunc) {
  for (bool rootless : {false, true}) {
    SCOPED_TRACE(rootless ? "rootless" : "root");
    std::string theirs = runc_spec(rootless);
    if (theirs.empty()) GTEST_SKIP() << "runc is not installed";
    std::string ours = default_config_json(rootless);
    // Only the version differs: runc 1.1 writes the spec version it was built with.
    auto version = json::parse(theirs)["ociVersion"].get<std::string>();
    auto pos = ours.find("\"1.2.0\"");
    ASSERT_NE(pos, std::string::npos);
    ours.replace(pos, 7, "\"" + version + "\"");
    EXPECT_EQ(ours, theirs);  // byte for byte: key order, tabs, no newline
  }
}

TEST(OciDefaultConfig, ValidAndRootlessShape) {
  auto root = parse_config(default_config_json(false));
  ASSERT_TRUE(root) << root.error().what();
  EXPECT_EQ(root->oci_version, "1.2.0");
  EXPECT_TRUE(find_namespace(*root, "network"));
  EXPECT_FALSE(find_namespace(*root, "user"));
  ASSERT_TRUE(root->linux->resources);

  Spec rootless = default_spec(true, 1000, 1001);
  ASSERT_TRUE(validate(rootless));
  EXPECT_FALSE(find_namespace(rootless, "network"));
  EXPECT_TRUE(find_namespace(rootless, "user"));
  EXPECT_FALSE(rootless.linux->resources);
  ASSERT_EQ(rootless.linux->uid_mappings.size(), 1u);
  EXPECT_EQ(rootless.linux->uid_mappings[0].host_id, 1000u);
  EXPECT_EQ(rootless.linux->gid_mappings[0].host_id, 1001u);
  EXPECT_EQ(rootless.mounts[5].destination, "/sys");
  EXPECT_EQ(rootless.mounts[5].options[0], "rbind");
  for (const auto& opt : rootless.mounts[2].options) EXPECT_NE(opt, "gid=5");

  auto doc = json::parse(default_config_json(true));
  EXPECT_EQ(doc["linux"]["uidMappings"][0]["hostID"], geteuid());
  EXPECT_EQ(doc["linux"]["gidMappings"][0]["hostID"], getegid());
}

}  // namespace
}  // namespace berth::oci

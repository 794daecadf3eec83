// The fixtures the networking tests share, in the sandbox of engine_env.h
// (the program's own network and mount namespaces):
//   NetworksTest     Networks (network.h) on a real berth.db under a temp
//                    root, with container namespaces of its own;
//   BerthNetworkTest networks and containers made through the berth binary
//                    in EngineEnv's root, removed after each test.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <optional>
#include <regex>
#include <string>
#include <utility>
#include <vector>

#include "engine/db.h"
#include "engine/network.h"
#include "engine/paths.h"
#include "engine_env.h"

namespace berth::engine::testing {

class NetworksTest : public ::testing::Test {
 protected:
  // `what` names the temp root: /var/tmp/berth-test-<what>-XXXXXX.
  explicit NetworksTest(const std::string& what) : roots(what) {}

  TempRoots roots;
  Paths paths{roots.root, roots.runroot};
  std::optional<EngineDb> db;
  std::optional<Networks> nets;
  std::vector<std::string> namespaces;

  void SetUp() override {
    std::filesystem::create_directories(paths.root);
    auto opened = EngineDb::open(paths.db());
    ASSERT_TRUE(opened.has_value()) << opened.error().what();
    db.emplace(std::move(*opened));
    nets.emplace(paths, *db, NetworkConfig{});
  }

  // The namespaces made by container(), and the bridges the tests' networks made.
  void TearDown() override {
    for (const auto& ns : namespaces) EXPECT_TRUE(remove_netns(ns).has_value());
    for (const auto& link : {"berth0", "berth1", "berth2", "berth3"}) sh(std::string("ip link del ") + link + " 2>/dev/null");
  }

  // A container id (64 times `c`) and its network namespace, made.
  std::pair<std::string, std::string> container(char c) {
    std::string id(64, c);
    std::string ns = paths.netns(id);
    auto made = create_netns(ns);
    EXPECT_TRUE(made.has_value()) << made.error().what();
    namespaces.push_back(ns);
    return {id, ns};
  }
};

class BerthNetworkTest : public ::testing::Test {
 protected:
  static EngineEnv& env() { return EngineEnv::get(); }
  Paths paths{env().roots.root, env().roots.runroot};
  std::vector<std::string> made_networks;  // removed by remove_containers_and_networks()

  void SetUp() override { ASSERT_TRUE(env().loaded); }

  // Every container, then the networks in made_networks.
  void remove_containers_and_networks() {
    sh(env().berth() + " ps -aq | xargs -r " + env().berth() + " rm -f >/dev/null 2>&1");
    for (const auto& n : made_networks) sh(env().berth() + " network rm -f " + n + " >/dev/null 2>&1");
  }

  // The container's IPv4 address on eth0, from inside it.
  std::string address_of(const std::string& name) {
    auto r = env().run("exec " + name + " ip -o -4 addr show eth0");
    std::smatch m;
    std::regex inet("inet ([0-9.]+)/");
    if (std::regex_search(r.out, m, inet)) return m[1];
    ADD_FAILURE() << "no address of " << name << " in: " << r.out;
    return "";
  }
};

}  // namespace berth::engine::testing

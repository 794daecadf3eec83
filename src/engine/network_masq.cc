// The bridge plugin of containernetworking-plugins 1.1.1 learns the addresses
// whose masquerade rules it removes on DEL from the interface inside the
// namespace: with the namespace already gone (CNI_NETNS empty) it skips them
// and the rules stay. Berth removes them then itself, from the cached ADD
// result, exactly as the plugin would (its chain "CNI-" + sha512(name+id)
// cut to 28 characters, its comment, its POSTROUTING rule). Idempotent.
#include <fcntl.h>
#include <openssl/sha.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

#include "base/log.h"
#include "engine/network_internal.h"

namespace berth::engine {
namespace {

// Runs iptables quietly; its failure (rule or chain already gone) is not ours.
void iptables(std::vector<std::string> args) {
  args.insert(args.begin(), {"iptables", "-w", "-t", "nat"});
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  pid_t pid = -1;
  int rc = ::posix_spawnp(&pid, "iptables", &actions, nullptr, argv.data(), ::environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    log::warn("spawn iptables: {}", std::strerror(rc));
    return;
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
}

std::string chain_name(const std::string& network, const std::string& container_id) {
  std::string input = network + container_id;
  unsigned char digest[SHA512_DIGEST_LENGTH];
  ::SHA512(reinterpret_cast<const unsigned char*>(input.data()), input.size(), digest);
  std::string chain = "CNI-";
  for (int i = 0; chain.size() < 28; ++i) chain += fmt::format("{:02x}", digest[i]);
  return chain.substr(0, 28);
}

}  // namespace

void remove_masquerade_rules(const nlohmann::json& conflist, const std::string& container_id,
                             const nlohmann::json& result) {
  std::string network = conflist.value("name", "");
  bool masq = false;
  if (auto plugins = conflist.find("plugins"); plugins != conflist.end() && plugins->is_array())
    for (const auto& p : *plugins) masq = masq || (p.value("type", "") == "bridge" && p.value("ipMasq", false));
  if (!masq || !result.is_object() || !result.contains("ips")) return;
  std::string chain = chain_name(network, container_id);
  std::string comment = fmt::format("name: \"{}\" id: \"{}\"", network, container_id);
  for (const auto& ip : result["ips"]) {
    std::string address = ip.value("address", "");
    address = address.substr(0, address.find('/'));
    if (address.empty() || address.find(':') != std::string::npos) continue;  // IPv4 only: ipMasq was on only while networks were IPv4 only
    iptables({"-D", "POSTROUTING", "-s", address, "-j", chain, "-m", "comment", "--comment", comment});
  }
  iptables({"-F", chain});
  iptables({"-X", chain});
}

}  // namespace berth::engine

// What `berth create` / `berth run` are asked for: the flags docker and
// podman users know, parsed (flags.h) but not yet applied to an image.
// Stored with the container (as JSON) so start/restart rebuild nothing.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/error.h"

namespace berth::engine {

// -p [ip:]host:ctr[/proto], -p ctr (random host port), ranges "8000-8001:80-81".
struct PortMapping {
  std::string host_ip;          // "" = all addresses
  uint16_t host_port = 0;       // 0 = pick a free one at start
  uint16_t container_port = 0;
  uint16_t range = 1;           // consecutive ports mapped from both starts
  std::string protocol = "tcp"; // tcp | udp | sctp
  bool operator==(const PortMapping&) const = default;
};

// -v host:ctr[:opts], -v name:ctr (named volume), -v ctr (anonymous volume),
// --mount type=bind|volume|tmpfs,source=,target=,readonly,...
struct MountRequest {
  enum class Type { bind, volume, tmpfs };
  Type type = Type::bind;
  std::string source;       // host path (bind), volume name ("" = anonymous), unused for tmpfs
  std::string destination;  // absolute path in the container
  bool read_only = false;
  std::vector<std::string> options;  // extra mount options: z, Z, rprivate, nosuid, size=64m, mode=1777...
  bool operator==(const MountRequest&) const = default;
};

struct Ulimit {
  std::string name;  // "nofile" (docker's names)
  uint64_t soft = 0;
  uint64_t hard = 0;
  bool operator==(const Ulimit&) const = default;
};

enum class RestartPolicy { no, always, on_failure, unless_stopped };
struct Restart {
  RestartPolicy policy = RestartPolicy::no;
  int max_retries = 0;  // on-failure:N; 0 = unlimited
  bool operator==(const Restart&) const = default;
};

struct RunOptions {
  std::string image;                             // as typed
  std::vector<std::string> command;              // after the image: replaces Cmd
  std::optional<std::vector<std::string>> entrypoint;  // --entrypoint ("" clears it)
  std::string name;                              // --name; "" = generated
  std::vector<std::string> env;                  // -e KEY=VAL or KEY (taken from berth's env), merged after --env-file
  std::vector<std::string> env_files;            // --env-file
  std::vector<MountRequest> mounts;              // -v, --mount, --tmpfs
  std::string workdir;                           // -w
  std::string user;                              // -u user[:group], names or numbers
  std::string hostname;                          // --hostname; "" = the id's first 12 chars
  std::vector<PortMapping> ports;                // -p
  bool publish_all = false;                      // -P
  std::string network;                           // "" (default network), none, host, NAME, container:ID
  std::vector<std::string> network_aliases;      // --network-alias: more DNS names on its DNS-enabled networks
  std::vector<std::string> dns, dns_search, dns_options, add_hosts;  // --dns..., --add-host host:ip
  bool detach = false, interactive = false, tty = false, remove = false;
  bool read_only = false, privileged = false, init = false, no_new_privileges = false;
  std::vector<std::string> cap_add, cap_drop;    // "NET_ADMIN" or "CAP_NET_ADMIN", "ALL"
  std::string seccomp;                           // "" = Berth's default, "unconfined", or a profile path
  std::optional<int64_t> memory;                 // bytes
  std::optional<int64_t> memory_swap;            // bytes, -1 = unlimited
  std::optional<double> cpus;
  std::optional<int64_t> pids_limit;
  std::vector<Ulimit> ulimits;
  Restart restart;
  std::string runtime;                           // handler name; "" = berth.toml's default
  std::string pod;                               // pod name or id
  std::map<std::string, std::string> labels;     // --label k=v (merged over the image's)
  std::map<std::string, std::string> annotations;
  std::string stop_signal;                       // --stop-signal; "" = image's or SIGTERM
  std::optional<int> stop_timeout;               // --stop-timeout seconds; default 10
  std::string cgroup_parent;
  std::vector<std::string> devices;              // --device /dev/x[:/dev/y[:rwm]]
  std::vector<std::string> sysctls;              // --sysctl k=v
  std::string shm_size;                          // --shm-size, default 64m
  bool operator==(const RunOptions&) const = default;
};

Result<std::string> run_options_to_json(const RunOptions& options);
Result<RunOptions> run_options_from_json(std::string_view json);

}  // namespace berth::engine

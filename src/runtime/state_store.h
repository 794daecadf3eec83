// On-disk state of the containers of one runtime root (--root, default
// /run/berth-runtime), versioned and written atomically:
//
//   <root>/<id>/state.json   ContainerRecord (version 1), tmp+fsync+rename
//   <root>/<id>/config.json  the config the container was created from (hooks at delete)
//   <root>/<id>/exec.fifo    present between create and start: init blocks on it
//   <root>/<id>/             flock'ed by every command acting on the container
#pragma once

#include <sys/types.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/fd.h"
#include "oci/spec.h"
#include "oci/state.h"

namespace berth::runtime {

inline constexpr int kStateVersion = 1;

struct ContainerRecord {
  std::string id;
  pid_t pid = 0;
  uint64_t pid_start_time = 0;  // /proc/<pid>/stat field 22: guards against pid reuse
  std::string bundle;
  std::string rootfs;
  std::string created;  // RFC 3339
  uid_t owner = 0;
  std::map<std::string, std::string> annotations;
  std::map<std::string, std::string> cgroup_paths;
  // linux.resources as applied (create, then each `update`); absent in the
  // state of a container that had none.
  std::optional<oci::Resources> resources;
};

class StateStore {
 public:
  explicit StateStore(std::string root) : root_(std::move(root)) {}

  const std::string& root() const { return root_; }
  std::string dir(const std::string& id) const { return root_ + "/" + id; }
  std::string fifo_path(const std::string& id) const { return dir(id) + "/exec.fifo"; }
  std::string config_path(const std::string& id) const { return dir(id) + "/config.json"; }

  // Creates <root>/<id>; fails with EEXIST naming the container when it exists.
  Result<> create_dir(const std::string& id) const;
  Result<> save(const ContainerRecord& rec) const;
  Result<ContainerRecord> load(const std::string& id) const;
  Result<std::vector<std::string>> list_ids() const;
  Result<> remove(const std::string& id) const;
  // An exclusive flock on the container's lock file, held while the fd lives.
  Result<UniqueFd> lock(const std::string& id) const;

 private:
  std::string root_;
};

// Container ids: letters, digits, "_", "+", "-", "."; not "." or "..".
Result<> validate_id(const std::string& id);

// The start time of a live pid, or 0 when the process is gone.
uint64_t process_start_time(pid_t pid);
// A pidfd of the container's init, checked against the recorded start time
// (a reused pid is "not running", ESRCH).
Result<UniqueFd> open_init_pidfd(const ContainerRecord& rec);

// created / running / stopped, from the record and the live system
// (Runtime::info adds paused: a live container whose cgroup is frozen).
oci::Status container_status(const StateStore& store, const ContainerRecord& rec);

// The runtime-spec state document (hooks' stdin).
std::string hook_state_json(const ContainerRecord& rec, oci::Status status);
// The `state` verb's document, as runc prints it.
std::string state_json(const ContainerRecord& rec, oci::Status status, bool pretty);

std::string rfc3339_now();

}  // namespace berth::runtime

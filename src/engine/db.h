// The engine's tables in berth.db, beside the image layer's (the same file,
// WAL mode, several berth processes and berthd at once). Every change is one
// write transaction; read-modify-write goes through update_*() so concurrent
// commands never lose each other's changes.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "base/fd.h"
#include "engine/records.h"

namespace berth::engine {

class EngineDb {
 public:
  // Opens (creating and migrating) the engine tables of `path` (Paths::db()).
  static Result<EngineDb> open(const std::string& path);
  EngineDb(EngineDb&&) noexcept;
  EngineDb& operator=(EngineDb&&) noexcept;
  ~EngineDb();

  // --- containers. Lookups take a full id, a name, or a unique id prefix;
  // ENOENT "no such container: X", EINVAL when a prefix is ambiguous.
  // add: EEXIST "the container name \"x\" is already in use by <id>".
  Result<> add_container(const ContainerRecord& c);
  Result<ContainerRecord> container(std::string_view id_or_name);
  Result<std::vector<ContainerRecord>> containers();
  Result<std::vector<ContainerRecord>> pod_containers(std::string_view pod_id);
  // Reads, lets `change` modify, writes back, in one write transaction.
  // An error from `change` rolls back and is returned.
  Result<ContainerRecord> update_container(std::string_view id, const std::function<Result<>(ContainerRecord&)>& change);
  Result<> rename_container(std::string_view id, std::string_view new_name);
  Result<> remove_container(std::string_view id);

  // --- pods (same lookup rules: "no such pod: X")
  Result<> add_pod(const PodRecord& p);
  Result<PodRecord> pod(std::string_view id_or_name);
  Result<std::vector<PodRecord>> pods();
  Result<PodRecord> update_pod(std::string_view id, const std::function<Result<>(PodRecord&)>& change);
  Result<> remove_pod(std::string_view id);  // EBUSY while containers remain in it

  // --- volumes ("no such volume: X")
  Result<> add_volume(const VolumeRecord& v);
  Result<VolumeRecord> volume(std::string_view name);
  Result<std::vector<VolumeRecord>> volumes();
  Result<> remove_volume(std::string_view name);
  // Removes it unless a container uses it (EBUSY naming them), checked and
  // removed in one transaction.
  Result<> remove_unused_volume(std::string_view name);
  // Containers (ids) whose mounts use the volume: ContainerRecord::volumes
  // and options.mounts of type volume.
  Result<std::vector<std::string>> volume_users(std::string_view name);

  // --- networks ("no such network: X")
  Result<> add_network(const NetworkRecord& n);
  Result<NetworkRecord> network(std::string_view name_or_id);
  Result<std::vector<NetworkRecord>> networks();
  Result<> remove_network(std::string_view name);

 private:
  struct Impl;
  explicit EngineDb(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// An exclusive flock on Paths::lock(id), held while a command changes one
// container's or pod's lifecycle (start, stop, cleanup, remove), so that two
// commands and a monitor's exit command never act on it at once.
Result<UniqueFd> lock_object(const std::string& lock_path);

// A new 64-hex-char id (random) and a docker-style name ("berth_<adj>_<noun>"
// is not needed: "<adjective>_<surname>" as docker makes them).
std::string new_id();
std::string new_name();
// A generated name no container has yet (new_name() retried); add_container
// stays strict, so a racing command can still take it: retry on EEXIST.
Result<std::string> unique_name(EngineDb& db);

}  // namespace berth::engine

// `update`: changes the resource limits of a created, running or paused
// container (runc update). The update's fields are laid over the resources
// the container has (its state), written to its cgroup, and the merged set
// saved back, so a later update or delete sees them.
#pragma once

#include <optional>
#include <string>

#include "base/error.h"
#include "oci/spec.h"
#include "runtime/state_store.h"

namespace berth::runtime {

struct UpdateRequest {
  oci::Resources resources;  // only the fields to change
  // Intel RDT schemata (--l3-cache-schema, --mem-bw-schema); empty: unchanged.
  std::string l3_cache_schema, mem_bw_schema;
};

// A memory size as runc's update flags take it (docker's RAMInBytes): a number
// with an optional binary unit, "64m", "1.5g", "512k", "100" (bytes); "-1" is
// unlimited. Errors name `flag`.
Result<int64_t> parse_ram_size(std::string_view value, std::string_view flag);

Result<> update_container(const StateStore& store, const std::string& id, const UpdateRequest& req);

}  // namespace berth::runtime

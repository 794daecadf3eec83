// `events`: a container's resource usage and OOM notifications as runc
// prints them, one JSON object per line:
//   {"type":"stats","id":ID,"data":{"cpu":...,"memory":...,"pids":...,...}}
//   {"type":"oom","id":ID}
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <string_view>

#include "base/error.h"
#include "runtime/cgroup_stats.h"
#include "runtime/container.h"

namespace berth::runtime {

struct EventsOptions {
  std::chrono::nanoseconds interval = std::chrono::seconds(5);
  bool stats_only = false;  // --stats: one stats event, then return
};

// --stats: one stats event. Otherwise a stats event every `interval` (the
// first after one interval) and an oom event at each OOM, until the
// container's init exits. `emit` gets each line (without the newline).
// Fails with "container with id ID is not running" for a stopped container.
Result<> stream_events(const Runtime& runtime, const std::string& id, const EventsOptions& opts,
                       const std::function<void(std::string_view)>& emit);

// The "data" object of a stats event (runc's types.Stats JSON: zero fields
// omitted where runc omits them).
std::string stats_to_json(const cgroup::Stats& stats);

// A Go duration ("5s", "100ms", "1m30s", "1.5h"), as runc's --interval takes it.
Result<std::chrono::nanoseconds> parse_duration(std::string_view text);

}  // namespace berth::runtime

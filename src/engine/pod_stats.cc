#include "engine/pod_stats.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace berth::engine {
namespace {

bool has_init(const ContainerRecord& c) {
  return c.pid > 0 && (c.state == ContainerState::running || c.state == ContainerState::paused);
}

std::string percent(double value) { return fmt::format("{:.2f}%", value); }

struct Texts {
  std::string cpu, mem_usage, mem_usage_bytes, mem, net, block, pids;
};

Texts texts(const ContainerStats& s) {
  auto pair = [](uint64_t a, uint64_t b, auto size) {
    return size(static_cast<double>(a)) + " / " + size(static_cast<double>(b));
  };
  return Texts{percent(s.cpu_percent),
               pair(s.mem_usage, s.mem_limit, human_size),
               pair(s.mem_usage, s.mem_limit, binary_size),
               percent(s.mem_percent),
               pair(s.net_rx, s.net_tx, human_size),
               pair(s.block_read, s.block_write, human_size),
               std::to_string(s.pids)};
}

}  // namespace

Result<std::vector<PodContainerStats>> PodStatsReader::read(const std::vector<std::string>& names) {
  std::vector<PodRecord> pods;
  if (names.empty()) {
    BERTH_TRY_ASSIGN(all, db_->pods());
    pods = std::move(all);
  } else {
    for (const auto& name : names) {
      BERTH_TRY_ASSIGN(pod, db_->pod(name));
      pods.push_back(std::move(pod));
    }
  }
  std::vector<PodContainerStats> rows;
  std::map<std::string, StatsSample> current;
  for (const auto& pod : pods) {
    auto containers = db_->pod_containers(pod.id);
    if (!containers && containers.error().code() == ENOENT) continue;  // removed meanwhile
    if (!containers) return std::unexpected(std::move(containers).error());
    for (const auto& c : *containers) {
      if (!has_init(c)) continue;
      auto sample = sample_stats(c.pid);
      if (!sample) continue;  // exited meanwhile
      auto prev = previous_.find(c.id);
      ContainerStats s = compute_stats(*sample, prev == previous_.end() ? nullptr : &prev->second, c.started_at,
                                       host_memory_);
      s.id = c.id;
      s.name = c.name;
      rows.push_back(PodContainerStats{pod.id, std::move(s)});
      current.emplace(c.id, std::move(*sample));
    }
  }
  previous_ = std::move(current);
  return rows;
}

std::string format_pod_stats_table(const std::vector<PodContainerStats>& rows) {
  auto line = [](std::string_view pod, std::string_view cid, std::string_view name, std::string_view cpu,
                 std::string_view mem, std::string_view mem_pct, std::string_view net, std::string_view block,
                 std::string_view pids) {
    return fmt::format("{:<14}{:<14}{:<20}{:<10}{:<22}{:<10}{:<18}{:<18}{}\n", pod, cid, name, cpu, mem, mem_pct, net,
                       block, pids);
  };
  std::string out = line("POD", "CID", "NAME", "CPU %", "MEM USAGE/ LIMIT", "MEM %", "NET IO", "BLOCK IO", "PIDS");
  for (const auto& r : rows) {
    Texts t = texts(r.stats);
    out += line(r.pod_id.substr(0, 12), r.stats.id.substr(0, 12), r.stats.name, t.cpu, t.mem_usage, t.mem, t.net,
                t.block, t.pids);
  }
  return out;
}

std::string format_pod_stats_json(const std::vector<PodContainerStats>& rows) {
  auto out = nlohmann::ordered_json::array();
  for (const auto& r : rows) {
    Texts t = texts(r.stats);
    out.push_back({{"CPU", t.cpu},
                   {"MemUsage", t.mem_usage},
                   {"MemUsageBytes", t.mem_usage_bytes},
                   {"Mem", t.mem},
                   {"NetIO", t.net},
                   {"BlockIO", t.block},
                   {"PIDS", t.pids},
                   {"Pod", r.pod_id.substr(0, 12)},
                   {"CID", r.stats.id.substr(0, 12)},
                   {"Name", r.stats.name}});
  }
  return out.dump(4) + "\n";
}

}  // namespace berth::engine

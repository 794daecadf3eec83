// ps: listing and docker's filters.
#include <algorithm>
#include <cerrno>

#include "engine/engine_internal.h"

namespace berth::engine {
namespace {

constexpr std::string_view kFilterKeys[] = {"id", "name", "status", "label", "ancestor", "exited"};

bool matches_term(const ContainerRecord& c, const std::string& key, const std::string& value) {
  if (key == "id") return c.id.starts_with(value);
  if (key == "name") return c.name.find(value) != std::string::npos;
  if (key == "status") return value == state_name(c.state);
  if (key == "exited") return c.state == ContainerState::stopped && std::to_string(c.exit_code) == value;
  if (key == "ancestor")
    return c.image_name == value || c.options.image == value || c.image_id == value ||
           (c.image_id.size() > 7 && c.image_id.substr(7).starts_with(value)) ||
           c.image_name.starts_with(value + ":") || c.image_name.ends_with("/" + value) ||
           c.image_name.ends_with("/" + value + ":latest");
  if (key == "label") {
    auto eq = value.find('=');
    auto it = c.options.labels.find(value.substr(0, eq));
    if (it == c.options.labels.end()) return false;
    return eq == std::string::npos || it->second == value.substr(eq + 1);
  }
  return false;
}

}  // namespace

Result<ContainerFilter> parse_container_filter(const std::vector<std::string>& filters) {
  ContainerFilter f;
  for (const auto& text : filters) {
    auto eq = text.find('=');
    if (eq == std::string::npos)
      return std::unexpected(Error(EINVAL, fmt::format("--filter \"{}\": want KEY=VALUE", text)));
    std::string key = text.substr(0, eq);
    if (std::find(std::begin(kFilterKeys), std::end(kFilterKeys), key) == std::end(kFilterKeys))
      return std::unexpected(Error(EINVAL, fmt::format("--filter \"{}\": unknown key \"{}\" (id, name, status, "
                                                       "label, ancestor, exited)",
                                                       text, key)));
    std::string value = text.substr(eq + 1);
    if (key == "status" && value != "created" && value != "running" && value != "paused" && value != "exited")
      return std::unexpected(
          Error(EINVAL, fmt::format("--filter \"{}\": status is created, running, paused or exited", text)));
    f.terms.emplace(std::move(key), std::move(value));
  }
  return f;
}

Result<std::vector<ContainerRecord>> Engine::list(bool all, const ContainerFilter& filter) {
  BERTH_TRY_ASSIGN(rows, impl_->db.containers());
  std::vector<ContainerRecord> out;
  for (auto& row : rows) {
    ContainerRecord c = impl_->refreshed(std::move(row));
    if (!all && filter.terms.empty() && c.state != ContainerState::running && c.state != ContainerState::paused)
      continue;
    bool keep = true;
    for (auto it = filter.terms.begin(); keep && it != filter.terms.end();) {
      auto range = filter.terms.equal_range(it->first);
      bool any = false;
      for (auto t = range.first; t != range.second; ++t) any = any || matches_term(c, t->first, t->second);
      keep = any;
      it = range.second;
    }
    if (keep) out.push_back(std::move(c));
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.created_at > b.created_at; });
  return out;
}

}  // namespace berth::engine

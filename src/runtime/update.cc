#include "runtime/update.h"


#include <cctype>
#include <string>

#include "base/file.h"
#include "oci/config.h"
#include "runtime/cgroup.h"
#include "runtime/cgroup_convert.h"
#include "runtime/cgroup_resources.h"

namespace berth::runtime {
namespace {

// Intel RDT lives in the resctrl filesystem, not in a cgroup; Berth's create
// makes no resctrl group, so a schema can only be refused, clearly.
Result<> check_intel_rdt(const UpdateRequest& req) {
  if (req.l3_cache_schema.empty() && req.mem_bw_schema.empty()) return {};
  std::string_view flag = req.l3_cache_schema.empty() ? "--mem-bw-schema" : "--l3-cache-schema";
  BERTH_TRY_ASSIGN(mountinfo, read_file("/proc/self/mountinfo"));
  if (mountinfo.find(" - resctrl ") == std::string::npos)
    return error("{}: Intel RDT is not available: the resctrl filesystem is not mounted (/sys/fs/resctrl)", flag);
  return error("{}: the container was created without linux.intelRdt, so it has no resctrl group to update", flag);
}

}  // namespace

Result<int64_t> parse_ram_size(std::string_view value, std::string_view flag) {
  if (value == "-1") return -1;
  std::string s(value);
  size_t i = 0;
  while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.')) ++i;
  if (i == 0) return error("{}: invalid size \"{}\"", flag, value);
  double number = 0;
  try {
    number = std::stod(s.substr(0, i));
  } catch (const std::exception&) {
    return error("{}: invalid size \"{}\"", flag, value);
  }
  std::string unit;
  for (char c : s.substr(i)) unit += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (unit.ends_with("ib")) unit.resize(unit.size() - 2);
  else if (unit.size() > 1 && unit.back() == 'b') unit.pop_back();
  static constexpr std::string_view kUnits = "kmgtp";
  double scale = 1;
  if (!unit.empty() && unit != "b") {
    size_t pos = unit.size() == 1 ? kUnits.find(unit[0]) : std::string_view::npos;
    if (pos == std::string_view::npos) return error("{}: invalid size \"{}\": unknown unit", flag, value);
    for (size_t k = 0; k <= pos; ++k) scale *= 1024;
  }
  double bytes = number * scale;
  if (bytes >= 9.2e18) return error("{}: size \"{}\" is too large", flag, value);
  return static_cast<int64_t>(bytes);
}

Result<> update_container(const StateStore& store, const std::string& id, const UpdateRequest& req) {
  BERTH_TRY(check_intel_rdt(req));
  BERTH_TRY(oci::validate_resources(req.resources));
  BERTH_TRY_ASSIGN(lock, store.lock(id));
  BERTH_TRY_ASSIGN(rec, store.load(id));
  if (container_status(store, rec) == oci::Status::stopped)
    return error("cannot update container \"{}\": it is stopped", id);
  if (rec.cgroup_paths.empty()) return error("container \"{}\" has no cgroup", id);
  oci::Resources merged = cgroup::merge_resources(rec.resources.value_or(oci::Resources{}), req.resources);
  BERTH_TRY(oci::validate_resources(merged));
  BERTH_TRY_ASSIGN(layout, cgroup::detect_layout());
  BERTH_TRY(cgroup::apply_resources(layout, rec.cgroup_paths, cgroup::update_delta(merged, req.resources),
                                    {.update = true}));
  rec.resources = std::move(merged);
  return store.save(rec);
}

}  // namespace berth::runtime

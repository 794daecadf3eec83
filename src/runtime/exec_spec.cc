// The process `exec` runs, from its flags and the container's config (pure).
#include <charconv>
#include <limits>
#include <map>

#include "oci/config.h"
#include "runtime/exec.h"

namespace berth::runtime {
namespace {

Result<uint32_t> parse_id(std::string_view s, std::string_view what, std::string_view whole) {
  uint32_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size())
    return error("--user \"{}\": {} \"{}\" is not a number", whole, what, s);
  return v;
}

void add_unique(std::vector<std::string>& set, const std::string& cap) {
  for (const auto& c : set)
    if (c == cap) return;
  set.push_back(cap);
}

}  // namespace

Result<std::pair<uint32_t, std::optional<uint32_t>>> parse_exec_user(std::string_view user) {
  auto colon = user.find(':');
  BERTH_TRY_ASSIGN(uid, parse_id(user.substr(0, colon), "uid", user));
  if (colon == std::string_view::npos) return std::pair{uid, std::optional<uint32_t>{}};
  BERTH_TRY_ASSIGN(gid, parse_id(user.substr(colon + 1), "gid", user));
  return std::pair{uid, std::optional<uint32_t>{gid}};
}

std::vector<std::string> merge_env(const std::vector<std::string>& env) {
  std::vector<std::string> out;
  std::map<std::string, size_t, std::less<>> index;
  for (const auto& e : env) {
    std::string key = e.substr(0, e.find('='));
    auto [it, fresh] = index.try_emplace(key, out.size());
    if (fresh) out.push_back(e);
    else out[it->second] = e;
  }
  return out;
}

Result<oci::Process> exec_process_from_flags(const ExecOptions& opts, const oci::Process& base) {
  oci::Process p = base;
  p.args = opts.args;
  if (!opts.cwd.empty()) p.cwd = opts.cwd;
  if (!opts.apparmor.empty()) p.apparmor_profile = opts.apparmor;
  if (!opts.process_label.empty()) p.selinux_label = opts.process_label;
  if (!opts.caps.empty()) {
    if (!p.capabilities) p.capabilities.emplace();
    auto& c = *p.capabilities;
    // Ambient needs the capability inheritable too, which --cap does not add:
    // only a container that uses inheritable capabilities gets it ambient (runc).
    bool ambient = !c.inheritable.empty();
    for (const auto& cap : opts.caps) {
      add_unique(c.bounding, cap);
      add_unique(c.effective, cap);
      add_unique(c.permitted, cap);
      if (ambient) add_unique(c.ambient, cap);
    }
  }
  p.env.insert(p.env.end(), opts.env.begin(), opts.env.end());
  p.env = merge_env(p.env);
  p.terminal = opts.tty;
  // The container's console size belongs to its own terminal.
  p.console_size.reset();
  if (opts.no_new_privs) p.no_new_privileges = *opts.no_new_privs;
  if (!opts.user.empty()) {
    BERTH_TRY_ASSIGN(ids, parse_exec_user(opts.user));
    p.user.uid = ids.first;
    if (ids.second) p.user.gid = *ids.second;
  }
  for (int64_t gid : opts.additional_gids) {
    if (gid < 0 || gid > std::numeric_limits<uint32_t>::max())
      return error("--additional-gids: {} is not a valid group id", gid);
    p.user.additional_gids.push_back(static_cast<uint32_t>(gid));
  }
  if (p.args.empty()) return error("process args cannot be empty");
  BERTH_TRY(oci::validate_process(p));
  return p;
}

oci::Process with_container_defaults(oci::Process p, const oci::Process& c) {
  if (!p.capabilities) p.capabilities = c.capabilities;
  if (p.rlimits.empty()) p.rlimits = c.rlimits;
  if (p.apparmor_profile.empty()) p.apparmor_profile = c.apparmor_profile;
  if (p.selinux_label.empty()) p.selinux_label = c.selinux_label;
  p.no_new_privileges = p.no_new_privileges || c.no_new_privileges;
  return p;
}

}  // namespace berth::runtime

#include "runtime/mount_options.h"

#include <sys/mount.h>

#include <algorithm>
#include <string_view>

namespace berth::runtime {
namespace {

struct FlagOption {
  std::string_view name;
  bool clear;  // true: the option clears `flag` ("rw", "suid"...)
  unsigned long flag;
};

// mount(8)'s filesystem-independent options, and the spec's additions.
constexpr FlagOption kFlagOptions[] = {
    {"async", true, MS_SYNCHRONOUS},
    {"atime", true, MS_NOATIME},
    {"defaults", false, 0},
    {"dev", true, MS_NODEV},
    {"diratime", true, MS_NODIRATIME},
    {"dirsync", false, MS_DIRSYNC},
    {"exec", true, MS_NOEXEC},
    {"iversion", false, MS_I_VERSION},
    {"lazytime", false, MS_LAZYTIME},
    {"loud", true, MS_SILENT},
    {"mand", false, MS_MANDLOCK},
    {"noatime", false, MS_NOATIME},
    {"nodev", false, MS_NODEV},
    {"nodiratime", false, MS_NODIRATIME},
    {"noexec", false, MS_NOEXEC},
    {"noiversion", true, MS_I_VERSION},
    {"nolazytime", true, MS_LAZYTIME},
    {"nomand", true, MS_MANDLOCK},
    {"norelatime", true, MS_RELATIME},
    {"nostrictatime", true, MS_STRICTATIME},
    {"nosuid", false, MS_NOSUID},
    {"nosymfollow", false, MS_NOSYMFOLLOW},
    {"relatime", false, MS_RELATIME},
    {"remount", false, MS_REMOUNT},
    {"ro", false, MS_RDONLY},
    {"rw", true, MS_RDONLY},
    {"silent", false, MS_SILENT},
    {"strictatime", false, MS_STRICTATIME},
    {"suid", true, MS_NOSUID},
    {"symfollow", true, MS_NOSYMFOLLOW},
    {"sync", false, MS_SYNCHRONOUS},
};

constexpr std::pair<std::string_view, unsigned long> kPropagation[] = {
    {"private", MS_PRIVATE},       {"rprivate", MS_PRIVATE | MS_REC},
    {"shared", MS_SHARED},         {"rshared", MS_SHARED | MS_REC},
    {"slave", MS_SLAVE},           {"rslave", MS_SLAVE | MS_REC},
    {"unbindable", MS_UNBINDABLE}, {"runbindable", MS_UNBINDABLE | MS_REC},
};

struct AttrOption {
  std::string_view name;
  bool clear;
  uint64_t attr;
};

constexpr AttrOption kAttrOptions[] = {
    {"rro", false, MOUNT_ATTR_RDONLY},           {"rrw", true, MOUNT_ATTR_RDONLY},
    {"rnosuid", false, MOUNT_ATTR_NOSUID},       {"rsuid", true, MOUNT_ATTR_NOSUID},
    {"rnodev", false, MOUNT_ATTR_NODEV},         {"rdev", true, MOUNT_ATTR_NODEV},
    {"rnoexec", false, MOUNT_ATTR_NOEXEC},       {"rexec", true, MOUNT_ATTR_NOEXEC},
    {"rnodiratime", false, MOUNT_ATTR_NODIRATIME}, {"rdiratime", true, MOUNT_ATTR_NODIRATIME},
    {"rnosymfollow", false, MOUNT_ATTR_NOSYMFOLLOW}, {"rsymfollow", true, MOUNT_ATTR_NOSYMFOLLOW},
};

// The atime mode is one value for mount_setattr (the kernel refuses clearing
// a single atime bit): "ratime", "rnorelatime" and "rnostrictatime" return to
// the default, relatime.
constexpr std::pair<std::string_view, uint64_t> kAttrAtime[] = {
    {"rnoatime", MOUNT_ATTR_NOATIME},   {"rstrictatime", MOUNT_ATTR_STRICTATIME},
    {"rrelatime", MOUNT_ATTR_RELATIME}, {"ratime", MOUNT_ATTR_RELATIME},
    {"rnorelatime", MOUNT_ATTR_RELATIME}, {"rnostrictatime", MOUNT_ATTR_RELATIME},
};

}  // namespace

MountOptions parse_mount_options(const std::vector<std::string>& options, const std::string& type) {
  MountOptions out;
  if (type == "bind" || type == "rbind") {
    out.bind = true;
    out.recursive = type == "rbind";
  }
  for (const std::string& opt : options) {
    if (opt == "bind") {
      out.bind = true;
      continue;
    }
    if (opt == "rbind") {
      out.bind = out.recursive = true;
      continue;
    }
    if (opt == "idmap") {
      out.idmap = true;
      continue;
    }
    if (opt == "ridmap") {
      out.ridmap = true;
      continue;
    }
    if (opt == "tmpcopyup") {
      out.tmpcopyup = true;
      continue;
    }
    bool known = false;
    for (const FlagOption& f : kFlagOptions) {
      if (opt != f.name) continue;
      known = true;
      if (f.clear) {
        out.flags &= ~f.flag;
        out.cleared |= f.flag;
      } else {
        out.flags |= f.flag;
        out.cleared &= ~f.flag;
      }
      break;
    }
    for (const auto& [name, flag] : kPropagation) {
      if (known || opt != name) continue;
      known = true;
      out.propagation.push_back(flag);
    }
    for (const AttrOption& a : kAttrOptions) {
      if (known || opt != a.name) continue;
      known = true;
      if (a.clear) {
        out.attr_clr |= a.attr;
        out.attr_set &= ~a.attr;
      } else {
        out.attr_set |= a.attr;
        out.attr_clr &= ~a.attr;
      }
    }
    for (const auto& [name, attr] : kAttrAtime) {
      if (known || opt != name) continue;
      known = true;
      out.attr_atime = attr;
    }
    if (known || opt.empty()) continue;
    if (!out.data.empty()) out.data += ',';
    out.data += opt;
  }
  return out;
}

std::vector<std::string> known_mount_options() {
  std::vector<std::string> out = {"bind", "rbind", "tmpcopyup"};
  if (kIdmappedMounts) out.insert(out.end(), {"idmap", "ridmap"});
  for (const FlagOption& f : kFlagOptions) out.emplace_back(f.name);
  for (const auto& [name, flag] : kPropagation) out.emplace_back(name);
  for (const AttrOption& a : kAttrOptions) out.emplace_back(a.name);
  for (const auto& [name, attr] : kAttrAtime) out.emplace_back(name);
  std::sort(out.begin(), out.end());
  return out;
}

std::optional<unsigned long> parse_propagation(const std::string& value) {
  if (value.empty()) return 0UL;
  for (const auto& [name, flag] : kPropagation) {
    if (value == name) return flag;
  }
  return std::nullopt;
}

}  // namespace berth::runtime

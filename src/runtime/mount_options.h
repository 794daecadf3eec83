// Parsing of a config.json mount's "options" into mount(2) flags, propagation
// changes, recursive mount_setattr(2) attributes and filesystem data. Pure:
// no syscalls, so it is unit-tested without root.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace berth::runtime {

struct MountOptions {
  unsigned long flags = 0;  // MS_* for mount(2), in option order ("ro" then "rw" leaves rw)
  // MS_* the options asked to clear explicitly ("rw", "suid", "dev"...); a bind
  // mount's remount keeps a source's flag unless it is here.
  unsigned long cleared = 0;
  bool bind = false;       // "bind" or "rbind" (or type "bind")
  bool recursive = false;  // "rbind"
  // "private", "rshared"...: MS_PRIVATE|MS_REC..., one mount(2) call each, in order.
  std::vector<unsigned long> propagation;
  // Recursive attributes ("rro", "rnosuid"...) for mount_setattr(AT_RECURSIVE).
  uint64_t attr_set = 0;
  uint64_t attr_clr = 0;
  std::optional<uint64_t> attr_atime;  // MOUNT_ATTR_RELATIME/NOATIME/STRICTATIME from "rnoatime"...
  bool idmap = false;      // "idmap": idmapped mount of this mount only
  bool ridmap = false;     // "ridmap": of the whole tree
  bool tmpcopyup = false;  // tmpfs: copy the directory's content up into the new tmpfs
  std::string data;        // everything else, comma-separated: "mode=755,size=65536k"

  bool has_recursive_attrs() const { return attr_set != 0 || attr_clr != 0 || attr_atime.has_value(); }
};

// Parses `options` in order; `type` "bind" makes a bind mount even without the option.
// Unknown options go to `data`, as mount(8) passes filesystem-specific ones.
MountOptions parse_mount_options(const std::vector<std::string>& options, const std::string& type = "");

// Every option name parse_mount_options() recognizes (not the filesystem
// data it passes on), for `features`; "idmap"/"ridmap" only when
// kIdmappedMounts.
std::vector<std::string> known_mount_options();

// Idmapped mounts (mounts[].uidMappings/gidMappings, "idmap"/"ridmap") are
// implemented: the one place `features` (mountExtensions.idmap) reads it from.
inline constexpr bool kIdmappedMounts = true;

// rootfsPropagation ("shared", "rslave", "private", "unbindable"...) to MS_* flags;
// nullopt for an unknown value. "" gives 0 (not set).
std::optional<unsigned long> parse_propagation(const std::string& value);

}  // namespace berth::runtime

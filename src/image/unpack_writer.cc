#include "image/unpack_writer.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/openat2.h"
#include "image/remove_tree.h"

namespace berth::image {
namespace {

constexpr std::string_view kWhiteoutPrefix = ".wh.";
constexpr std::string_view kWhiteoutMetaPrefix = ".wh..wh.";
constexpr std::string_view kOpaqueMarker = ".wh..wh..opq";
constexpr uint64_t kInRoot = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;

// The entry's name as stored: raw bytes for ustar/GNU names (the C locale
// copies them), UTF-8 for pax names that the locale cannot represent.
const char* entry_path(archive_entry* e) {
  const char* p = archive_entry_pathname(e);
  return p != nullptr ? p : archive_entry_pathname_utf8(e);
}
const char* entry_symlink(archive_entry* e) {
  const char* p = archive_entry_symlink(e);
  return p != nullptr ? p : archive_entry_symlink_utf8(e);
}
const char* entry_hardlink(archive_entry* e) {
  const char* p = archive_entry_hardlink(e);
  return p != nullptr ? p : archive_entry_hardlink_utf8(e);
}

void split(const std::string& path, std::string& dir, std::string& base) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) {
    dir.clear();
    base = path;
  } else {
    dir = path.substr(0, slash);
    base = path.substr(slash + 1);
  }
}

// Overlayfs keeps its own metadata in these xattrs (opaque, redirect,
// metacopy...); a layer may set them only through whiteout entries.
bool overlay_private_xattr(std::string_view name) {
  return name.starts_with("trusted.overlay.") || name.starts_with("user.overlay.");
}

std::string proc_path(int parent, const std::string& name) {
  return "/proc/self/fd/" + std::to_string(parent) + "/" + name;
}

}  // namespace

const char* archive_message(archive* a) {
  const char* m = archive_error_string(a);
  return m != nullptr ? m : "unknown error";
}

Result<std::string> clean_entry_path(std::string_view name) {
  std::string out;
  size_t i = 0;
  while (i < name.size()) {
    size_t j = name.find('/', i);
    if (j == std::string_view::npos) j = name.size();
    std::string_view part = name.substr(i, j - i);
    i = j + 1;
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      if (out.empty()) return error("path \"{}\" leaves the layer", name);
      const size_t slash = out.rfind('/');
      out.resize(slash == std::string::npos ? 0 : slash);
      continue;
    }
    if (!out.empty()) out += '/';
    out.append(part);
  }
  return out;
}

LayerWriter::LayerWriter(const UniqueFd& root, const UnpackOptions& options) : root_(root), options_(options) {}

Result<int> LayerWriter::dir_fd(const std::string& path, bool create) {
  if (path.empty()) return root_.get();
  if (cached_fd_ && cached_path_ == path) return cached_fd_.get();
  UniqueFd fd = openat2_fd(root_.get(), path.c_str(), O_PATH | O_DIRECTORY, 0, kInRoot);
  if (!fd && errno == ENOENT && create) {
    BERTH_TRY_ASSIGN(made, make_dirs(path));
    fd = std::move(made);
  }
  if (!fd) return sys_error(errno, "open directory \"{}\"", path);
  cached_fd_ = std::move(fd);
  cached_path_ = path;
  return cached_fd_.get();
}

// Creates the missing directories of `path` below the deepest one that
// exists, as continuity's RootPath + MkdirAll do for containerd: a dangling
// symlink on the way is followed by splicing its target into the path (an
// absolute one from the layer root), so the directories are made where the
// symlink points, inside the layer. Every open is confined by RESOLVE_IN_ROOT
// and ".." is left for the kernel to resolve physically.
Result<UniqueFd> LayerWriter::make_dirs(const std::string& path) {
  std::vector<std::string> parts;
  auto append_parts = [&](std::string_view p) {
    size_t i = 0;
    while (i <= p.size()) {
      size_t j = p.find('/', i);
      if (j == std::string_view::npos) j = p.size();
      std::string_view part = p.substr(i, j - i);
      if (!part.empty() && part != ".") parts.emplace_back(part);
      i = j + 1;
    }
  };
  append_parts(path);
  auto join = [&](size_t n) {
    std::string out;
    for (size_t i = 0; i < n; ++i) {
      if (i > 0) out += '/';
      out += parts[i];
    }
    return out.empty() ? std::string(".") : out;
  };
  for (int links = 0; links <= 40; ++links) {
    // The deepest existing directory.
    size_t have = parts.size();
    UniqueFd base;
    for (;; --have) {
      base = openat2_fd(root_.get(), join(have).c_str(), O_PATH | O_DIRECTORY, 0, kInRoot);
      if (base) break;
      if (errno != ENOENT) return sys_error(errno, "open directory \"{}\"", join(have));
      if (have == 0) return sys_error(ENOENT, "open the layer directory");
    }
    bool restarted = false;
    for (size_t i = have; i < parts.size(); ++i) {
      const std::string& name = parts[i];
      if (::mkdirat(base.get(), name.c_str(), 0755) < 0) {
        if (errno != EEXIST) return sys_error(errno, "create directory \"{}\"", join(i + 1));
        struct stat st {};
        if (::fstatat(base.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0) {
          return sys_error(errno, "stat \"{}\"", join(i + 1));
        }
        if (S_ISLNK(st.st_mode)) {
          char target[4096];
          ssize_t n = ::readlinkat(base.get(), name.c_str(), target, sizeof target);
          if (n < 0 || static_cast<size_t>(n) == sizeof target) {
            return sys_error(n < 0 ? errno : ENAMETOOLONG, "readlink \"{}\"", join(i + 1));
          }
          std::vector<std::string> rest(parts.begin() + static_cast<long>(i) + 1, parts.end());
          if (target[0] == '/') {
            parts.clear();
          } else {
            parts.resize(i);
          }
          append_parts(std::string_view(target, static_cast<size_t>(n)));
          parts.insert(parts.end(), rest.begin(), rest.end());
          restarted = true;
          break;
        }
        if (!S_ISDIR(st.st_mode)) return sys_error(ENOTDIR, "create directory \"{}\"", join(i + 1));
      }
      base = openat2_fd(root_.get(), join(i + 1).c_str(), O_PATH | O_DIRECTORY, 0, kInRoot);
      if (!base) return sys_error(errno, "open directory \"{}\"", join(i + 1));
    }
    if (!restarted) return base;
  }
  return sys_error(ELOOP, "create directory \"{}\"", path);
}

Result<> LayerWriter::make_room(int parent, const std::string& name, const std::string& path, bool keep_dir) {
  struct stat st {};
  if (::fstatat(parent, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0) {
    if (errno == ENOENT) return {};
    return sys_error(errno, "stat \"{}\"", path);
  }
  if (keep_dir && S_ISDIR(st.st_mode)) return {};
  // The cached directory may be what is replaced or below it. (It is never
  // `parent`, a directory above `path`, which the caller goes on using.)
  if (cached_fd_ && (cached_path_ == path || cached_path_.starts_with(path + "/"))) {
    cached_fd_.reset();
    cached_path_.clear();
  }
  if (S_ISDIR(st.st_mode)) return remove_tree_at(parent, name, path);
  if (::unlinkat(parent, name.c_str(), 0) < 0) return sys_error(errno, "replace \"{}\"", path);
  return {};
}

Result<> LayerWriter::chown_at(int parent, const std::string& name, const std::string& path, const Meta& m) {
  if (!options_.preserve_ownership) return {};
  if (::fchownat(parent, name.c_str(), m.uid, m.gid, AT_SYMLINK_NOFOLLOW) < 0) {
    return sys_error(errno, "chown \"{}\" to {}:{}", path, m.uid, m.gid);
  }
  return {};
}

Result<> LayerWriter::apply_xattrs(archive_entry* e, int fd, int parent, const std::string& name,
                                   const std::string& path) {
  if (archive_entry_xattr_reset(e) == 0) return {};
  const char* key = nullptr;
  const void* value = nullptr;
  size_t size = 0;
  while (archive_entry_xattr_next(e, &key, &value, &size) == ARCHIVE_OK) {
    if (key == nullptr || overlay_private_xattr(key)) continue;
    int r = fd >= 0 ? ::fsetxattr(fd, key, value, size, 0)
                    : ::lsetxattr(proc_path(parent, name).c_str(), key, value, size, 0);
    if (r == 0) continue;
    // A filesystem without xattrs, or trusted.* without CAP_SYS_ADMIN: the
    // peers skip these too.
    if (errno == ENOTSUP || (errno == EPERM && std::string_view(key).starts_with("trusted."))) continue;
    return sys_error(errno, "set xattr \"{}\" on \"{}\"", key, path);
  }
  return {};
}

Result<> LayerWriter::write(archive* a, archive_entry* e) {
  const char* raw = entry_path(e);
  if (raw == nullptr) return error("entry without a path");
  BERTH_TRY_ASSIGN(path, clean_entry_path(raw));
  std::string dir, base;
  split(path, dir, base);

  Meta m{};
  m.uid = static_cast<uid_t>(archive_entry_uid(e));
  m.gid = static_cast<gid_t>(archive_entry_gid(e));
  m.perm = archive_entry_perm(e) & 07777;
  m.times[1] = {archive_entry_mtime(e), archive_entry_mtime_nsec(e)};
  m.times[0] = archive_entry_atime_is_set(e) ? timespec{archive_entry_atime(e), archive_entry_atime_nsec(e)}
                                             : m.times[1];

  if (base.starts_with(kWhiteoutPrefix)) return write_whiteout(e, dir, base, m);

  const mode_t type = archive_entry_filetype(e);
  const bool hardlink = entry_hardlink(e) != nullptr;
  if (path.empty()) {
    if (type != AE_IFDIR || hardlink) return error("a non-directory entry replaces the layer root");
    return write_dir(e, root_.get(), "", path, m);
  }
  if (hardlink) return write_hardlink(e, dir, base, path);
  BERTH_TRY_ASSIGN(parent, dir_fd(dir, true));
  switch (type) {
    case AE_IFDIR: return write_dir(e, parent, base, path, m);
    case AE_IFREG: return write_file(a, e, parent, base, path, m);
    case AE_IFLNK: return write_symlink(e, parent, base, path, m);
    case AE_IFCHR:
    case AE_IFBLK:
    case AE_IFIFO: return write_node(e, parent, base, path, m);
    default: return error("unsupported entry type {:o}", type);
  }
}

Result<> LayerWriter::write_dir(archive_entry* e, int parent, const std::string& name, const std::string& path,
                                const Meta& m) {
  UniqueFd fd;
  if (name.empty()) {
    fd = openat2_fd(root_.get(), ".", O_RDONLY | O_DIRECTORY, 0, kInRoot);
  } else {
    if (::mkdirat(parent, name.c_str(), 0700) < 0) {
      if (errno != EEXIST) return sys_error(errno, "create directory \"{}\"", path);
      BERTH_TRY(make_room(parent, name, path, /*keep_dir=*/true));
      if (::mkdirat(parent, name.c_str(), 0700) < 0 && errno != EEXIST) {
        return sys_error(errno, "create directory \"{}\"", path);
      }
    }
    fd = UniqueFd(::openat(parent, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  }
  if (!fd) return sys_error(errno, "open directory \"{}\"", path.empty() ? "." : path);
  if (options_.preserve_ownership && ::fchown(fd.get(), m.uid, m.gid) < 0) {
    return sys_error(errno, "chown \"{}\" to {}:{}", path, m.uid, m.gid);
  }
  BERTH_TRY(apply_xattrs(e, fd.get(), parent, name, path));
  dirs_.push_back({path, m.perm, {m.times[0], m.times[1]}});
  return {};
}

Result<> LayerWriter::write_file(archive* a, archive_entry* e, int parent, const std::string& name,
                                 const std::string& path, const Meta& m) {
  constexpr int kFlags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
  int raw = ::openat(parent, name.c_str(), kFlags, 0600);
  if (raw < 0 && errno == EEXIST) {
    BERTH_TRY(make_room(parent, name, path, false));
    raw = ::openat(parent, name.c_str(), kFlags, 0600);
  }
  if (raw < 0) return sys_error(errno, "create \"{}\"", path);
  UniqueFd fd(raw);
  const void* buf = nullptr;
  size_t size = 0;
  la_int64_t offset = 0;
  int64_t end = 0;
  for (;;) {
    int r = archive_read_data_block(a, &buf, &size, &offset);
    if (r == ARCHIVE_EOF) break;
    if (r < ARCHIVE_WARN) return error("read data of \"{}\": {}", path, archive_message(a));
    // Sparse files arrive as blocks at offsets with holes between them.
    const char* p = static_cast<const char*>(buf);
    while (size > 0) {
      ssize_t n = ::pwrite(fd.get(), p, size, offset);
      if (n < 0) {
        if (errno == EINTR) continue;
        return sys_error(errno, "write \"{}\"", path);
      }
      p += n;
      size -= static_cast<size_t>(n);
      offset += n;
    }
    end = std::max<int64_t>(end, offset);
  }
  if (archive_entry_size_is_set(e) && archive_entry_size(e) > end) {
    if (::ftruncate(fd.get(), archive_entry_size(e)) < 0) return sys_error(errno, "truncate \"{}\"", path);
  }
  // chown clears setuid/setgid and security.capability: it goes first.
  if (options_.preserve_ownership && ::fchown(fd.get(), m.uid, m.gid) < 0) {
    return sys_error(errno, "chown \"{}\" to {}:{}", path, m.uid, m.gid);
  }
  if (::fchmod(fd.get(), m.perm) < 0) return sys_error(errno, "chmod \"{}\"", path);
  BERTH_TRY(apply_xattrs(e, fd.get(), parent, name, path));
  if (::futimens(fd.get(), m.times) < 0) return sys_error(errno, "set times of \"{}\"", path);
  return {};
}

Result<> LayerWriter::write_symlink(archive_entry* e, int parent, const std::string& name,
                                    const std::string& path, const Meta& m) {
  const char* target = entry_symlink(e);
  if (target == nullptr) return error("symlink \"{}\" without a target", path);
  if (::symlinkat(target, parent, name.c_str()) < 0) {
    if (errno != EEXIST) return sys_error(errno, "create symlink \"{}\"", path);
    BERTH_TRY(make_room(parent, name, path, false));
    if (::symlinkat(target, parent, name.c_str()) < 0) return sys_error(errno, "create symlink \"{}\"", path);
  }
  BERTH_TRY(chown_at(parent, name, path, m));
  BERTH_TRY(apply_xattrs(e, -1, parent, name, path));
  if (::utimensat(parent, name.c_str(), m.times, AT_SYMLINK_NOFOLLOW) < 0) {
    return sys_error(errno, "set times of \"{}\"", path);
  }
  return {};
}

Result<> LayerWriter::write_hardlink(archive_entry* e, const std::string& dir, const std::string& name,
                                     const std::string& path) {
  BERTH_TRY_ASSIGN(target, clean_entry_path(entry_hardlink(e)));
  if (target.empty()) return error("hardlink \"{}\" to the layer root", path);
  if (target == path) return {};  // a link to itself: nothing to do
  std::string tdir, tbase;
  split(target, tdir, tbase);
  // The target's directory is resolved inside the layer like any path, so a
  // link can only ever name a file of this layer.
  BERTH_TRY_ASSIGN(tparent_cached, dir_fd(tdir, false));
  UniqueFd tparent(::fcntl(tparent_cached, F_DUPFD_CLOEXEC, 0));
  if (!tparent) return sys_error(errno, "dup directory fd");
  BERTH_TRY_ASSIGN(parent, dir_fd(dir, true));
  if (::linkat(tparent.get(), tbase.c_str(), parent, name.c_str(), 0) == 0) return {};
  if (errno != EEXIST) return sys_error(errno, "hardlink \"{}\" to \"{}\"", path, target);
  struct stat a {}, b {};
  if (::fstatat(tparent.get(), tbase.c_str(), &a, AT_SYMLINK_NOFOLLOW) == 0 &&
      ::fstatat(parent, name.c_str(), &b, AT_SYMLINK_NOFOLLOW) == 0 && a.st_dev == b.st_dev &&
      a.st_ino == b.st_ino) {
    return {};  // already that file
  }
  BERTH_TRY(make_room(parent, name, path, false));
  if (::linkat(tparent.get(), tbase.c_str(), parent, name.c_str(), 0) < 0) {
    return sys_error(errno, "hardlink \"{}\" to \"{}\"", path, target);
  }
  return {};
}

Result<> LayerWriter::write_node(archive_entry* e, int parent, const std::string& name, const std::string& path,
                                 const Meta& m) {
  const mode_t type = archive_entry_filetype(e);
  const dev_t dev = type == AE_IFIFO ? 0 : archive_entry_rdev(e);
  if (::mknodat(parent, name.c_str(), type | 0600, dev) < 0) {
    if (errno != EEXIST) {
      return sys_error(errno, "create {} \"{}\"", type == AE_IFIFO ? "fifo" : "device node", path);
    }
    BERTH_TRY(make_room(parent, name, path, false));
    if (::mknodat(parent, name.c_str(), type | 0600, dev) < 0) {
      return sys_error(errno, "create {} \"{}\"", type == AE_IFIFO ? "fifo" : "device node", path);
    }
  }
  BERTH_TRY(chown_at(parent, name, path, m));
  // The node was just made by us at `name`: following it cannot lead away.
  if (::fchmodat(parent, name.c_str(), m.perm, 0) < 0) return sys_error(errno, "chmod \"{}\"", path);
  BERTH_TRY(apply_xattrs(e, -1, parent, name, path));
  if (::utimensat(parent, name.c_str(), m.times, AT_SYMLINK_NOFOLLOW) < 0) {
    return sys_error(errno, "set times of \"{}\"", path);
  }
  return {};
}

// ".wh.<name>" deletes <name> of the lower layers: overlayfs' whiteout is a
// 0/0 character device. ".wh..wh..opq" hides all of its directory's lower
// contents: overlayfs' opaque xattr on the directory. Other ".wh..wh." names
// are AUFS bookkeeping, skipped as containerd and moby do.
Result<> LayerWriter::write_whiteout(archive_entry* e, const std::string& dir, const std::string& base,
                                     const Meta& m) {
  (void)e;
  const std::string prefix = options_.userxattr ? "user.overlay." : "trusted.overlay.";
  if (base == kOpaqueMarker) {
    BERTH_TRY(dir_fd(dir, true));
    UniqueFd fd = openat2_fd(root_.get(), dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY, 0, kInRoot);
    if (!fd) return sys_error(errno, "open directory \"{}\"", dir);
    if (::fsetxattr(fd.get(), (prefix + "opaque").c_str(), "y", 1, 0) < 0) {
      return sys_error(errno, "mark directory \"{}\" opaque ({}opaque)", dir, prefix);
    }
    return {};
  }
  if (base.starts_with(kWhiteoutMetaPrefix)) return {};
  const std::string name = base.substr(kWhiteoutPrefix.size());
  if (name.empty() || name == "." || name == "..") return error("whiteout of an invalid name \"{}\"", base);
  const std::string path = dir.empty() ? name : dir + "/" + name;
  BERTH_TRY_ASSIGN(parent, dir_fd(dir, true));
  if (::mknodat(parent, name.c_str(), S_IFCHR, makedev(0, 0)) < 0) {
    if (errno != EEXIST) return sys_error(errno, "create whiteout \"{}\"", path);
    BERTH_TRY(make_room(parent, name, path, false));
    if (::mknodat(parent, name.c_str(), S_IFCHR, makedev(0, 0)) < 0) {
      return sys_error(errno, "create whiteout \"{}\"", path);
    }
  }
  return chown_at(parent, name, path, m);
}

Result<> LayerWriter::finish() {
  // Deepest first is not needed (a child's chmod/utimens leaves its parent's
  // mtime alone); last record of a path wins, as in tar.
  for (const DirFix& d : dirs_) {
    UniqueFd fd = openat2_fd(root_.get(), d.path.empty() ? "." : d.path.c_str(),
                             O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0, kInRoot);
    if (!fd) {
      // Replaced by a later non-directory entry: nothing to fix.
      if (errno == ENOTDIR || errno == ELOOP || errno == ENOENT) continue;
      return sys_error(errno, "open directory \"{}\"", d.path);
    }
    if (::fchmod(fd.get(), d.perm) < 0) return sys_error(errno, "chmod \"{}\"", d.path);
    if (::futimens(fd.get(), d.times) < 0) return sys_error(errno, "set times of \"{}\"", d.path);
  }
  dirs_.clear();
  return {};
}

}  // namespace berth::image

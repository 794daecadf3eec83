#include "engine/copy.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <pthread.h>
#include <signal.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <map>
#include <memory>
#include <thread>
#include <utility>
#include <vector>

#include "base/openat2.h"
#include "image/unpack_writer.h"

namespace berth::engine {
namespace {

constexpr uint64_t kInRoot = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;

bool is_host(const CopySide& s) { return s.root == nullptr; }

std::string describe(const CopySide& s, std::string_view path) {
  return is_host(s) ? fmt::format("\"{}\"", path) : fmt::format("\"{}\" in the container", path);
}

// Strips trailing slashes (keeping a lone "/").
std::string_view trim_slashes(std::string_view p) {
  while (p.size() > 1 && p.back() == '/') p.remove_suffix(1);
  return p;
}

std::string base_name(std::string_view p) {
  p = trim_slashes(p);
  if (p == "/") return "";
  auto slash = p.rfind('/');
  std::string base(slash == std::string_view::npos ? p : p.substr(slash + 1));
  return base == "." ? "" : base;
}

std::string dir_name(std::string_view p) {
  p = trim_slashes(p);
  auto slash = p.rfind('/');
  if (slash == std::string_view::npos) return ".";
  if (slash == 0) return "/";
  return std::string(p.substr(0, slash));
}

// "dir/." (or "dir/./"): a directory's contents only.
bool names_contents(std::string_view p) {
  p = trim_slashes(p);
  return p == "." || p.ends_with("/.");
}

// Opens `path` of a side: inside the container's root, or on the host.
UniqueFd open_in(const CopySide& side, const std::string& path, int flags) {
  if (is_host(side)) return UniqueFd(::openat(AT_FDCWD, path.c_str(), flags | O_CLOEXEC));
  std::string rel = path.empty() ? "." : path;
  return openat2_fd(side.root->get(), rel.c_str(), flags, 0, kInRoot);
}

Result<PathKind> kind_of(const CopySide& side, const std::string& path, bool follow) {
  UniqueFd fd = open_in(side, path, O_PATH | (follow ? 0 : O_NOFOLLOW));
  if (!fd) {
    if (errno == ENOENT) return PathKind{};
    return sys_error(errno, "open {}", describe(side, path));
  }
  struct stat st{};
  if (::fstat(fd.get(), &st) < 0) return sys_error(errno, "stat {}", describe(side, path));
  return PathKind{true, S_ISDIR(st.st_mode)};
}

// A reopened O_PATH fd (reading needs a real open; the O_PATH fd already
// names the object, so nothing is looked up again by name).
UniqueFd reopen(int path_fd, int flags) {
  auto proc = fmt::format("/proc/self/fd/{}", path_fd);
  return UniqueFd(::open(proc.c_str(), flags | O_CLOEXEC | O_NOCTTY));
}

// Writes a tree as tar entries. Every object is held as an O_PATH fd opened
// without following symlinks from its parent directory's fd.
class TarProducer {
 public:
  TarProducer(archive* a, std::optional<std::pair<uid_t, gid_t>> owner) : a_(a), owner_(owner) {}

  Result<> add(int path_fd, const std::string& name, bool contents_only) {
    struct stat st{};
    if (::fstat(path_fd, &st) < 0) return sys_error(errno, "stat \"{}\"", name);
    if (contents_only) {
      if (!S_ISDIR(st.st_mode)) return error("\"{}\" is not a directory", name);
      return add_children(path_fd, "");
    }
    return add_object(path_fd, st, name);
  }

 private:
  Result<> add_object(int path_fd, const struct stat& st, const std::string& name) {
    std::unique_ptr<archive_entry, decltype(&archive_entry_free)> e(archive_entry_new(), archive_entry_free);
    archive_entry_set_pathname(e.get(), name.c_str());
    archive_entry_set_mode(e.get(), st.st_mode);
    archive_entry_set_uid(e.get(), owner_ ? owner_->first : st.st_uid);
    archive_entry_set_gid(e.get(), owner_ ? owner_->second : st.st_gid);
    archive_entry_set_mtime(e.get(), st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
    archive_entry_set_atime(e.get(), st.st_atim.tv_sec, st.st_atim.tv_nsec);

    if (!S_ISDIR(st.st_mode) && st.st_nlink > 1) {
      auto key = std::pair(st.st_dev, st.st_ino);
      if (auto it = links_.find(key); it != links_.end()) {
        archive_entry_set_hardlink(e.get(), it->second.c_str());
        archive_entry_set_size(e.get(), 0);
        return write_header(e.get(), name);
      }
      links_.emplace(key, name);
    }

    if (S_ISREG(st.st_mode)) {
      UniqueFd file = reopen(path_fd, O_RDONLY);
      if (!file) return sys_error(errno, "open \"{}\"", name);
      archive_entry_set_size(e.get(), st.st_size);
      BERTH_TRY(write_header(e.get(), name));
      return write_data(file.get(), st.st_size, name);
    }
    if (S_ISLNK(st.st_mode)) {
      std::string target(PATH_MAX, '\0');
      ssize_t n = ::readlinkat(path_fd, "", target.data(), target.size());
      if (n < 0) return sys_error(errno, "read symlink \"{}\"", name);
      target.resize(static_cast<size_t>(n));
      archive_entry_set_symlink(e.get(), target.c_str());
      return write_header(e.get(), name);
    }
    if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) || S_ISFIFO(st.st_mode)) {
      archive_entry_set_rdev(e.get(), st.st_rdev);
      return write_header(e.get(), name);
    }
    if (S_ISDIR(st.st_mode)) {
      BERTH_TRY(write_header(e.get(), name));
      return add_children(path_fd, name);
    }
    return {};  // sockets: nothing to copy (as tar)
  }

  Result<> add_children(int dir_path_fd, const std::string& prefix) {
    UniqueFd dir = reopen(dir_path_fd, O_RDONLY | O_DIRECTORY);
    if (!dir) return sys_error(errno, "open directory \"{}\"", prefix.empty() ? "." : prefix);
    // fdopendir takes its own fd: the O_PATH fd stays ours for the *at calls.
    struct CloseDir {
      void operator()(DIR* d) const { ::closedir(d); }
    };
    std::unique_ptr<DIR, CloseDir> d(::fdopendir(::dup(dir.get())));
    if (!d) return sys_error(errno, "read directory \"{}\"", prefix);
    std::vector<std::string> names;
    errno = 0;
    while (auto* ent = ::readdir(d.get())) {
      std::string_view n = ent->d_name;
      if (n != "." && n != "..") names.emplace_back(n);
    }
    if (errno != 0) return sys_error(errno, "read directory \"{}\"", prefix);
    std::sort(names.begin(), names.end());
    for (const auto& n : names) {
      std::string child = prefix.empty() ? n : prefix + "/" + n;
      UniqueFd fd(::openat(dir.get(), n.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
      if (!fd) {
        if (errno == ENOENT) continue;  // gone meanwhile
        return sys_error(errno, "open \"{}\"", child);
      }
      struct stat st{};
      if (::fstat(fd.get(), &st) < 0) return sys_error(errno, "stat \"{}\"", child);
      BERTH_TRY(add_object(fd.get(), st, child));
    }
    return {};
  }

  Result<> write_header(archive_entry* e, const std::string& name) {
    if (archive_write_header(a_, e) != ARCHIVE_OK)
      return sys_error(archive_errno(a_), "archive \"{}\": {}", name, image::archive_message(a_));
    return {};
  }

  Result<> write_data(int fd, off_t size, const std::string& name) {
    std::vector<char> buf(1 << 16);
    off_t left = size;
    while (left > 0) {
      ssize_t n = ::read(fd, buf.data(), std::min<off_t>(left, static_cast<off_t>(buf.size())));
      if (n < 0) {
        if (errno == EINTR) continue;
        return sys_error(errno, "read \"{}\"", name);
      }
      if (n == 0) {  // shrank while read: pad, as the header promised `size` bytes
        std::fill(buf.begin(), buf.end(), 0);
        n = std::min<off_t>(left, static_cast<off_t>(buf.size()));
      }
      if (archive_write_data(a_, buf.data(), static_cast<size_t>(n)) < 0)
        return sys_error(archive_errno(a_), "archive \"{}\": {}", name, image::archive_message(a_));
      left -= n;
    }
    return {};
  }

  archive* a_;
  std::optional<std::pair<uid_t, gid_t>> owner_;
  std::map<std::pair<dev_t, ino_t>, std::string> links_;
};

// Archives src (its top entry named top_name; "" = its contents) onto out_fd.
Result<> produce(const CopySide& src, const std::string& top_name, bool follow, int out_fd,
                 std::optional<std::pair<uid_t, gid_t>> owner) {
  UniqueFd fd = open_in(src, src.path, O_PATH | (follow ? 0 : O_NOFOLLOW));
  if (!fd) return sys_error(errno, "open {}", describe(src, src.path));
  std::unique_ptr<archive, decltype(&archive_write_free)> a(archive_write_new(), archive_write_free);
  archive_write_set_format_pax_restricted(a.get());
  archive_write_set_bytes_in_last_block(a.get(), 1);
  if (archive_write_open_fd(a.get(), out_fd) != ARCHIVE_OK)
    return error("start a tar stream: {}", image::archive_message(a.get()));
  TarProducer producer(a.get(), owner);
  BERTH_TRY(with_context(producer.add(fd.get(), top_name, top_name.empty()), describe(src, src.path)));
  if (archive_write_close(a.get()) != ARCHIVE_OK)
    return sys_error(archive_errno(a.get()), "finish the tar stream: {}", image::archive_message(a.get()));
  return {};
}

// Extracts the tar stream of in_fd into dst's directory `dir`.
Result<> consume(int in_fd, const CopySide& dst, const std::string& dir,
                 std::optional<std::pair<uid_t, gid_t>> owner) {
  UniqueFd root = open_in(dst, dir, O_RDONLY | O_DIRECTORY);
  if (!root) return sys_error(errno, "open directory {}", describe(dst, dir));
  std::unique_ptr<archive, decltype(&archive_read_free)> a(archive_read_new(), archive_read_free);
  archive_read_support_format_tar(a.get());
  archive_read_support_format_gnutar(a.get());
  archive_read_support_filter_all(a.get());
  if (archive_read_open_fd(a.get(), in_fd, 1 << 16) != ARCHIVE_OK)
    return error("read the tar stream: {}", image::archive_message(a.get()));
  image::LayerWriter writer(root, image::UnpackOptions{});
  for (;;) {
    archive_entry* e = nullptr;
    int r = archive_read_next_header(a.get(), &e);
    if (r == ARCHIVE_EOF) break;
    if (r < ARCHIVE_WARN) return error("read the tar stream: {}", image::archive_message(a.get()));
    if (owner) {
      archive_entry_set_uid(e, owner->first);
      archive_entry_set_gid(e, owner->second);
    }
    BERTH_TRY(with_context(writer.write(a.get(), e), fmt::format("extract into {}", describe(dst, dir))));
  }
  return writer.finish();
}

std::optional<std::pair<uid_t, gid_t>> owner_at(const CopySide& dst, const CopyOptions& options) {
  if (options.archive) return std::nullopt;
  if (is_host(dst)) return std::pair(::getuid(), ::getgid());
  return std::pair(uid_t{0}, gid_t{0});
}

}  // namespace

Result<CopyArg> parse_copy_arg(std::string_view arg) {
  if (arg.empty()) return error("an empty path");
  auto colon = arg.find(':');
  auto slash = arg.find('/');
  if (colon == std::string_view::npos || colon == 0 || (slash != std::string_view::npos && slash < colon))
    return CopyArg{std::nullopt, std::string(arg)};
  std::string path(arg.substr(colon + 1));
  if (path.empty()) return error("\"{}\": a container path is empty", arg);
  return CopyArg{std::string(arg.substr(0, colon)), std::move(path)};
}

Result<CopyPlan> plan_copy(std::string_view src_path, PathKind src, std::string_view dst_path, PathKind dst) {
  if (!src.exists) return std::unexpected(Error(ENOENT, fmt::format("\"{}\" does not exist", src_path)));
  const bool contents = names_contents(src_path);
  if (contents && !src.is_dir) return error("\"{}\": the source is not a directory", src_path);
  const bool dst_wants_dir = dst_path.ends_with('/') || names_contents(dst_path);
  std::string src_base = base_name(src_path);

  if (dst.exists && dst.is_dir) {
    if (!src.is_dir || !contents) return CopyPlan{std::string(dst_path), src_base};
    return CopyPlan{std::string(dst_path), ""};
  }
  if (src.is_dir && dst.exists) return error("cannot copy directory \"{}\" to file \"{}\"", src_path, dst_path);
  if (dst_wants_dir) {
    if (dst.exists) return std::unexpected(Error(ENOTDIR, fmt::format("\"{}\" is not a directory", dst_path)));
    return std::unexpected(
        Error(ENOENT, fmt::format("the destination directory \"{}\" does not exist", dst_path)));
  }
  std::string dst_base = base_name(dst_path);
  if (dst_base.empty()) return error("\"{}\": no name to copy to", dst_path);
  return CopyPlan{dir_name(dst_path), dst_base};
}

Result<UniqueFd> open_process_root(pid_t pid) {
  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  if (!pidfd) return sys_error(errno, "open process {}", pid);
  auto path = fmt::format("/proc/{}/root", pid);
  UniqueFd root(::open(path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root) return sys_error(errno, "open \"{}\"", path);
  // The pidfd names the process we meant: still alive, so the root is its.
  if (::syscall(SYS_pidfd_send_signal, pidfd.get(), 0, nullptr, 0) < 0)
    return sys_error(errno, "process {} exited", pid);
  return root;
}

Result<UniqueFd> open_root_dir(const std::string& dir) {
  UniqueFd root(::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root) return sys_error(errno, "open \"{}\"", dir);
  return root;
}

Result<> copy_path(const CopySide& src, const CopySide& dst, const CopyOptions& options) {
  BERTH_TRY_ASSIGN(src_kind, kind_of(src, src.path, options.follow_link));
  BERTH_TRY_ASSIGN(dst_kind, kind_of(dst, dst.path, true));
  auto plan = plan_copy(src.path, src_kind, dst.path, dst_kind);
  if (!plan) {
    if (!src_kind.exists) return sys_error(ENOENT, "{}", describe(src, src.path));
    return std::unexpected(std::move(plan).error());
  }

  int p[2];
  if (::pipe2(p, O_CLOEXEC) < 0) return sys_error(errno, "pipe");
  UniqueFd rd(p[0]), wr(p[1]);
  Result<> produced;
  std::thread producer([&] {
    // A consumer that gives up closes the pipe: EPIPE, not a SIGPIPE.
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    produced = produce(src, plan->top_name, options.follow_link, wr.get(), owner_at(dst, options));
    wr.reset();
  });
  Result<> consumed = consume(rd.get(), dst, plan->extract_dir, std::nullopt);
  rd.reset();
  producer.join();
  if (!consumed && (produced || produced.error().code() == EPIPE)) return consumed;
  return produced;
}

Result<> copy_to_stream(const CopySide& src, int out_fd, const CopyOptions& options) {
  BERTH_TRY_ASSIGN(kind, kind_of(src, src.path, options.follow_link));
  if (!kind.exists) return sys_error(ENOENT, "{}", describe(src, src.path));
  bool contents = names_contents(src.path);
  if (contents && !kind.is_dir) return error("{}: the source is not a directory", describe(src, src.path));
  std::string top = contents ? "" : base_name(src.path);
  return produce(src, top, options.follow_link, out_fd, std::nullopt);
}

Result<> copy_from_stream(int in_fd, const CopySide& dst, const CopyOptions& options) {
  BERTH_TRY_ASSIGN(kind, kind_of(dst, dst.path, true));
  if (!kind.exists || !kind.is_dir)
    return std::unexpected(Error(kind.exists ? ENOTDIR : ENOENT,
                                 fmt::format("the destination {} must be an existing directory",
                                             describe(dst, dst.path))));
  return consume(in_fd, dst, dst.path, owner_at(dst, options));
}

}  // namespace berth::engine

#include "image/snapshots.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "base/file.h"
#include "image/remove_tree.h"

namespace berth::image {
namespace {

bool is_hex64(std::string_view s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

Result<std::string> snapshot_name(const oci::Digest& chain_id) {
  if (chain_id.algorithm != "sha256" || !is_hex64(chain_id.hex)) {
    return error("invalid chain ID \"{}\": want sha256:<64 hex digits>", chain_id.str());
  }
  return chain_id.hex;
}

Result<std::vector<std::string>> entries_of(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return sys_error(errno, "read directory \"{}\"", dir);
  std::vector<std::string> names;
  errno = 0;
  while (dirent* e = ::readdir(d)) {
    if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0) names.emplace_back(e->d_name);
    errno = 0;
  }
  int err = errno;
  ::closedir(d);
  if (err != 0) return sys_error(err, "read directory \"{}\"", dir);
  return names;
}

}  // namespace

PreparedSnapshot& PreparedSnapshot::operator=(PreparedSnapshot&& o) noexcept {
  if (this != &o) {
    discard();
    dir_ = std::exchange(o.dir_, {});
    fs_path_ = std::exchange(o.fs_path_, {});
    fs_ = std::move(o.fs_);
    tmp_lock_ = std::move(o.tmp_lock_);
  }
  return *this;
}

PreparedSnapshot::~PreparedSnapshot() { discard(); }

void PreparedSnapshot::discard() {
  fs_.reset();
  if (!dir_.empty()) (void)remove_tree(dir_);  // what is left, cleanup() removes later
  dir_.clear();
  tmp_lock_.reset();
}

Result<Snapshots> Snapshots::open(const std::string& root) {
  Snapshots s(root + "/snapshots");
  BERTH_TRY(mkdir_p(s.dir_ + "/tmp", 0700));
  BERTH_TRY(s.cleanup());
  return s;
}

bool Snapshots::has(const oci::Digest& chain_id) const {
  auto p = path(chain_id);
  struct stat st {};
  return p && ::stat(p->c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

Result<std::string> Snapshots::path(const oci::Digest& chain_id) const {
  BERTH_TRY_ASSIGN(name, snapshot_name(chain_id));
  return dir_ + "/" + name + "/fs";
}

Result<UniqueFd> Snapshots::lock_tmp_shared() const {
  BERTH_TRY_ASSIGN(fd, open_file(dir_ + "/tmp", O_RDONLY | O_DIRECTORY));
  while (::flock(fd.get(), LOCK_SH) < 0) {
    if (errno != EINTR) return sys_error(errno, "lock \"{}/tmp\"", dir_);
  }
  return fd;
}

Result<PreparedSnapshot> Snapshots::prepare() const {
  PreparedSnapshot p;
  BERTH_TRY_ASSIGN(lock, lock_tmp_shared());
  p.tmp_lock_ = std::move(lock);
  std::string tmpl = dir_ + "/tmp/XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) return sys_error(errno, "create a directory in \"{}/tmp\"", dir_);
  p.dir_ = tmpl;
  p.fs_path_ = tmpl + "/fs";
  if (::mkdir(p.fs_path_.c_str(), 0755) < 0) return sys_error(errno, "create \"{}\"", p.fs_path_);
  BERTH_TRY_ASSIGN(fs, open_file(p.fs_path_, O_RDONLY | O_DIRECTORY));
  p.fs_ = std::move(fs);
  return p;
}

Result<std::string> Snapshots::commit(PreparedSnapshot&& prepared, const oci::Digest& chain_id) const {
  PreparedSnapshot p = std::move(prepared);
  if (p.dir_.empty()) return error("commit snapshot {}: nothing prepared", chain_id.str());
  BERTH_TRY_ASSIGN(name, snapshot_name(chain_id));
  const std::string final_dir = dir_ + "/" + name;
  // Every file of the layer reaches the disk before the name does.
  if (::syncfs(p.fs_.get()) < 0) return sys_error(errno, "syncfs \"{}\"", p.fs_path_);
  if (::renameat2(AT_FDCWD, p.dir_.c_str(), AT_FDCWD, final_dir.c_str(), RENAME_NOREPLACE) < 0) {
    if (errno != EEXIST && errno != ENOTEMPTY) {
      return sys_error(errno, "rename \"{}\" to \"{}\"", p.dir_, final_dir);
    }
    return final_dir + "/fs";  // committed by someone else first; p is discarded
  }
  p.dir_.clear();
  BERTH_TRY_ASSIGN(parent, open_file(dir_, O_RDONLY | O_DIRECTORY));
  if (::fsync(parent.get()) < 0) return sys_error(errno, "fsync \"{}\"", dir_);
  return final_dir + "/fs";
}

Result<> Snapshots::remove(const oci::Digest& chain_id) const {
  BERTH_TRY_ASSIGN(name, snapshot_name(chain_id));
  BERTH_TRY_ASSIGN(lock, lock_tmp_shared());
  std::string tmpl = dir_ + "/tmp/XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) return sys_error(errno, "create a directory in \"{}/tmp\"", dir_);
  const std::string from = dir_ + "/" + name;
  const std::string to = tmpl + "/" + name;
  if (::rename(from.c_str(), to.c_str()) < 0) {
    int e = errno;
    ::rmdir(tmpl.c_str());
    if (e == ENOENT) return {};
    return sys_error(e, "rename \"{}\" to \"{}\"", from, to);
  }
  return remove_tree(tmpl);
}

Result<std::vector<oci::Digest>> Snapshots::list() const {
  BERTH_TRY_ASSIGN(names, entries_of(dir_));
  std::vector<oci::Digest> out;
  for (const auto& n : names) {
    if (is_hex64(n)) out.push_back({"sha256", n});
  }
  std::sort(out.begin(), out.end());
  return out;
}

Result<bool> Snapshots::cleanup() const {
  BERTH_TRY_ASSIGN(fd, open_file(dir_ + "/tmp", O_RDONLY | O_DIRECTORY));
  if (::flock(fd.get(), LOCK_EX | LOCK_NB) < 0) {
    if (errno == EWOULDBLOCK) return false;  // someone is unpacking or removing
    return sys_error(errno, "lock \"{}/tmp\"", dir_);
  }
  BERTH_TRY_ASSIGN(names, entries_of(dir_ + "/tmp"));
  for (const auto& n : names) BERTH_TRY(remove_tree_at(fd.get(), n, dir_ + "/tmp/" + n));
  return true;
}

}  // namespace berth::image

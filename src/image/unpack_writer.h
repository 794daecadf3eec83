// The safe writer behind unpack_layer(): creates one tar entry at a time
// beneath a layer directory. Every parent path is resolved with
// openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS) from the layer's fd, so
// "..", absolute paths and symlinks (absolute or relative) all stay inside;
// the last component is created with *at calls that never follow it.
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "base/fd.h"
#include "image/unpack.h"

struct archive;
struct archive_entry;

namespace berth::image {

// libarchive's message for its last error (it may have none).
const char* archive_message(archive* a);

// The entry path relative to the layer: leading "/" and "./" dropped, "."
// and empty components removed, ".." applied lexically; "" is the layer root.
// A path whose ".." climbs above the root is an error naming it.
Result<std::string> clean_entry_path(std::string_view name);

class LayerWriter {
 public:
  LayerWriter(const UniqueFd& root, const UnpackOptions& options);

  // Applies the entry `e` just read from `a` (reading its data).
  Result<> write(archive* a, archive_entry* e);
  // Directory modes and times, set last (creating entries inside a directory
  // changes its mtime; a read-only mode could block its later entries).
  Result<> finish();

 private:
  struct Meta {
    uid_t uid;
    gid_t gid;
    mode_t perm;
    timespec times[2];  // atime, mtime
  };
  struct DirFix {
    std::string path;
    mode_t perm;
    timespec times[2];
  };

  Result<> write_dir(archive_entry* e, int parent, const std::string& name, const std::string& path,
                     const Meta& m);
  Result<> write_file(archive* a, archive_entry* e, int parent, const std::string& name,
                      const std::string& path, const Meta& m);
  Result<> write_symlink(archive_entry* e, int parent, const std::string& name, const std::string& path,
                         const Meta& m);
  Result<> write_hardlink(archive_entry* e, const std::string& dir, const std::string& name,
                          const std::string& path);
  Result<> write_node(archive_entry* e, int parent, const std::string& name, const std::string& path,
                      const Meta& m);
  Result<> write_whiteout(archive_entry* e, const std::string& dir, const std::string& base, const Meta& m);

  // O_PATH fd of directory `path` inside the layer (cached for the next
  // entries); with `create`, missing directories are made (0755, like tar).
  Result<int> dir_fd(const std::string& path, bool create);
  Result<UniqueFd> make_dirs(const std::string& path);
  // Clears `name` in `parent` so that a new entry can take its place.
  Result<> make_room(int parent, const std::string& name, const std::string& path, bool keep_dir);
  Result<> apply_xattrs(archive_entry* e, int fd, int parent, const std::string& name, const std::string& path);
  Result<> chown_at(int parent, const std::string& name, const std::string& path, const Meta& m);

  const UniqueFd& root_;
  UnpackOptions options_;
  // The last directory resolved: consecutive entries mostly share a parent.
  std::string cached_path_;
  UniqueFd cached_fd_;
  std::vector<DirFix> dirs_;
};

}  // namespace berth::image

// Builds tar archives in memory for the unpack tests (libarchive's writer),
// and gzip / zstd streams of them (ISA-L's deflate, libzstd).
#pragma once

#include <archive.h>
#include <archive_entry.h>
#include <isa-l/igzip_lib.h>
#include <zstd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

namespace berth::image::testing {

struct TarEntry {
  std::string path;
  unsigned type = AE_IFREG;
  unsigned perm = 0644;
  std::string data;
  std::string symlink;   // for AE_IFLNK
  std::string hardlink;  // when set, a hardlink to this path
  unsigned uid = 0, gid = 0;
  long long mtime = 1700000000;
  long mtime_nsec = 0;
  unsigned rdev_major = 0, rdev_minor = 0;
  std::vector<std::pair<std::string, std::string>> xattrs;
  std::vector<std::pair<long long, long long>> sparse;  // data regions (offset, length); size = `size`
  long long size = -1;                                  // -1: data.size()
};

inline TarEntry file(std::string path, std::string data, unsigned perm = 0644) {
  TarEntry e;
  e.path = std::move(path);
  e.data = std::move(data);
  e.perm = perm;
  return e;
}
inline TarEntry dir(std::string path, unsigned perm = 0755) {
  TarEntry e;
  e.path = std::move(path);
  e.type = AE_IFDIR;
  e.perm = perm;
  return e;
}
inline TarEntry symlink(std::string path, std::string target) {
  TarEntry e;
  e.path = std::move(path);
  e.type = AE_IFLNK;
  e.perm = 0777;
  e.symlink = std::move(target);
  return e;
}
inline TarEntry hardlink(std::string path, std::string target) {
  TarEntry e;
  e.path = std::move(path);
  e.hardlink = std::move(target);
  return e;
}

inline std::string make_tar(const std::vector<TarEntry>& entries, int format = ARCHIVE_FORMAT_TAR_PAX_INTERCHANGE) {
  std::string out;
  archive* a = archive_write_new();
  archive_write_set_format(a, format);
  archive_write_set_bytes_in_last_block(a, 1);
  auto write_cb = [](archive*, void* self, const void* buf, size_t n) -> la_ssize_t {
    static_cast<std::string*>(self)->append(static_cast<const char*>(buf), n);
    return static_cast<la_ssize_t>(n);
  };
  if (archive_write_open(a, &out, nullptr, write_cb, nullptr) != ARCHIVE_OK) std::abort();
  for (const TarEntry& t : entries) {
    archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, t.path.c_str());
    archive_entry_set_uid(e, t.uid);
    archive_entry_set_gid(e, t.gid);
    archive_entry_set_mtime(e, t.mtime, t.mtime_nsec);
    if (!t.hardlink.empty()) {
      archive_entry_set_filetype(e, AE_IFREG);
      archive_entry_set_perm(e, t.perm);
      archive_entry_set_hardlink(e, t.hardlink.c_str());
      archive_entry_set_size(e, 0);
    } else {
      archive_entry_set_filetype(e, t.type);
      archive_entry_set_perm(e, t.perm);
      if (t.type == AE_IFLNK) archive_entry_set_symlink(e, t.symlink.c_str());
      if (t.type == AE_IFCHR || t.type == AE_IFBLK) {
        archive_entry_set_rdevmajor(e, t.rdev_major);
        archive_entry_set_rdevminor(e, t.rdev_minor);
      }
      archive_entry_set_size(e, t.type == AE_IFREG ? (t.size >= 0 ? t.size : (long long)t.data.size()) : 0);
      for (const auto& [off, len] : t.sparse) archive_entry_sparse_add_entry(e, off, len);
    }
    for (const auto& [k, v] : t.xattrs) archive_entry_xattr_add_entry(e, k.c_str(), v.data(), v.size());
    if (archive_write_header(a, e) < ARCHIVE_WARN) {
      fprintf(stderr, "make_tar: %s: %s\n", t.path.c_str(), archive_error_string(a));
      std::abort();
    }
    if (t.type == AE_IFREG && t.hardlink.empty() && !t.sparse.empty()) {
      // libarchive's writer takes the whole logical content and drops the holes.
      std::string full(static_cast<size_t>(t.size), '\0');
      size_t from = 0;
      for (const auto& [off, len] : t.sparse) {
        full.replace(static_cast<size_t>(off), static_cast<size_t>(len), t.data, from, static_cast<size_t>(len));
        from += static_cast<size_t>(len);
      }
      archive_write_data(a, full.data(), full.size());
    } else if (t.type == AE_IFREG && t.hardlink.empty() && !t.data.empty()) {
      archive_write_data(a, t.data.data(), t.data.size());
    }
    archive_entry_free(e);
  }
  archive_write_close(a);
  archive_write_free(a);
  return out;
}

// One gzip member of `data` (ISA-L level 0 with a gzip wrapper).
inline std::string gzip(const std::string& data) {
  std::string out(data.size() + data.size() / 2 + 1024, '\0');
  isal_zstream s;
  isal_deflate_init(&s);
  s.gzip_flag = IGZIP_GZIP;
  s.level = 0;
  s.end_of_stream = 1;
  s.flush = NO_FLUSH;
  s.next_in = reinterpret_cast<uint8_t*>(const_cast<char*>(data.data()));
  s.avail_in = static_cast<uint32_t>(data.size());
  s.next_out = reinterpret_cast<uint8_t*>(out.data());
  s.avail_out = static_cast<uint32_t>(out.size());
  while (s.internal_state.state != ZSTATE_END) {
    if (isal_deflate(&s) != COMP_OK) std::abort();
  }
  out.resize(out.size() - s.avail_out);
  return out;
}

inline std::string zstd(const std::string& data) {
  std::string out(ZSTD_compressBound(data.size()), '\0');
  size_t n = ZSTD_compress(out.data(), out.size(), data.data(), data.size(), 3);
  if (ZSTD_isError(n)) std::abort();
  out.resize(n);
  return out;
}

}  // namespace berth::image::testing

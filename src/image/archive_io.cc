// Tar writing, gzip compression and scratch space for save/load/import.
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <isa-l/igzip_lib.h>
#include <stdlib.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>
#include <filesystem>
#include <vector>

#include "base/file.h"
#include "image/archive_internal.h"
#include "image/store.h"

namespace berth::image {

std::string rfc3339(int64_t unix_seconds) {
  std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// --- TarWriter

TarWriter::TarWriter(TarWriter&& o) noexcept
    : a_(std::exchange(o.a_, nullptr)), fd_(std::move(o.fd_)), path_(std::move(o.path_)), tmp_(std::move(o.tmp_)) {}

TarWriter::~TarWriter() {
  if (a_) archive_write_free(a_);
  if (!tmp_.empty()) ::unlink(tmp_.c_str());
}

Result<TarWriter> TarWriter::create(const std::string& path) {
  TarWriter w;
  w.path_ = path;
  if (path == "-") {
    w.fd_ = UniqueFd(::dup(STDOUT_FILENO));
    if (!w.fd_) return sys_error(errno, "dup stdout");
  } else {
    w.tmp_ = path + ".berth-tmp";
    BERTH_TRY_ASSIGN(fd, open_file(w.tmp_, O_WRONLY | O_CREAT | O_TRUNC, 0644));
    w.fd_ = std::move(fd);
  }
  w.a_ = archive_write_new();
  if (!w.a_) return error("write \"{}\": out of memory", path);
  // pax_restricted: ustar unless a name or size needs pax headers (what
  // skopeo and docker write, readable by every tar).
  if (archive_write_set_format_pax_restricted(w.a_) != ARCHIVE_OK ||
      archive_write_set_bytes_in_last_block(w.a_, 1) != ARCHIVE_OK ||
      archive_write_open_fd(w.a_, w.fd_.get()) != ARCHIVE_OK)
    return error("write \"{}\": {}", path, archive_error_string(w.a_));
  return w;
}

Result<> TarWriter::header(const std::string& name, int64_t size, bool dir) {
  struct archive_entry* e = archive_entry_new();
  if (!e) return error("write \"{}\": out of memory", path_);
  archive_entry_set_pathname(e, name.c_str());
  archive_entry_set_filetype(e, dir ? AE_IFDIR : AE_IFREG);
  archive_entry_set_perm(e, dir ? 0755 : 0644);
  archive_entry_set_size(e, dir ? 0 : size);
  archive_entry_set_mtime(e, 0, 0);
  int rc = archive_write_header(a_, e);
  archive_entry_free(e);
  if (rc != ARCHIVE_OK) return error("write \"{}\" entry \"{}\": {}", path_, name, archive_error_string(a_));
  return {};
}

Result<> TarWriter::add_dir(const std::string& name) { return header(name, 0, true); }

Result<> TarWriter::add_data(const std::string& name, std::string_view data) {
  BERTH_TRY(header(name, static_cast<int64_t>(data.size()), false));
  if (!data.empty() && archive_write_data(a_, data.data(), data.size()) != static_cast<la_ssize_t>(data.size()))
    return error("write \"{}\" entry \"{}\": {}", path_, name, archive_error_string(a_));
  return {};
}

Result<> TarWriter::add_file(const std::string& name, const UniqueFd& fd, int64_t size) {
  BERTH_TRY(header(name, size, false));
  std::vector<char> buf(1 << 20);
  int64_t left = size;
  while (left > 0) {
    ssize_t n = ::read(fd.get(), buf.data(), static_cast<size_t>(std::min<int64_t>(left, buf.size())));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return sys_error(errno, "read data of \"{}\"", name);
    if (n == 0) return error("write \"{}\" entry \"{}\": source is {} bytes short", path_, name, left);
    if (archive_write_data(a_, buf.data(), static_cast<size_t>(n)) != n)
      return error("write \"{}\" entry \"{}\": {}", path_, name, archive_error_string(a_));
    left -= n;
  }
  return {};
}

Result<> TarWriter::close() {
  if (archive_write_close(a_) != ARCHIVE_OK) return error("write \"{}\": {}", path_, archive_error_string(a_));
  archive_write_free(std::exchange(a_, nullptr));
  if (!tmp_.empty()) {
    if (::fsync(fd_.get()) < 0) return sys_error(errno, "fsync \"{}\"", tmp_);
    if (::rename(tmp_.c_str(), path_.c_str()) < 0) return sys_error(errno, "rename \"{}\" to \"{}\"", tmp_, path_);
    tmp_.clear();
  }
  fd_.reset();
  return {};
}

// --- GzipWriter

struct GzipWriter::State {
  isal_zstream z{};
  std::vector<uint8_t> level_buf = std::vector<uint8_t>(ISAL_DEF_LVL1_DEFAULT);
  std::vector<uint8_t> out = std::vector<uint8_t>(1 << 20);
};

GzipWriter::GzipWriter(GzipWriter&& o) noexcept
    : s_(std::move(o.s_)), out_(o.out_), name_(std::move(o.name_)), out_bytes_(o.out_bytes_) {}
GzipWriter::~GzipWriter() = default;

Result<GzipWriter> GzipWriter::create(const UniqueFd& out, std::string name) {
  GzipWriter w;
  w.s_ = std::make_unique<State>();
  w.out_ = out.get();
  w.name_ = std::move(name);
  isal_deflate_init(&w.s_->z);
  w.s_->z.gzip_flag = IGZIP_GZIP;
  w.s_->z.level = 1;
  w.s_->z.level_buf = w.s_->level_buf.data();
  w.s_->z.level_buf_size = static_cast<uint32_t>(w.s_->level_buf.size());
  return w;
}

Result<> GzipWriter::drain(bool end) {
  auto& z = s_->z;
  for (;;) {
    z.next_out = s_->out.data();
    z.avail_out = static_cast<uint32_t>(s_->out.size());
    z.end_of_stream = end ? 1 : 0;
    z.flush = NO_FLUSH;
    if (isal_deflate(&z) != COMP_OK) return error("gzip \"{}\": compression failed", name_);
    size_t produced = s_->out.size() - z.avail_out;
    if (produced) {
      BERTH_TRY(write_all(out_, std::string_view(reinterpret_cast<char*>(s_->out.data()), produced), name_));
      out_bytes_ += static_cast<int64_t>(produced);
    }
    if (end ? z.internal_state.state == ZSTATE_END : (z.avail_in == 0 && z.avail_out != 0)) return {};
  }
}

Result<> GzipWriter::write(std::span<const std::byte> data) {
  s_->z.next_in = const_cast<uint8_t*>(reinterpret_cast<const uint8_t*>(data.data()));
  s_->z.avail_in = static_cast<uint32_t>(data.size());
  return drain(false);
}

Result<> GzipWriter::finish() {
  s_->z.next_in = nullptr;
  s_->z.avail_in = 0;
  return drain(true);
}

// --- ScratchDir

Result<ScratchDir> ScratchDir::create(const Store& store, std::string_view tag) {
  std::string tmpl = fmt::format("{}/{}-XXXXXX", store.tmp_dir(), tag);
  if (!::mkdtemp(tmpl.data())) return sys_error(errno, "create scratch directory \"{}\"", tmpl);
  auto lock = open_file(tmpl, O_RDONLY | O_DIRECTORY);
  if (!lock || ::flock(lock->get(), LOCK_EX) != 0) {
    int err = lock ? errno : lock.error().code();
    std::error_code ec;
    std::filesystem::remove_all(tmpl, ec);
    return sys_error(err, "lock scratch directory \"{}\"", tmpl);
  }
  return ScratchDir(std::move(tmpl), std::move(*lock));
}

ScratchDir::~ScratchDir() {
  if (path_.empty()) return;
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

}  // namespace berth::image

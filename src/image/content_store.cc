#include "image/content_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

#include <openssl/evp.h>

#include "base/file.h"

namespace berth::image {

struct Hasher::State {
  EVP_MD_CTX* ctx = nullptr;
  std::string algorithm;
  ~State() {
    if (ctx) EVP_MD_CTX_free(ctx);
  }
};

Hasher::Hasher(std::unique_ptr<State> s) : state_(std::move(s)) {}
Hasher::Hasher(Hasher&&) noexcept = default;
Hasher& Hasher::operator=(Hasher&&) noexcept = default;
Hasher::~Hasher() = default;

Result<Hasher> Hasher::create(std::string_view algorithm) {
  const EVP_MD* md = algorithm == "sha256" ? EVP_sha256() : algorithm == "sha512" ? EVP_sha512() : nullptr;
  if (!md) return error("unsupported digest algorithm \"{}\"", algorithm);
  auto s = std::make_unique<State>();
  s->algorithm = std::string(algorithm);
  s->ctx = EVP_MD_CTX_new();
  if (!s->ctx || EVP_DigestInit_ex(s->ctx, md, nullptr) != 1) return error("openssl: cannot start {}", algorithm);
  return Hasher(std::move(s));
}

void Hasher::update(std::span<const std::byte> data) { EVP_DigestUpdate(state_->ctx, data.data(), data.size()); }

oci::Digest Hasher::digest() const {
  EVP_MD_CTX* copy = EVP_MD_CTX_new();
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_MD_CTX_copy_ex(copy, state_->ctx);
  EVP_DigestFinal_ex(copy, out, &len);
  EVP_MD_CTX_free(copy);
  std::string hex;
  hex.reserve(len * 2);
  static constexpr char kHex[] = "0123456789abcdef";
  for (unsigned i = 0; i < len; ++i) {
    hex += kHex[out[i] >> 4];
    hex += kHex[out[i] & 15];
  }
  return oci::Digest{state_->algorithm, std::move(hex)};
}

namespace {

constexpr size_t kBuffer = 1 << 20;

Result<> hash_range(const UniqueFd& fd, int64_t from, int64_t to, Hasher& h, const std::string& name) {
  std::vector<std::byte> buf(kBuffer);
  while (from < to) {
    size_t want = static_cast<size_t>(std::min<int64_t>(to - from, kBuffer));
    ssize_t n = ::pread(fd.get(), buf.data(), want, from);
    if (n < 0) {
      if (errno == EINTR) continue;
      return sys_error(errno, "read \"{}\"", name);
    }
    if (n == 0) return error("read \"{}\": file shorter than expected", name);
    h.update(std::span(buf.data(), static_cast<size_t>(n)));
    from += n;
  }
  return {};
}

Result<> fsync_dir(const std::string& path) {
  BERTH_TRY_ASSIGN(fd, open_file(path, O_RDONLY | O_DIRECTORY));
  if (::fsync(fd.get()) != 0) return sys_error(errno, "fsync \"{}\"", path);
  return {};
}

bool is_hex(std::string_view s) {
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return !s.empty();
}

}  // namespace

Result<oci::Digest> digest_fd(const UniqueFd& fd, std::string_view algorithm, const std::string& name) {
  BERTH_TRY_ASSIGN(h, Hasher::create(algorithm));
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return sys_error(errno, "stat \"{}\"", name);
  BERTH_TRY(hash_range(fd, 0, st.st_size, h, name));
  return h.digest();
}

// --- IngestWriter

Result<> IngestWriter::catch_up_hash() {
  if (hashed_ == offset_) return {};
  if (hashed_ > offset_ || !hasher_) {
    BERTH_TRY_ASSIGN(h, Hasher::create(expected_.algorithm));
    hasher_ = std::make_unique<Hasher>(std::move(h));
    hashed_ = 0;
  }
  BERTH_TRY(hash_range(data_, hashed_, offset_, *hasher_, dir_ + "/data"));
  hashed_ = offset_;
  return {};
}

Result<> IngestWriter::write(std::span<const std::byte> data) {
  if (size_ >= 0 && offset_ + std::ssize(data) > size_) {
    (void)abort();
    return error("blob {}: more data than the expected {} bytes", expected_, size_);
  }
  BERTH_TRY(catch_up_hash());
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::pwrite(data_.get(), data.data() + done, data.size() - done, offset_ + done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return sys_error(errno, "write \"{}/data\"", dir_);
    }
    done += static_cast<size_t>(n);
  }
  hasher_->update(data);
  offset_ += std::ssize(data);
  hashed_ = offset_;
  return {};
}

Result<> IngestWriter::write_at(int64_t offset, std::span<const std::byte> data) {
  if (offset < 0 || (size_ >= 0 && offset + std::ssize(data) > size_))
    return error("blob {}: write at {} beyond the expected {} bytes", expected_, offset, size_);
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::pwrite(data_.get(), data.data() + done, data.size() - done, offset + done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return sys_error(errno, "write \"{}/data\"", dir_);
    }
    done += static_cast<size_t>(n);
  }
  return {};
}

Result<> IngestWriter::start_ranges() {
  if (has_ranges_) return {};
  std::vector<ByteRange> prefix;
  if (offset_ > 0) prefix.push_back({0, offset_});
  BERTH_TRY(write_file_atomic(dir_ + "/ranges", format_ranges(prefix), 0644));
  ranges_ = std::move(prefix);
  has_ranges_ = true;
  return {};
}

Result<> IngestWriter::record_ranges(const std::vector<ByteRange>& set) {
  if (::fdatasync(data_.get()) != 0) return sys_error(errno, "fsync \"{}/data\"", dir_);
  BERTH_TRY(write_file_atomic(dir_ + "/ranges", format_ranges(set), 0644));
  ranges_ = set;
  has_ranges_ = true;
  return {};
}

Result<UniqueFd> IngestWriter::open_reader() const { return open_file(dir_ + "/data", O_RDONLY); }

Result<> IngestWriter::restart() {
  if (has_ranges_) {
    if (::unlink((dir_ + "/ranges").c_str()) != 0 && errno != ENOENT)
      return sys_error(errno, "remove \"{}/ranges\"", dir_);
    has_ranges_ = false;
    ranges_.clear();
  }
  if (::ftruncate(data_.get(), 0) != 0) return sys_error(errno, "truncate \"{}/data\"", dir_);
  offset_ = 0;
  hashed_ = 0;
  BERTH_TRY_ASSIGN(h, Hasher::create(expected_.algorithm));
  hasher_ = std::make_unique<Hasher>(std::move(h));
  return {};
}

Result<> IngestWriter::abort() {
  if (dir_.empty()) return {};
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
  data_.reset();
  lock_.reset();
  if (ec) return error("remove \"{}\": {}", dir_, ec.message());
  return {};
}

Result<> IngestWriter::commit() {
  if (committed_) return {};
  struct stat st {};
  if (::fstat(data_.get(), &st) != 0) return sys_error(errno, "stat \"{}/data\"", dir_);
  offset_ = std::max<int64_t>(offset_, st.st_size);
  if (size_ >= 0 && offset_ != size_) {
    (void)abort();
    return error("blob {}: size mismatch: got {} bytes, expected {}", expected_, offset_, size_);
  }
  BERTH_TRY(catch_up_hash());
  oci::Digest got = hasher_->digest();
  if (got != expected_) {
    (void)abort();
    return error("blob {}: digest mismatch: the data hashes to {}", expected_, got);
  }
  if (::fsync(data_.get()) != 0) return sys_error(errno, "fsync \"{}/data\"", dir_);
  if (::fchmod(data_.get(), 0444) != 0) return sys_error(errno, "chmod \"{}/data\"", dir_);
  std::string alg_dir = store_->dir_ + "/blobs/" + expected_.algorithm;
  BERTH_TRY(mkdir_p(alg_dir));
  std::string target = alg_dir + "/" + expected_.hex;
  if (::rename((dir_ + "/data").c_str(), target.c_str()) != 0)
    return sys_error(errno, "rename \"{}/data\" to \"{}\"", dir_, target);
  BERTH_TRY(fsync_dir(alg_dir));
  committed_ = true;
  (void)abort();  // the ingest directory is no longer needed
  return {};
}

// --- ContentStore

Result<ContentStore> ContentStore::open(const std::string& dir) {
  BERTH_TRY(mkdir_p(dir + "/blobs/sha256"));
  BERTH_TRY(mkdir_p(dir + "/ingest"));
  return ContentStore(dir);
}

std::string ContentStore::path(const oci::Digest& d) const { return dir_ + "/blobs/" + d.algorithm + "/" + d.hex; }

bool ContentStore::has(const oci::Digest& d) const {
  struct stat st {};
  return ::stat(path(d).c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

Result<UniqueFd> ContentStore::open_blob(const oci::Digest& d) const {
  auto fd = open_file(path(d), O_RDONLY);
  if (!fd && fd.error().code() == ENOENT) return sys_error(ENOENT, "blob {} not found", d);
  return fd;
}

Result<int64_t> ContentStore::size(const oci::Digest& d) const {
  struct stat st {};
  if (::stat(path(d).c_str(), &st) != 0) return sys_error(errno, "blob {}", d);
  return static_cast<int64_t>(st.st_size);
}

Result<std::string> ContentStore::read_blob(const oci::Digest& d, int64_t max_size) const {
  BERTH_TRY_ASSIGN(fd, open_blob(d));
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return sys_error(errno, "stat blob {}", d);
  if (st.st_size > max_size) return error("blob {}: {} bytes exceeds the limit of {}", d, st.st_size, max_size);
  return read_fd(fd, path(d));
}

std::string ContentStore::ingest_dir(std::string_view key) const {
  return dir_ + "/ingest/" + oci::sha256_hex(key).substr(0, 32);
}

Result<IngestWriter> ContentStore::begin(std::string_view key, const oci::Digest& expected, int64_t size) const {
  if (!oci::digest_algorithm_supported(expected.algorithm))
    return error("blob {}: unsupported digest algorithm", expected);
  IngestWriter w;
  w.store_ = this;
  w.key_ = std::string(key);
  w.dir_ = ingest_dir(key);
  w.expected_ = expected;
  w.size_ = size;
  // Lock the ingest; retry when the holder removed the directory meanwhile.
  for (int attempt = 0;; ++attempt) {
    BERTH_TRY(mkdir_p(w.dir_));
    BERTH_TRY_ASSIGN(lock, open_file(w.dir_ + "/lock", O_RDWR | O_CREAT, 0644));
    if (::flock(lock.get(), LOCK_EX) != 0) return sys_error(errno, "lock \"{}/lock\"", w.dir_);
    struct stat held {}, now {};
    ::fstat(lock.get(), &held);
    if (::stat((w.dir_ + "/lock").c_str(), &now) == 0 && now.st_ino == held.st_ino && now.st_dev == held.st_dev) {
      w.lock_ = std::move(lock);
      break;
    }
    if (has(expected)) break;  // committed by the holder
    if (attempt > 100) return error("ingest \"{}\": lock keeps moving", w.dir_);
  }
  if (has(expected)) {
    w.committed_ = true;
    w.offset_ = size;
    return w;
  }
  // A partial for another digest under the same key is stale.
  std::string want = fmt::format("{}\n{}\n", expected, size);
  auto old = read_file(w.dir_ + "/expected");
  bool fresh = !old || *old != want;
  if (fresh) {
    if (::unlink((w.dir_ + "/ranges").c_str()) != 0 && errno != ENOENT)
      return sys_error(errno, "remove \"{}/ranges\"", w.dir_);
    BERTH_TRY(write_file_atomic(w.dir_ + "/ref", w.key_, 0644, Durability::volatile_));
    BERTH_TRY(write_file_atomic(w.dir_ + "/expected", want, 0644, Durability::volatile_));
  }
  BERTH_TRY_ASSIGN(data, open_file(w.dir_ + "/data", O_RDWR | O_CREAT | (fresh ? O_TRUNC : 0), 0644));
  struct stat st {};
  if (::fstat(data.get(), &st) != 0) return sys_error(errno, "stat \"{}/data\"", w.dir_);
  w.data_ = std::move(data);
  w.offset_ = st.st_size;
  if (auto ranges = read_file(w.dir_ + "/ranges"); ranges) {
    // A ranged download's partial: trust only what its record says (a torn
    // or foreign record counts as nothing written).
    w.has_ranges_ = true;
    auto parsed = size >= 0 ? parse_ranges(*ranges, std::min<int64_t>(size, st.st_size)) : std::nullopt;
    if (parsed) w.ranges_ = std::move(*parsed);
    w.offset_ = contiguous_prefix(w.ranges_);
  } else if (ranges.error().code() != ENOENT) {
    return std::unexpected(std::move(ranges).error());
  }
  if (size >= 0 && w.offset_ > size) BERTH_TRY(w.restart());
  BERTH_TRY_ASSIGN(h, Hasher::create(expected.algorithm));
  w.hasher_ = std::make_unique<Hasher>(std::move(h));
  return w;
}

Result<> ContentStore::put(std::string_view data, const oci::Digest& expected) const {
  if (has(expected)) return {};
  BERTH_TRY_ASSIGN(w, begin("put-" + expected.str(), expected, std::ssize(data)));
  if (w.already_committed()) return {};
  if (w.offset() != 0) BERTH_TRY(w.restart());
  BERTH_TRY(w.write(data));
  return w.commit();
}

Result<> ContentStore::remove(const oci::Digest& d) const {
  if (::unlink(path(d).c_str()) != 0 && errno != ENOENT) return sys_error(errno, "remove blob {}", d);
  return {};
}

Result<std::vector<BlobInfo>> ContentStore::list() const {
  std::vector<BlobInfo> out;
  for (std::string alg : {"sha256", "sha512"}) {
    std::string dir = dir_ + "/blobs/" + alg;
    DIR* d = ::opendir(dir.c_str());
    if (!d) {
      if (errno == ENOENT) continue;
      return sys_error(errno, "open \"{}\"", dir);
    }
    while (dirent* e = ::readdir(d)) {
      std::string_view name = e->d_name;
      if (!is_hex(name) || name.size() != (alg == "sha256" ? 64u : 128u)) continue;
      struct stat st {};
      if (::fstatat(::dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode)) continue;
      out.push_back(BlobInfo{oci::Digest{alg, std::string(name)}, static_cast<int64_t>(st.st_size)});
    }
    ::closedir(d);
  }
  return out;
}

Result<std::vector<IngestInfo>> ContentStore::list_ingests() const {
  std::vector<IngestInfo> out;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir_ + "/ingest", ec)) {
    std::string dir = entry.path().string();
    auto ref = read_file(dir + "/ref");
    auto expected = read_file(dir + "/expected");
    if (!ref || !expected) continue;
    IngestInfo info;
    info.key = *ref;
    auto nl = expected->find('\n');
    auto d = oci::parse_digest(expected->substr(0, nl));
    if (!d) continue;
    info.expected = *d;
    try {
      info.expected_size = std::stoll(expected->substr(nl + 1));
    } catch (...) {
      info.expected_size = -1;
    }
    struct stat st {};
    if (::stat((dir + "/data").c_str(), &st) == 0) info.offset = st.st_size;
    out.push_back(std::move(info));
  }
  if (ec) return error("list \"{}/ingest\": {}", dir_, ec.message());
  return out;
}

Result<> ContentStore::remove_ingest(std::string_view key) const {
  std::error_code ec;
  std::filesystem::remove_all(ingest_dir(key), ec);
  if (ec) return error("remove ingest \"{}\": {}", key, ec.message());
  return {};
}

Result<> ContentStore::verify(const oci::Digest& d) const {
  BERTH_TRY_ASSIGN(fd, open_blob(d));
  BERTH_TRY_ASSIGN(got, digest_fd(fd, d.algorithm, path(d)));
  if (got != d) return error("blob {}: digest mismatch: the data hashes to {}", d, got);
  return {};
}

}  // namespace berth::image

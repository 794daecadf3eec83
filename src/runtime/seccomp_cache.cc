// The cache of compiled seccomp programs (seccomp.h: compile_seccomp_cached).
//
// One file per profile, <root>/.seccomp-cache:1/<fnv1a-64 of the key, hex>
// (a name no container id can have), written to a per-process temporary file
// and renamed into place:
//   "BSC1" | u32 key length | key | u32 flags | u32 notify | u32 count | count sock_filter
#include <fcntl.h>
#include <linux/filter.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/file.h"
#include "base/log.h"
#include "runtime/seccomp.h"

namespace berth::runtime {
namespace {

constexpr std::string_view kMagic = "BSC1";
constexpr std::string_view kCacheDir = "/.seccomp-cache:1";

void put_u32(std::string& out, uint32_t v) { out.append(reinterpret_cast<const char*>(&v), sizeof v); }
void put_str(std::string& out, std::string_view s) {
  put_u32(out, static_cast<uint32_t>(s.size()));
  out.append(s);
}

// Everything the compiled program depends on, unambiguously (length-prefixed).
std::string cache_key(const oci::Seccomp& p) {
  std::string k;
  utsname u{};
  ::uname(&u);
  put_str(k, BERTH_VERSION);
  put_str(k, seccomp_compiler_build());
  put_str(k, libseccomp_version());
  put_str(k, u.release);
  put_str(k, u.machine);
  put_str(k, p.default_action);
  put_u32(k, p.default_errno_ret.value_or(0xffffffff));
  put_u32(k, static_cast<uint32_t>(p.architectures.size()));
  for (const auto& a : p.architectures) put_str(k, a);
  put_u32(k, static_cast<uint32_t>(p.flags.size()));
  for (const auto& f : p.flags) put_str(k, f);
  put_u32(k, static_cast<uint32_t>(p.syscalls.size()));
  for (const auto& sc : p.syscalls) {
    put_u32(k, static_cast<uint32_t>(sc.names.size()));
    for (const auto& n : sc.names) put_str(k, n);
    put_str(k, sc.action);
    put_u32(k, sc.errno_ret.value_or(0xffffffff));
    put_u32(k, static_cast<uint32_t>(sc.args.size()));
    for (const auto& a : sc.args) {
      put_u32(k, a.index);
      k.append(reinterpret_cast<const char*>(&a.value), sizeof a.value);
      k.append(reinterpret_cast<const char*>(&a.value_two), sizeof a.value_two);
      put_str(k, a.op);
    }
  }
  // Whether a listener is configured changes what compile accepts.
  put_u32(k, p.listener_path.empty() ? 0 : 1);
  return k;
}

uint64_t fnv1a(std::string_view s) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

class Reader {
 public:
  explicit Reader(std::string_view d) : d_(d) {}
  bool u32(uint32_t& v) { return bytes(&v, sizeof v); }
  bool bytes(void* out, size_t n) {
    if (d_.size() - pos_ < n) return false;
    std::memcpy(out, d_.data() + pos_, n);
    pos_ += n;
    return true;
  }
  bool view(size_t n, std::string_view& out) {
    if (d_.size() - pos_ < n) return false;
    out = d_.substr(pos_, n);
    pos_ += n;
    return true;
  }
  bool at_end() const { return pos_ == d_.size(); }

 private:
  std::string_view d_;
  size_t pos_ = 0;
};

std::optional<SeccompProgram> decode(std::string_view data, std::string_view key) {
  Reader r(data);
  std::string_view magic, stored_key;
  uint32_t key_len, flags, notify, count;
  if (!r.view(kMagic.size(), magic) || magic != kMagic) return std::nullopt;
  if (!r.u32(key_len) || !r.view(key_len, stored_key) || stored_key != key) return std::nullopt;
  if (!r.u32(flags) || !r.u32(notify) || !r.u32(count) || notify > 1) return std::nullopt;
  if (count == 0 || count > BPF_MAXINSNS) return std::nullopt;
  SeccompProgram p;
  p.flags = flags;
  p.notify = notify == 1;
  p.filter.resize(count);
  if (!r.bytes(p.filter.data(), count * sizeof(sock_filter)) || !r.at_end()) return std::nullopt;
  return p;
}

std::string encode(const SeccompProgram& p, std::string_view key) {
  std::string out(kMagic);
  put_str(out, key);
  put_u32(out, p.flags);
  put_u32(out, p.notify ? 1 : 0);
  put_u32(out, static_cast<uint32_t>(p.filter.size()));
  out.append(reinterpret_cast<const char*>(p.filter.data()), p.filter.size() * sizeof(sock_filter));
  return out;
}

Result<> store(const std::string& root, const std::string& dir, const std::string& path, std::string_view data) {
  if (::mkdir(root.c_str(), 0700) < 0 && errno != EEXIST) return sys_error(errno, "mkdir \"{}\"", root);
  if (::mkdir(dir.c_str(), 0700) < 0 && errno != EEXIST) return sys_error(errno, "mkdir \"{}\"", dir);
  // Per process: concurrent creates may write the same entry.
  std::string tmp = fmt::format("{}.{}.tmp", path, ::getpid());
  BERTH_TRY_ASSIGN(fd, open_file(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  auto written = write_all(fd.get(), data, tmp);
  if (written && ::rename(tmp.c_str(), path.c_str()) < 0) written = sys_error(errno, "rename \"{}\"", tmp);
  if (!written) ::unlink(tmp.c_str());
  return written;
}

}  // namespace

Result<SeccompProgram> compile_seccomp_cached(const oci::Seccomp& profile, const std::string& root) {
  std::string key = cache_key(profile);
  std::string dir = root + std::string(kCacheDir);
  std::string path = fmt::format("{}/{:016x}", dir, fnv1a(key));
  if (auto data = read_file(path)) {
    if (auto p = decode(*data, key)) {
      log::debug("seccomp: program from the cache \"{}\"", path);
      return std::move(*p);
    }
    log::debug("seccomp: cache entry \"{}\" does not match; rebuilt", path);
  }
  BERTH_TRY_ASSIGN(program, compile_seccomp(profile));
  if (auto r = store(root, dir, path, encode(program, key)); !r)
    log::debug("seccomp: not cached: {}", r.error().what());
  return program;
}

}  // namespace berth::runtime

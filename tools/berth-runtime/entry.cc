// The ELF entry point of the static berth-runtime (linked with -e
// berth_runtime_entry): before libc starts, a verb that enters a container
// (create, run, exec, restore) re-executes straight from the cached
// read-only image of this binary (exe_guard.h), so the image the caller
// started never runs glibc's start-up (its CPU-feature probing alone is
// ~0.3 ms under a hypervisor, where each cpuid traps) nor the C++ one.
// Anything but the usual case (no cached image yet, a stale one, a binary
// already protected, a memfd, an environment too big) goes on to _start
// unchanged, where ensure_protected_exe() decides as before: this file only
// takes its fastest path earlier, with the same checks (open_cached_image).
//
// Nothing here may depend on libc being set up: no TLS (so no errno, no
// stack protector), no libc call (static glibc's string functions are ifuncs
// not yet relocated), no static constructor. Compiled with -O2, without
// builtins and loop-to-memset rewrites whatever the build type (CMakeLists.txt).
#if defined(__x86_64__)

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>

#include <cstdint>
#include <string_view>

#include "runtime/exe_guard.h"

namespace {

using berth::runtime::kBerthClonedEnv;
using berth::runtime::kExeSealDir;

constexpr long kSealDirLen = std::string_view(kExeSealDir).size();
constexpr long kClonedEnvLen = std::string_view(kBerthClonedEnv).size();
constexpr char kMarker[] = "_BERTH_CLONED=1";
static_assert(std::string_view(kMarker).substr(0, kClonedEnvLen) == kBerthClonedEnv && kMarker[kClonedEnvLen] == '=');
constexpr long kOverlayfsMagic = 0x794c7630;
constexpr long kStRdonly = 1;  // ST_RDONLY in statfs's f_flags

[[gnu::always_inline]] inline long sys(long n, long a = 0, long b = 0, long c = 0, long d = 0, long e = 0) {
  register long r10 asm("r10") = d;
  register long r8 asm("r8") = e;
  long ret;
  asm volatile("syscall"
               : "=a"(ret)
               : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8)
               : "rcx", "r11", "memory");
  return ret;
}

bool equal(const char* a, const char* b) {
  while (*a && *a == *b) ++a, ++b;
  return *a == *b;
}

bool has_prefix(const char* s, const char* prefix) {
  while (*prefix && *s == *prefix) ++s, ++prefix;
  return *prefix == 0;
}

char* append(char* out, const char* end, const char* s, long n) {
  for (long i = 0; i < n && out < end; ++i) *out++ = s[i];
  return out;
}

// main.cc's verb_of(): the first argument that is not an option, skipping
// the values of the global options that take one.
// (Comparisons written out: a table of pointers would need relocating.)
const char* verb_of(long argc, char** argv) {
  for (long i = 1; i < argc; ++i) {
    const char* arg = argv[i];
    if (arg[0] != '-') return arg;
    if (equal(arg, "--root") || equal(arg, "--log") || equal(arg, "--log-format") || equal(arg, "--criu") ||
        equal(arg, "--rootless"))
      ++i;
  }
  return nullptr;
}

bool enters_container(const char* verb) {
  return verb && (equal(verb, "create") || equal(verb, "run") || equal(verb, "exec") || equal(verb, "restore"));
}

bool same_file(const struct stat& a, const struct stat& b) {
  return a.st_ino == b.st_ino && a.st_size == b.st_size && a.st_mtim.tv_sec == b.st_mtim.tv_sec &&
         a.st_mtim.tv_nsec == b.st_mtim.tv_nsec && a.st_ctim.tv_sec == b.st_ctim.tv_sec &&
         a.st_ctim.tv_nsec == b.st_ctim.tv_nsec;
}

}  // namespace

// sp: the initial stack (argc, argv..., 0, envp..., 0, auxv). Returns to go on to _start.
extern "C" [[gnu::used]] void berth_runtime_entry_check(long* sp) {
  const long argc = sp[0];
  char** argv = reinterpret_cast<char**>(sp + 1);
  char** envp = argv + argc + 1;
  if (!enters_container(verb_of(argc, argv))) return;
  long envc = 0;
  for (; envp[envc]; ++envc)
    if (has_prefix(envp[envc], kBerthClonedEnv) && envp[envc][kClonedEnvLen] == '=') return;

  // The running binary's path: an absolute one that still exists.
  char self[4096];
  long n = sys(SYS_readlink, reinterpret_cast<long>("/proc/self/exe"), reinterpret_cast<long>(self), sizeof self - 1);
  if (n <= 1 || self[0] != '/') return;
  self[n] = 0;
  static constexpr char kDeleted[] = " (deleted)";
  constexpr long kDeletedLen = sizeof kDeleted - 1;
  if (n > kDeletedLen && equal(self + n - kDeletedLen, kDeleted)) return;
  if (has_prefix(self, kExeSealDir) && self[kSealDirLen] == '/') return;  // protected already
  struct stat self_st;
  if (sys(SYS_newfstatat, AT_FDCWD, reinterpret_cast<long>("/proc/self/exe"), reinterpret_cast<long>(&self_st), 0) <
      0)
    return;

  // <kExeSealDir>/<hash of the directory>/<name>, as exe_guard.cc attaches it.
  long slash = n - 1;
  while (self[slash] != '/') --slash;
  const uint64_t hash = berth::runtime::exe_seal_hash(std::string_view(self, slash == 0 ? 1 : slash));
  char image[4096 + 64];
  char* const end = image + sizeof image - 1;
  char* p = append(image, end, kExeSealDir, kSealDirLen);
  p = append(p, end, "/", 1);
  for (int shift = 60; shift >= 0; shift -= 4) *p++ = "0123456789abcdef"[(hash >> shift) & 0xf];
  p = append(p, end, self + slash, n - slash);
  if (p == end) return;
  *p = 0;

  const long fd = sys(SYS_openat, AT_FDCWD, reinterpret_cast<long>(image), O_PATH | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return;
  struct statfs fs;
  struct stat st;
  if (sys(SYS_fstatfs, fd, reinterpret_cast<long>(&fs)) < 0 || fs.f_type != kOverlayfsMagic ||
      !(fs.f_flags & kStRdonly) || sys(SYS_fstat, fd, reinterpret_cast<long>(&st)) < 0 || !S_ISREG(st.st_mode) ||
      !same_file(st, self_st)) {
    sys(SYS_close, fd);
    return;
  }

  // The environment plus the marker the re-executed image expects (and removes).
  static constexpr long kMaxEnv = 8192;
  if (envc > kMaxEnv) {
    sys(SYS_close, fd);
    return;
  }
  char** env = static_cast<char**>(__builtin_alloca((envc + 2) * sizeof(char*)));
  for (long i = 0; i < envc; ++i) env[i] = envp[i];
  env[envc] = const_cast<char*>(kMarker);  // the kernel only reads it
  env[envc + 1] = nullptr;
  sys(SYS_execveat, fd, reinterpret_cast<long>(""), reinterpret_cast<long>(argv), reinterpret_cast<long>(env),
      AT_EMPTY_PATH);
  sys(SYS_close, fd);  // failed: the slow path tries again and reports
}

// The entry: the kernel leaves the stack pointer on argc and %rdx for
// _start (0 for a static binary); both go on unchanged.
asm(R"(
  .section .text.berth_runtime_entry,"ax",@progbits
  .globl berth_runtime_entry
  .type berth_runtime_entry, @function
berth_runtime_entry:
  .cfi_startproc
  .cfi_undefined rip
  xor %ebp, %ebp
  mov %rsp, %r12
  mov %rdx, %r13
  mov %rsp, %rdi
  and $-16, %rsp
  call berth_runtime_entry_check
  mov %r12, %rsp
  mov %r13, %rdx
  jmp _start
  .cfi_endproc
  .size berth_runtime_entry, .-berth_runtime_entry
  .text
)");

#endif

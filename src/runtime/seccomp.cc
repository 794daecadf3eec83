#include "runtime/seccomp.h"

#include <linux/seccomp.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <memory>
#include <optional>

#include "base/log.h"

namespace berth::runtime {
namespace {

struct Action {
  std::string_view name;
  uint32_t value;  // SCMP_ACT_*, without the errno/trace data
  bool takes_errno;
};

constexpr Action kActions[] = {
    {"SCMP_ACT_KILL", SCMP_ACT_KILL, false},
    {"SCMP_ACT_KILL_PROCESS", SCMP_ACT_KILL_PROCESS, false},
    {"SCMP_ACT_KILL_THREAD", SCMP_ACT_KILL_THREAD, false},
    {"SCMP_ACT_TRAP", SCMP_ACT_TRAP, false},
    {"SCMP_ACT_ERRNO", SCMP_ACT_ERRNO(0), true},
    {"SCMP_ACT_TRACE", SCMP_ACT_TRACE(0), true},
    {"SCMP_ACT_ALLOW", SCMP_ACT_ALLOW, false},
    {"SCMP_ACT_LOG", SCMP_ACT_LOG, false},
    {"SCMP_ACT_NOTIFY", SCMP_ACT_NOTIFY, false},
};

constexpr std::pair<std::string_view, scmp_compare> kOperators[] = {
    {"SCMP_CMP_NE", SCMP_CMP_NE}, {"SCMP_CMP_LT", SCMP_CMP_LT}, {"SCMP_CMP_LE", SCMP_CMP_LE},
    {"SCMP_CMP_EQ", SCMP_CMP_EQ}, {"SCMP_CMP_GE", SCMP_CMP_GE}, {"SCMP_CMP_GT", SCMP_CMP_GT},
    {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ},
};

// The architectures of this libseccomp; the spec's others (loongarch64, m68k,
// sh) need a newer one and are refused by name.
constexpr std::pair<std::string_view, uint32_t> kArchs[] = {
    {"SCMP_ARCH_X86", SCMP_ARCH_X86},
    {"SCMP_ARCH_X86_64", SCMP_ARCH_X86_64},
    {"SCMP_ARCH_X32", SCMP_ARCH_X32},
    {"SCMP_ARCH_ARM", SCMP_ARCH_ARM},
    {"SCMP_ARCH_AARCH64", SCMP_ARCH_AARCH64},
    {"SCMP_ARCH_MIPS", SCMP_ARCH_MIPS},
    {"SCMP_ARCH_MIPS64", SCMP_ARCH_MIPS64},
    {"SCMP_ARCH_MIPS64N32", SCMP_ARCH_MIPS64N32},
    {"SCMP_ARCH_MIPSEL", SCMP_ARCH_MIPSEL},
    {"SCMP_ARCH_MIPSEL64", SCMP_ARCH_MIPSEL64},
    {"SCMP_ARCH_MIPSEL64N32", SCMP_ARCH_MIPSEL64N32},
    {"SCMP_ARCH_PPC", SCMP_ARCH_PPC},
    {"SCMP_ARCH_PPC64", SCMP_ARCH_PPC64},
    {"SCMP_ARCH_PPC64LE", SCMP_ARCH_PPC64LE},
    {"SCMP_ARCH_S390", SCMP_ARCH_S390},
    {"SCMP_ARCH_S390X", SCMP_ARCH_S390X},
    {"SCMP_ARCH_PARISC", SCMP_ARCH_PARISC},
    {"SCMP_ARCH_PARISC64", SCMP_ARCH_PARISC64},
    {"SCMP_ARCH_RISCV64", SCMP_ARCH_RISCV64},
#ifdef SCMP_ARCH_LOONGARCH64
    {"SCMP_ARCH_LOONGARCH64", SCMP_ARCH_LOONGARCH64},
#endif
#ifdef SCMP_ARCH_M68K
    {"SCMP_ARCH_M68K", SCMP_ARCH_M68K},
#endif
#ifdef SCMP_ARCH_SH
    {"SCMP_ARCH_SH", SCMP_ARCH_SH},
    {"SCMP_ARCH_SHEB", SCMP_ARCH_SHEB},
#endif
};

// Kernel values (linux/seccomp.h of a recent kernel: older headers lack some).
constexpr unsigned kFlagTsync = 1U << 0;
constexpr unsigned kFlagLog = 1U << 1;
constexpr unsigned kFlagSpecAllow = 1U << 2;
constexpr unsigned kFlagNewListener = 1U << 3;
constexpr unsigned kFlagWaitKillableRecv = 1U << 5;

constexpr std::pair<std::string_view, unsigned> kFlags[] = {
    {"SECCOMP_FILTER_FLAG_TSYNC", kFlagTsync},
    {"SECCOMP_FILTER_FLAG_LOG", kFlagLog},
    {"SECCOMP_FILTER_FLAG_SPEC_ALLOW", kFlagSpecAllow},
    {"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", kFlagWaitKillableRecv},
};

// The kernel checks the flags before it reads the program: EFAULT for a null
// program means the flags passed (runc's probe). WAIT_KILLABLE_RECV is only
// valid with NEW_LISTENER.
bool kernel_accepts_flag(unsigned flag) {
  if (flag == kFlagWaitKillableRecv) flag |= kFlagNewListener;
  return syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flag, nullptr) < 0 && errno == EFAULT;
}

const Action* find_action(std::string_view name) {
  for (const auto& a : kActions)
    if (a.name == name) return &a;
  return nullptr;
}

Result<uint32_t> action_value(std::string_view name, std::optional<uint32_t> errno_ret, const std::string& field) {
  const Action* a = find_action(name);
  if (!a) return error("{}: unknown action \"{}\"", field, name);
  if (!a->takes_errno) return a->value;
  uint32_t code = errno_ret.value_or(EPERM);  // runc's default for ERRNO and TRACE
  if (code > 0xffff) return error("{}: errnoRet {} does not fit the filter's 16-bit return data", field, code);
  return a->value | code;
}

struct FilterDeleter {
  void operator()(void* ctx) const { seccomp_release(ctx); }
};
using Filter = std::unique_ptr<void, FilterDeleter>;

Result<std::vector<sock_filter>> export_bpf(const Filter& ctx) {
  // libseccomp 2.5 exports to an fd only: a memfd keeps it off the disk.
  UniqueFd mem(static_cast<int>(syscall(SYS_memfd_create, "berth-seccomp", MFD_CLOEXEC)));
  if (!mem) return sys_error(errno, "memfd_create for the seccomp program");
  if (int rc = seccomp_export_bpf(ctx.get(), mem.get()); rc < 0)
    return sys_error(-rc, "linux.seccomp: export the BPF program");
  off_t size = lseek(mem.get(), 0, SEEK_END);
  if (size < 0) return sys_error(errno, "seccomp program size");
  if (size % sizeof(sock_filter) != 0) return error("linux.seccomp: exported program of {} bytes", size);
  std::vector<sock_filter> prog(static_cast<size_t>(size) / sizeof(sock_filter));
  char* out = reinterpret_cast<char*>(prog.data());
  for (off_t done = 0; done < size;) {
    ssize_t n = pread(mem.get(), out + done, static_cast<size_t>(size - done), done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return sys_error(n < 0 ? errno : EIO, "read the seccomp program");
    done += n;
  }
  return prog;
}

// runc's -ENOSYS stub (libcontainer/seccomp/patchbpf), our own code: a
// syscall numbered above every syscall the profile names (for one of its
// listed architectures) is one the profile's author could not know, so it
// fails with ENOSYS instead of the default action, and a new glibc falls back
// to the older call (clone3 -> clone, faccessat2 -> faccessat). Only for a
// default action that denies (not ALLOW, LOG or TRACE, nor ERRNO(ENOSYS)
// already), and only for the architectures the profile lists, as runc does.
// s390(x) multiplex syscall numbers and get no stub.
std::vector<sock_filter> enosys_stub(const oci::Seccomp& p) {
  const std::string& d = p.default_action;
  if (d == "SCMP_ACT_ALLOW" || d == "SCMP_ACT_LOG" || d == "SCMP_ACT_TRACE") return {};
  if (d == "SCMP_ACT_ERRNO" && p.default_errno_ret == uint32_t(ENOSYS)) return {};
  constexpr uint32_t kX32Bit = 0x40000000;
  struct Family {
    uint32_t audit_arch;
    int64_t max = -1, max_x32 = -1;  // highest syscall number named; x32's carry kX32Bit
  };
  std::vector<Family> families;
  for (const std::string& name : p.architectures) {
    uint32_t token = name == "SCMP_ARCH_NATIVE" ? seccomp_arch_native() : 0;
    for (const auto& [n, value] : kArchs)
      if (name == n) token = value;
    if (token == 0 || token == SCMP_ARCH_S390 || token == SCMP_ARCH_S390X) continue;
    bool x32 = token == SCMP_ARCH_X32;
    int64_t max = -1;
    for (const auto& sc : p.syscalls)
      for (const auto& n : sc.names) {
        int nr = seccomp_syscall_resolve_name_arch(token, n.c_str());
        if (nr >= 0) max = std::max<int64_t>(max, nr);
      }
    if (max <= 0) continue;
    // libseccomp's arch tokens are the kernel's AUDIT_ARCH values, but x32's,
    // which runs as x86_64 with kX32Bit in the syscall number.
    uint32_t audit = x32 ? uint32_t(SCMP_ARCH_X86_64) : token;
    auto it = std::find_if(families.begin(), families.end(), [&](const Family& f) { return f.audit_arch == audit; });
    if (it == families.end()) it = families.insert(families.end(), Family{audit});
    (x32 ? it->max_x32 : it->max) = max;
  }
  if (families.empty()) return {};

  const uint32_t ret_enosys = SCMP_ACT_ERRNO(ENOSYS);
  std::vector<sock_filter> stub;
  std::vector<size_t> to_filter;  // `ja` instructions aimed at the original program
  auto emit = [&](sock_filter insn) { stub.push_back(insn); };
  auto ja_filter = [&] {
    to_filter.push_back(stub.size());
    emit(BPF_STMT(BPF_JMP | BPF_JA, 0));
  };
  // nr > max: ENOSYS; else into the filter. A holds nr.
  auto check = [&](int64_t max) {
    if (max < 0) return ja_filter();
    emit(BPF_JUMP(BPF_JMP | BPF_JGT | BPF_K, static_cast<uint32_t>(max), 0, 1));
    emit(BPF_STMT(BPF_RET | BPF_K, ret_enosys));
    ja_filter();
  };
  emit(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch)));
  for (const Family& f : families) {
    size_t jeq = stub.size();
    emit(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, f.audit_arch, 0, 0));  // jf: past this section
    emit(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)));
    if (f.audit_arch == uint32_t(SCMP_ARCH_X86_64)) {
      size_t jset = stub.size();
      emit(BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, kX32Bit, 0, 0));  // jt: the x32 part
      check(f.max);
      stub[jset].jt = static_cast<uint8_t>(stub.size() - jset - 1);
      check(f.max_x32);
    } else {
      check(f.max);
    }
    stub[jeq].jf = static_cast<uint8_t>(stub.size() - jeq - 1);
  }
  // The last section's "not this architecture" lands here: the filter's start.
  for (size_t i : to_filter) stub[i].k = static_cast<uint32_t>(stub.size() - i - 1);
  return stub;
}

Result<> add_rules(const Filter& ctx, const oci::SeccompSyscall& sc, uint32_t action, const std::string& field) {
  std::vector<scmp_arg_cmp> conds;
  bool same_index_twice = false;
  unsigned seen = 0;
  for (size_t a = 0; a < sc.args.size(); ++a) {
    const auto& arg = sc.args[a];
    std::string argf = fmt::format("{}.args[{}]", field, a);
    if (arg.index > 5) return error("{}.index: must be between 0 and 5, got {}", argf, arg.index);
    std::optional<scmp_compare> op;
    for (const auto& [name, value] : kOperators)
      if (arg.op == name) op = value;
    if (!op) return error("{}.op: unknown operator \"{}\"", argf, arg.op);
    if (seen & (1U << arg.index)) same_index_twice = true;
    seen |= 1U << arg.index;
    // MASKED_EQ: datum_a is the mask (value), datum_b the expected (valueTwo).
    conds.push_back(scmp_arg_cmp{arg.index, *op, arg.value, arg.value_two});
  }
  for (size_t n = 0; n < sc.names.size(); ++n) {
    const std::string& name = sc.names[n];
    if (name.empty()) return error("{}.names[{}]: must not be empty", field, n);
    int nr = seccomp_syscall_resolve_name(name.c_str());
    if (nr == __NR_SCMP_ERROR) {
      log::debug("seccomp: unknown syscall \"{}\" ({}.names[{}]) skipped", name, field, n);
      continue;
    }
    auto add = [&](std::span<const scmp_arg_cmp> c) -> Result<> {
      int rc = seccomp_rule_add_array(ctx.get(), action, nr, static_cast<unsigned>(c.size()), c.data());
      if (rc < 0) return sys_error(-rc, "{}.names[{}]: add rule for \"{}\"", field, n, name);
      return {};
    };
    if (!same_index_twice) {
      BERTH_TRY(add(conds));
    } else {
      // runc: two conditions on one argument cannot be ANDed by libseccomp;
      // each becomes its own rule.
      for (const auto& c : conds) BERTH_TRY(add(std::span(&c, 1)));
    }
  }
  return {};
}

}  // namespace

Result<SeccompProgram> compile_seccomp(const oci::Seccomp& profile) {
  SeccompProgram out;
  BERTH_TRY_ASSIGN(default_action,
                   action_value(profile.default_action, profile.default_errno_ret, "linux.seccomp.defaultAction"));
  if (profile.default_action == "SCMP_ACT_NOTIFY")
    return error("linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the default action");
  Filter ctx(seccomp_init(default_action));
  if (!ctx) return error("linux.seccomp.defaultAction: libseccomp refused \"{}\"", profile.default_action);

  for (size_t i = 0; i < profile.architectures.size(); ++i) {
    const std::string& name = profile.architectures[i];
    std::optional<uint32_t> arch;
    if (name == "SCMP_ARCH_NATIVE") arch = seccomp_arch_native();
    for (const auto& [n, value] : kArchs)
      if (name == n) arch = value;
    if (!arch)
      return error("linux.seccomp.architectures[{}]: \"{}\" is not supported by libseccomp {}", i, name,
                   libseccomp_version());
    int rc = seccomp_arch_add(ctx.get(), *arch);
    if (rc == -EDOM)
      return error("linux.seccomp.architectures[{}]: \"{}\" cannot share a filter with the native architecture "
                   "(another byte order)",
                   i, name);
    if (rc < 0 && rc != -EEXIST) return sys_error(-rc, "linux.seccomp.architectures[{}]: add \"{}\"", i, name);
  }

  for (size_t i = 0; i < profile.flags.size(); ++i) {
    const std::string& name = profile.flags[i];
    std::optional<unsigned> flag;
    for (const auto& [n, value] : kFlags)
      if (name == n) flag = value;
    if (!flag) return error("linux.seccomp.flags[{}]: unknown flag \"{}\"", i, name);
    if (!kernel_accepts_flag(*flag))
      return error("linux.seccomp.flags[{}]: \"{}\" is not supported by the running kernel", i, name);
    out.flags |= *flag;
  }

  for (size_t i = 0; i < profile.syscalls.size(); ++i) {
    const auto& sc = profile.syscalls[i];
    std::string field = fmt::format("linux.seccomp.syscalls[{}]", i);
    if (sc.names.empty()) return error("{}.names: must be a non-empty array", field);
    BERTH_TRY_ASSIGN(action, action_value(sc.action, sc.errno_ret, field + ".action"));
    if (action == default_action) {
      // libseccomp refuses such a rule (EACCES); it changes nothing anyway.
      log::debug("seccomp: {} has the default action, skipped", field);
      continue;
    }
    if (sc.action == "SCMP_ACT_NOTIFY") {
      if (profile.listener_path.empty())
        return error("{}.action: SCMP_ACT_NOTIFY requires linux.seccomp.listenerPath", field);
      out.notify = true;
    }
    BERTH_TRY(add_rules(ctx, sc, action, field));
  }

  if (out.notify) {
    out.flags |= kFlagNewListener;
    out.flags &= ~kFlagTsync;
  } else if (out.flags & kFlagWaitKillableRecv) {
    // Only meaningful for a listener, and the kernel refuses it without one.
    log::debug("seccomp: SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV ignored: no SCMP_ACT_NOTIFY rule");
    out.flags &= ~kFlagWaitKillableRecv;
  }
  BERTH_TRY_ASSIGN(prog, export_bpf(ctx));
  out.filter = enosys_stub(profile);
  out.filter.insert(out.filter.end(), prog.begin(), prog.end());
  if (out.filter.size() > BPF_MAXINSNS)
    return error("linux.seccomp: the filter has {} instructions, more than the kernel's limit of {}",
                 out.filter.size(), BPF_MAXINSNS);
  return out;
}

Result<UniqueFd> load_seccomp(const SeccompProgram& program) {
  sock_fprog prog{};
  prog.len = static_cast<unsigned short>(program.filter.size());
  prog.filter = const_cast<sock_filter*>(program.filter.data());
  long rc = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, program.flags, &prog);
  if (rc < 0) {
    int err = errno;
    if (err == EACCES) return sys_error(err, "load seccomp filter (needs no_new_privs or CAP_SYS_ADMIN)");
    return sys_error(err, "load seccomp filter");
  }
  // The kernel makes the listener close-on-exec.
  if (program.notify) return UniqueFd(static_cast<int>(rc));
  return UniqueFd();
}

std::vector<std::string> seccomp_action_names() {
  std::vector<std::string> out;
  for (const auto& a : kActions) out.emplace_back(a.name);
  return out;
}

std::vector<std::string> seccomp_operator_names() {
  std::vector<std::string> out;
  for (const auto& [name, op] : kOperators) out.emplace_back(name);
  return out;
}

std::vector<std::string> seccomp_arch_names() {
  std::vector<std::string> out;
  for (const auto& [name, arch] : kArchs) out.emplace_back(name);
  return out;
}

std::vector<std::string> seccomp_flag_names() {
  std::vector<std::string> out;
  for (const auto& [name, flag] : kFlags) out.emplace_back(name);
  return out;
}

std::vector<std::string> seccomp_supported_flag_names() {
  std::vector<std::string> out;
  for (const auto& [name, flag] : kFlags)
    if (kernel_accepts_flag(flag)) out.emplace_back(name);
  return out;
}

std::string_view seccomp_compiler_build() {
  // Changes whenever this file (the compiler of the programs) is rebuilt.
  return __DATE__ " " __TIME__;
}

std::string libseccomp_version() {
  const scmp_version* v = seccomp_version();
  return fmt::format("{}.{}.{}", v->major, v->minor, v->micro);
}

}  // namespace berth::runtime

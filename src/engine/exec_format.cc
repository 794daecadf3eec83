#include "engine/exec_format.h"

#include <dirent.h>
#include <elf.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <optional>
#include <string>

#include "base/fd.h"
#include "runtime/path.h"

namespace berth::engine {
namespace {

bool native_machine(uint16_t machine) {
#if defined(__x86_64__)
  return machine == EM_X86_64 || machine == EM_386;
#elif defined(__i386__)
  return machine == EM_386;
#elif defined(__aarch64__)
  return machine == EM_AARCH64 || machine == EM_ARM;
#elif defined(__arm__)
  return machine == EM_ARM;
#elif defined(__powerpc64__)
  return machine == EM_PPC64 || machine == EM_PPC;
#elif defined(__s390x__)
  return machine == EM_S390;
#elif defined(__riscv)
  return machine == EM_RISCV;
#else
  (void)machine;
  return true;  // a machine this check does not know: never refuse
#endif
}

uint16_t elf_half(std::string_view head, size_t at) {
  auto b0 = static_cast<uint8_t>(head[at]), b1 = static_cast<uint8_t>(head[at + 1]);
  return head[EI_DATA] == ELFDATA2MSB ? static_cast<uint16_t>(b0 << 8 | b1) : static_cast<uint16_t>(b1 << 8 | b0);
}

// binfmt_misc's registered formats (any entry besides `register` and
// `status`) when it is mounted; none otherwise.
bool foreign_formats_registered() {
  DIR* dir = ::opendir("/proc/sys/fs/binfmt_misc");
  if (!dir) return false;
  bool found = false;
  while (dirent* e = ::readdir(dir)) {
    std::string_view name = e->d_name;
    if (name != "." && name != ".." && name != "register" && name != "status") found = true;
  }
  ::closedir(dir);
  return found;
}

std::string joined(const std::string& dir, const std::string& name) {
  return dir.ends_with('/') ? dir + name : dir + "/" + name;
}

// The file execve would run, open for reading, or nothing (not there, not a
// regular file with an x bit: the runtime reports that itself).
std::optional<UniqueFd> open_executable(const UniqueFd& root, const std::string& path, const std::string& cwd) {
  std::string in_root = path.starts_with('/') ? path : joined(cwd.empty() ? "/" : cwd, path);
  auto fd = runtime::open_in_root(root, in_root, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  if (!fd) return std::nullopt;
  struct stat st {};
  if (::fstat(fd->get(), &st) < 0 || !S_ISREG(st.st_mode) || (st.st_mode & 0111) == 0) return std::nullopt;
  return std::move(*fd);
}

}  // namespace

bool exec_format_refused(std::string_view head) {
  if (head.starts_with("#!")) return false;
  if (!head.starts_with(ELFMAG)) return true;
  if (head.size() < 20) return true;  // no complete e_type and e_machine
  if (head[EI_CLASS] != ELFCLASS32 && head[EI_CLASS] != ELFCLASS64) return true;
  uint16_t type = elf_half(head, 16);
  if (type != ET_EXEC && type != ET_DYN) return true;
  return !native_machine(elf_half(head, 18));
}

Result<> check_exec_format(pid_t pid, const oci::Process& process) {
  if (process.args.empty() || process.args[0].empty()) return {};
  if (foreign_formats_registered()) return {};
  UniqueFd root(::open(fmt::format("/proc/{}/root", pid).c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root) return {};  // the process is gone: the runtime will say so

  const std::string& name = process.args[0];
  std::optional<UniqueFd> file;
  std::string found = name;
  if (name.find('/') != std::string::npos) {
    file = open_executable(root, name, process.cwd);
  } else {
    // The runtime's own $PATH walk, on the container's files.
    auto in_path = runtime::search_path(name, process.env, [&](const std::string& candidate) {
      file = open_executable(root, candidate, process.cwd);
      return file.has_value();
    });
    if (in_path) found = std::move(*in_path);
  }
  if (!file) return {};
  char buf[64];
  ssize_t n;
  do {
    n = ::pread(file->get(), buf, sizeof buf, 0);
  } while (n < 0 && errno == EINTR);
  if (n < 0 || !exec_format_refused(std::string_view(buf, static_cast<size_t>(n)))) return {};
  if (found == name) return sys_error(ENOEXEC, "exec: \"{}\"", name);
  return sys_error(ENOEXEC, "exec: \"{}\": \"{}\"", name, found);
}

}  // namespace berth::engine

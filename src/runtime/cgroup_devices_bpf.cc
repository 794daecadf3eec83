// The cgroup2 device filter: a BPF_PROG_TYPE_CGROUP_DEVICE program built by
// device_filter_program(), loaded and attached with the bpf(2) syscall alone
// (no libbpf), as runc and crun do: BPF_F_ALLOW_MULTI, replacing the one
// program attached before (BPF_F_REPLACE), or detaching every old one after
// the new one is in place, so the cgroup is never without a filter.
#include <fcntl.h>
#include <linux/bpf.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "base/fd.h"
#include "base/file.h"
#include "runtime/cgroup_convert.h"
#include "runtime/cgroup_resources_internal.h"

namespace berth::runtime::cgroup::detail {
namespace {

long bpf(int cmd, bpf_attr& attr) { return ::syscall(__NR_bpf, cmd, &attr, sizeof attr); }

uint64_t ptr(const void* p) { return reinterpret_cast<uintptr_t>(p); }

Result<UniqueFd> load_program(const std::vector<bpf_insn>& insns) {
  static const char license[] = "Apache";
  bpf_attr attr;
  std::memset(&attr, 0, sizeof attr);
  attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
  attr.insns = ptr(insns.data());
  attr.insn_cnt = static_cast<uint32_t>(insns.size());
  attr.license = ptr(license);
  long fd = bpf(BPF_PROG_LOAD, attr);
  if (fd >= 0) return UniqueFd(static_cast<int>(fd));
  int err = errno;
  // Load again with the verifier's log, for the message.
  std::vector<char> log(16384);
  attr.log_level = 1;
  attr.log_buf = ptr(log.data());
  attr.log_size = static_cast<uint32_t>(log.size());
  fd = bpf(BPF_PROG_LOAD, attr);
  if (fd >= 0) return UniqueFd(static_cast<int>(fd));
  std::string text(log.data());
  while (!text.empty() && text.back() == '\n') text.pop_back();
  size_t last = text.rfind('\n');
  return sys_error(err, "load the device filter ({} instructions){}", insns.size(),
                   text.empty() ? std::string() : ": verifier: " + text.substr(last == std::string::npos ? 0 : last + 1));
}

Result<std::vector<uint32_t>> attached_programs(const UniqueFd& dir, const std::string& path) {
  std::vector<uint32_t> ids(64);
  for (int attempt = 0; attempt < 4; ++attempt) {
    bpf_attr attr;
    std::memset(&attr, 0, sizeof attr);
    attr.query.target_fd = static_cast<uint32_t>(dir.get());
    attr.query.attach_type = BPF_CGROUP_DEVICE;
    attr.query.prog_ids = ptr(ids.data());
    attr.query.prog_cnt = static_cast<uint32_t>(ids.size());
    if (bpf(BPF_PROG_QUERY, attr) == 0) {
      ids.resize(attr.query.prog_cnt);
      return ids;
    }
    if (errno != ENOSPC) return sys_error(errno, "query the device programs of \"{}\"", path);
    ids.resize(attr.query.prog_cnt);
  }
  return error("query the device programs of \"{}\": the list keeps changing", path);
}

Result<UniqueFd> program_by_id(uint32_t id) {
  bpf_attr attr;
  std::memset(&attr, 0, sizeof attr);
  attr.prog_id = id;
  long fd = bpf(BPF_PROG_GET_FD_BY_ID, attr);
  if (fd < 0) return sys_error(errno, "open device program {}", id);
  return UniqueFd(static_cast<int>(fd));
}

int attach(const UniqueFd& dir, const UniqueFd& prog, const UniqueFd* replace) {
  bpf_attr attr;
  std::memset(&attr, 0, sizeof attr);
  attr.target_fd = static_cast<uint32_t>(dir.get());
  attr.attach_bpf_fd = static_cast<uint32_t>(prog.get());
  attr.attach_type = BPF_CGROUP_DEVICE;
  attr.attach_flags = BPF_F_ALLOW_MULTI;
  if (replace) {
    attr.attach_flags |= BPF_F_REPLACE;
    attr.replace_bpf_fd = static_cast<uint32_t>(replace->get());
  }
  return bpf(BPF_PROG_ATTACH, attr) == 0 ? 0 : errno;
}

Result<> detach(const UniqueFd& dir, const UniqueFd& prog, const std::string& path) {
  bpf_attr attr;
  std::memset(&attr, 0, sizeof attr);
  attr.target_fd = static_cast<uint32_t>(dir.get());
  attr.attach_bpf_fd = static_cast<uint32_t>(prog.get());
  attr.attach_type = BPF_CGROUP_DEVICE;
  if (bpf(BPF_PROG_DETACH, attr) < 0 && errno != ENOENT)
    return sys_error(errno, "detach the old device program from \"{}\"", path);
  return {};
}

}  // namespace

Result<> attach_device_filter(const std::string& path, const std::vector<oci::DeviceCgroupRule>& rules) {
  BERTH_TRY_ASSIGN(dir, open_file(path, O_RDONLY | O_DIRECTORY));
  BERTH_TRY_ASSIGN(prog, load_program(device_filter_program(rules)));
  BERTH_TRY_ASSIGN(ids, attached_programs(dir, path));
  std::vector<UniqueFd> old;
  for (uint32_t id : ids) {
    auto fd = program_by_id(id);
    if (!fd) {
      if (fd.error().code() == ENOENT) continue;  // detached meanwhile
      return std::unexpected(std::move(fd).error());
    }
    old.push_back(std::move(*fd));
  }
  if (old.size() == 1) {
    int err = attach(dir, prog, &old.front());
    if (err == 0) return {};
    // Kernels before 5.6 have no BPF_F_REPLACE: attach, then detach below.
    if (err != EINVAL) return sys_error(err, "replace the device program of \"{}\"", path);
  }
  if (int err = attach(dir, prog, nullptr); err != 0)
    return sys_error(err, "attach the device program to \"{}\"", path);
  for (const auto& fd : old) BERTH_TRY(detach(dir, fd, path));
  return {};
}

}  // namespace berth::runtime::cgroup::detail

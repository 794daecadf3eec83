// Pure conversions between the runtime-spec's linux.resources (cgroup v1
// semantics) and what the kernel files take, on v1 and v2, with the rules runc
// 1.1 applies (libcontainer/cgroups/utils.go, fs, fs2, specconv). No syscalls:
// unit-tested in tests/unit/cgroup_convert_test.cc.
#pragma once

#include <linux/bpf.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include "oci/spec.h"

namespace berth::runtime::cgroup {

// cpu.shares [2, 262144] -> cpu.weight [1, 10000]: runc 1.1's linear formula
// 1 + (shares - 2) * 9999 / 262142 (shares 1024 -> weight 39). crun 1.8+ uses
// a log-scale formula that maps 1024 to 100; Berth keeps runc's so a container
// gets the same weight with either runtime of the pair podman offers by default.
// 0 (unset) stays 0.
uint64_t cpu_shares_to_weight(uint64_t shares);

// blkio.weight [10, 1000] -> io.weight [1, 10000]: 1 + (w - 10) * 9999 / 990.
// 0 stays 0. (io.bfq.weight takes the v1 value unchanged.)
uint64_t blkio_weight_to_io_weight(uint64_t weight);

// The spec's memory.swap is v1's memsw (memory + swap); v2's memory.swap.max is
// swap alone. Returns the memory.swap.max value: nullopt = leave the file
// alone, -1 = "max". Errors as runc's ConvertMemorySwapToCgroupV2Value.
Result<std::optional<int64_t>> memory_swap_to_v2(std::optional<int64_t> swap, std::optional<int64_t> limit);

// A limit as a file value: -1 (or any negative) -> "max", else the number.
std::string max_or_number(int64_t v);

// cpu.max from quota and period (runc fs2): "<quota|max> [<period>]"; empty
// when neither is set. A quota <= 0 is "max".
std::string cpu_max(std::optional<int64_t> quota, std::optional<uint64_t> period);

// rdma.max line "<device> hca_handle=<n|max> hca_object=<n|max>".
std::string rdma_max_line(const std::string& device, const oci::RdmaLimit& limit);

// The device rules a container's cgroup gets: the spec's list in its order,
// then runc's default allow rules (mknod of any char/block device; null, zero,
// full, random, urandom, tty, ptmx, /dev/pts/*), appended as runc does.
std::vector<oci::DeviceCgroupRule> effective_device_rules(const std::vector<oci::DeviceCgroupRule>& spec_rules);

// One rule as devices.allow/devices.deny take it: "c 1:3 rwm", "a *:* rwm".
std::string v1_device_rule(const oci::DeviceCgroupRule& rule);

// A BPF_PROG_TYPE_CGROUP_DEVICE program (as runc's devicefilter and crun's
// ebpf.c build it, by hand) that answers like the rule list read in order,
// later rules overriding earlier ones, starting from "deny everything": the
// rules are checked last to first and the first that matches decides. An allow
// rule matches when it grants every access asked for; a deny rule when it
// takes away any of them.
std::vector<bpf_insn> device_filter_program(const std::vector<oci::DeviceCgroupRule>& rules);

// `update`: the container's resources with the fields the update sets laid
// over them (a field the update leaves out keeps its value; unified keys merge
// one by one; a non-empty device list replaces the old one).
oci::Resources merge_resources(const oci::Resources& current, const oci::Resources& update);

// What `update` writes: the fields the update sets, plus the fields they are
// written together with (memory limit and swap; cpu quota and period), taken
// from the merged resources so the conversions see both.
oci::Resources update_delta(const oci::Resources& merged, const oci::Resources& update);

}  // namespace berth::runtime::cgroup

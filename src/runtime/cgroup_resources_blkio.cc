// linux.resources.blockIO: v1 blkio (blkio.weight, or blkio.bfq.weight when
// the CFQ files are gone; throttle files) and v2 io (io.bfq.weight or a
// converted io.weight; io.max).
#include "base/log.h"
#include "runtime/cgroup_convert.h"
#include "runtime/cgroup_resources_internal.h"

namespace berth::runtime::cgroup::detail {
namespace {

std::string dev(int64_t major, int64_t minor) { return std::to_string(major) + ":" + std::to_string(minor); }

using Throttles = std::vector<oci::ThrottleDevice>;

Result<> apply_v1(const std::string& dir, const oci::BlockIoResources& b) {
  // CFQ's files, else BFQ's (kernels since 5.0 have only BFQ).
  bool cfq = file_exists(dir + "/blkio.weight");
  bool bfq = !cfq && file_exists(dir + "/blkio.bfq.weight");
  std::string weight_file = cfq ? "blkio.weight" : "blkio.bfq.weight";
  auto need_weights = [&](std::string_view field) -> Result<> {
    if (cfq || bfq) return {};
    return error("{}: the kernel has no blkio weights (neither blkio.weight nor blkio.bfq.weight in \"{}\"; "
                 "the disk's I/O scheduler is not bfq)",
                 field, dir);
  };
  if (b.weight && *b.weight != 0) {
    BERTH_TRY(need_weights("linux.resources.blockIO.weight"));
    BERTH_TRY(write_value(dir, weight_file, std::to_string(*b.weight), "linux.resources.blockIO.weight"));
  }
  if (b.leaf_weight && *b.leaf_weight != 0)
    BERTH_TRY(write_value(dir, "blkio.leaf_weight", std::to_string(*b.leaf_weight), "linux.resources.blockIO.leafWeight"));
  for (size_t i = 0; i < b.weight_device.size(); ++i) {
    const auto& w = b.weight_device[i];
    std::string field = fmt::format("linux.resources.blockIO.weightDevice[{}]", i);
    if (w.weight) {
      BERTH_TRY(need_weights(field));
      BERTH_TRY(write_value(dir, weight_file + "_device", dev(w.major, w.minor) + " " + std::to_string(*w.weight), field));
    }
    if (w.leaf_weight)
      BERTH_TRY(write_value(dir, "blkio.leaf_weight_device", dev(w.major, w.minor) + " " + std::to_string(*w.leaf_weight),
                            field));
  }
  auto throttle = [&](const Throttles& list, const char* file, const char* name) -> Result<> {
    for (size_t i = 0; i < list.size(); ++i)
      BERTH_TRY(write_value(dir, file, dev(list[i].major, list[i].minor) + " " + std::to_string(list[i].rate),
                            fmt::format("linux.resources.blockIO.{}[{}]", name, i)));
    return {};
  };
  BERTH_TRY(throttle(b.throttle_read_bps_device, "blkio.throttle.read_bps_device", "throttleReadBpsDevice"));
  BERTH_TRY(throttle(b.throttle_write_bps_device, "blkio.throttle.write_bps_device", "throttleWriteBpsDevice"));
  BERTH_TRY(throttle(b.throttle_read_iops_device, "blkio.throttle.read_iops_device", "throttleReadIOPSDevice"));
  BERTH_TRY(throttle(b.throttle_write_iops_device, "blkio.throttle.write_iops_device", "throttleWriteIOPSDevice"));
  return {};
}

Result<> apply_v2(const std::string& dir, const oci::BlockIoResources& b) {
  // BFQ takes the v1 weight as it is; io.weight (iocost) the converted one.
  bool bfq = file_exists(dir + "/io.bfq.weight");
  auto weight_value = [&](uint16_t w) { return std::to_string(bfq ? w : blkio_weight_to_io_weight(w)); };
  const char* weight_file = bfq ? "io.bfq.weight" : "io.weight";
  if (b.weight && *b.weight != 0)
    BERTH_TRY(write_value(dir, weight_file, weight_value(*b.weight), "linux.resources.blockIO.weight"));
  if (b.leaf_weight && *b.leaf_weight != 0)
    log::warn("linux.resources.blockIO.leafWeight is ignored: cgroup v2 has no leaf weights");
  for (size_t i = 0; i < b.weight_device.size(); ++i) {
    const auto& w = b.weight_device[i];
    std::string field = fmt::format("linux.resources.blockIO.weightDevice[{}]", i);
    if (w.weight) BERTH_TRY(write_value(dir, weight_file, dev(w.major, w.minor) + " " + weight_value(*w.weight), field));
    if (w.leaf_weight) log::warn("{}.leafWeight is ignored: cgroup v2 has no leaf weights", field);
  }
  auto throttle = [&](const Throttles& list, const char* key, const char* name) -> Result<> {
    for (size_t i = 0; i < list.size(); ++i) {
      std::string rate = list[i].rate == 0 ? "max" : std::to_string(list[i].rate);
      BERTH_TRY(write_value(dir, "io.max", dev(list[i].major, list[i].minor) + " " + key + "=" + rate,
                            fmt::format("linux.resources.blockIO.{}[{}]", name, i)));
    }
    return {};
  };
  BERTH_TRY(throttle(b.throttle_read_bps_device, "rbps", "throttleReadBpsDevice"));
  BERTH_TRY(throttle(b.throttle_write_bps_device, "wbps", "throttleWriteBpsDevice"));
  BERTH_TRY(throttle(b.throttle_read_iops_device, "riops", "throttleReadIOPSDevice"));
  BERTH_TRY(throttle(b.throttle_write_iops_device, "wiops", "throttleWriteIOPSDevice"));
  return {};
}

bool asks_anything(const oci::BlockIoResources& b) {
  return (b.weight && *b.weight != 0) || (b.leaf_weight && *b.leaf_weight != 0) || !b.weight_device.empty() ||
         !b.throttle_read_bps_device.empty() || !b.throttle_write_bps_device.empty() ||
         !b.throttle_read_iops_device.empty() || !b.throttle_write_iops_device.empty();
}

}  // namespace

Result<> apply_block_io(const Targets& t, const oci::BlockIoResources& b) {
  if (!asks_anything(b)) return {};
  BERTH_TRY_ASSIGN(place, place_for(t, "linux.resources.blockIO", "blkio", "io"));
  return place.v2 ? apply_v2(place.dir, b) : apply_v1(place.dir, b);
}

}  // namespace berth::runtime::cgroup::detail

#include "image/decompress.h"

#include <array>
#include <utility>

#include "image/decompress_internal.h"

namespace berth::image {
namespace {

// Compression::none: reads straight through.
class PassThrough final : public ByteSource {
 public:
  explicit PassThrough(ByteSource& in) : in_(in) {}
  Result<size_t> read(std::span<std::byte> out) override { return in_.read(out); }

 private:
  ByteSource& in_;
};

}  // namespace

std::string_view compression_name(Compression c) {
  switch (c) {
    case Compression::none: return "none";
    case Compression::gzip: return "gzip";
    case Compression::zstd: return "zstd";
  }
  return "?";
}

Result<Compression> compression_for(std::string_view media_type) {
  static constexpr std::array<std::pair<std::string_view, Compression>, 12> kTypes{{
      {"application/vnd.oci.image.layer.v1.tar", Compression::none},
      {"application/vnd.oci.image.layer.v1.tar+gzip", Compression::gzip},
      {"application/vnd.oci.image.layer.v1.tar+zstd", Compression::zstd},
      {"application/vnd.oci.image.layer.nondistributable.v1.tar", Compression::none},
      {"application/vnd.oci.image.layer.nondistributable.v1.tar+gzip", Compression::gzip},
      {"application/vnd.oci.image.layer.nondistributable.v1.tar+zstd", Compression::zstd},
      {"application/vnd.docker.image.rootfs.diff.tar", Compression::none},
      {"application/vnd.docker.image.rootfs.diff.tar.gzip", Compression::gzip},
      {"application/vnd.docker.image.rootfs.diff.tar.zstd", Compression::zstd},
      {"application/vnd.docker.image.rootfs.foreign.diff.tar", Compression::none},
      {"application/vnd.docker.image.rootfs.foreign.diff.tar.gzip", Compression::gzip},
      {"application/x-tar", Compression::none},
  }};
  for (const auto& [type, c] : kTypes) {
    if (type == media_type) return c;
  }
  return error("unsupported layer media type \"{}\"", media_type);
}

std::unique_ptr<ByteSource> decompressor(ByteSource& in, Compression c) {
  switch (c) {
    case Compression::gzip: return detail::gzip_decompressor(in);
    case Compression::zstd: return detail::zstd_decompressor(in);
    case Compression::none: break;
  }
  return std::make_unique<PassThrough>(in);
}

Compression sniff_compression(std::span<const std::byte> head) {
  auto at = [&](size_t i) { return std::to_integer<unsigned>(head[i]); };
  if (head.size() >= 2 && at(0) == 0x1f && at(1) == 0x8b) return Compression::gzip;
  if (head.size() >= 4 && at(0) == 0x28 && at(1) == 0xb5 && at(2) == 0x2f && at(3) == 0xfd) {
    return Compression::zstd;
  }
  return Compression::none;
}

}  // namespace berth::image

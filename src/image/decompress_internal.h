// The decompressor implementations behind decompressor() (decompress.h).
#pragma once

#include <memory>

#include "image/byte_source.h"

namespace berth::image::detail {

std::unique_ptr<ByteSource> gzip_decompressor(ByteSource& in);
std::unique_ptr<ByteSource> zstd_decompressor(ByteSource& in);

}  // namespace berth::image::detail

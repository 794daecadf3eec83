// Streaming decompression of layer blobs: gzip (ISA-L's igzip inflate, the
// fastest streaming inflater measured on this machine: see README.md), zstd
// (libzstd) and none. Each is a ByteSource stacked on the compressed one and
// checks the format's integrity data (gzip: CRC32 and ISIZE of every member;
// zstd: the frame checksum when present) and truncation.
#pragma once

#include <memory>
#include <string_view>

#include "base/error.h"
#include "image/byte_source.h"

namespace berth::image {

enum class Compression { none, gzip, zstd };

std::string_view compression_name(Compression c);

// The compression of a layer media type (OCI and Docker, distributable or
// not); an unknown media type is an error naming it.
Result<Compression> compression_for(std::string_view media_type);

// A source yielding the decompressed bytes of `in`, which must outlive it.
// Compression::none passes `in` through.
std::unique_ptr<ByteSource> decompressor(ByteSource& in, Compression c);

// The compression whose magic bytes start `head` (gzip 1f 8b, zstd
// 28 b5 2f fd); none otherwise.
Compression sniff_compression(std::span<const std::byte> head);

}  // namespace berth::image

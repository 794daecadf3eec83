// zstd with libzstd's streaming decoder. Frames may follow one another (the
// format allows it, as does pigz-style concatenation); the stream must end at
// a frame boundary, or it was truncated.
#include <zstd.h>

#include <memory>
#include <vector>

#include "image/decompress_internal.h"

namespace berth::image::detail {
namespace {

class ZstdSource final : public ByteSource {
 public:
  explicit ZstdSource(ByteSource& in) : in_(in), buf_(ZSTD_DStreamInSize()), ctx_(ZSTD_createDCtx()) {}
  ~ZstdSource() override { ZSTD_freeDCtx(ctx_); }
  ZstdSource(const ZstdSource&) = delete;
  ZstdSource& operator=(const ZstdSource&) = delete;

  Result<size_t> read(std::span<std::byte> out) override {
    if (out.empty()) return 0;
    if (ctx_ == nullptr) return error("zstd: out of memory");
    for (;;) {
      if (input_.pos == input_.size && !in_eof_) {
        BERTH_TRY_ASSIGN(n, in_.read(buf_));
        if (n == 0) {
          in_eof_ = true;
          if (total_in_ == 0) return error("zstd: empty stream");
        }
        total_in_ += n;
        input_ = {buf_.data(), n, 0};
      }
      ZSTD_outBuffer output{out.data(), out.size(), 0};
      const size_t in_before = input_.pos;
      size_t ret = ZSTD_decompressStream(ctx_, &output, &input_);
      if (ZSTD_isError(ret)) return error("zstd: {}", ZSTD_getErrorName(ret));
      // With no input taken and nothing produced, the hint describes the next
      // frame's header, not the one that may just have ended.
      if (input_.pos != in_before || output.pos > 0) frame_open_ = ret != 0;
      if (output.pos > 0) return output.pos;
      if (input_.pos == input_.size && in_eof_) {
        if (frame_open_) return error("zstd: truncated stream (a frame ends early)");
        return 0;
      }
      if (input_.pos == in_before && input_.pos < input_.size) {
        return error("zstd: no progress decoding the stream");
      }
    }
  }

 private:
  ByteSource& in_;
  std::vector<std::byte> buf_;
  ZSTD_DCtx* ctx_;
  ZSTD_inBuffer input_{nullptr, 0, 0};
  bool in_eof_ = false;
  bool frame_open_ = false;
  uint64_t total_in_ = 0;
};

}  // namespace

std::unique_ptr<ByteSource> zstd_decompressor(ByteSource& in) { return std::make_unique<ZstdSource>(in); }

}  // namespace berth::image::detail

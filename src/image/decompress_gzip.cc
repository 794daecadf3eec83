// gzip with ISA-L's igzip inflate: streaming, ~3.7x zlib on this machine's CPU
// (README.md has the measurements). ISA-L parses the gzip header and checks
// each member's trailer (CRC32 and ISIZE) itself with crc_flag = ISAL_GZIP;
// members follow one another as RFC 1952 and Go's gzip reader allow.
#include <isa-l/igzip_lib.h>

#include <memory>
#include <vector>

#include "image/decompress_internal.h"

namespace berth::image::detail {
namespace {

constexpr size_t kInputSize = 256 * 1024;

const char* isal_error(int code) {
  switch (code) {
    case ISAL_INVALID_BLOCK: return "invalid deflate block";
    case ISAL_INVALID_SYMBOL: return "invalid deflate symbol";
    case ISAL_INVALID_LOOKBACK: return "invalid deflate distance";
    case ISAL_INVALID_WRAPPER: return "invalid gzip header";
    case ISAL_UNSUPPORTED_METHOD: return "unsupported gzip compression method";
    case ISAL_INCORRECT_CHECKSUM: return "gzip trailer mismatch (CRC32 or size): corrupt data";
    case ISAL_NEED_DICT: return "deflate stream needs a dictionary";
    default: return "inflate failed";
  }
}

class GzipSource final : public ByteSource {
 public:
  explicit GzipSource(ByteSource& in) : in_(in), buf_(kInputSize) { start_member(); }

  Result<size_t> read(std::span<std::byte> out) override {
    if (out.empty()) return 0;
    for (;;) {
      if (done_) return 0;
      if (state_.avail_in == 0 && !in_eof_) BERTH_TRY(refill());
      state_.next_out = reinterpret_cast<uint8_t*>(out.data());
      state_.avail_out = static_cast<uint32_t>(std::min<size_t>(out.size(), UINT32_MAX));
      const uint32_t before = state_.avail_out;
      const uint32_t in_before = state_.avail_in;
      int ret = isal_inflate(&state_);
      if (ret != ISAL_DECOMP_OK) return error("gzip: {} (member {})", isal_error(ret), members_ + 1);
      const size_t produced = before - state_.avail_out;
      if (state_.block_state == ISAL_BLOCK_FINISH) BERTH_TRY(next_member());
      if (produced > 0) return produced;
      if (state_.avail_in == 0 && in_eof_ && !done_) {
        return error("gzip: truncated stream (member {} ends early)", members_ + 1);
      }
      if (produced == 0 && in_before == state_.avail_in && state_.avail_in > 0 && !done_ &&
          state_.block_state != ISAL_BLOCK_FINISH) {
        // No progress with input at hand cannot happen with a sound inflater;
        // guard against spinning on a hostile stream.
        return error("gzip: no progress decoding member {}", members_ + 1);
      }
    }
  }

 private:
  void start_member() {
    isal_inflate_init(&state_);
    state_.crc_flag = ISAL_GZIP;
  }

  Result<> refill() {
    BERTH_TRY_ASSIGN(n, in_.read(buf_));
    if (n == 0) {
      in_eof_ = true;
      if (members_ == 0 && total_in_ == 0) return error("gzip: empty stream");
    }
    total_in_ += n;
    state_.next_in = reinterpret_cast<uint8_t*>(buf_.data());
    state_.avail_in = static_cast<uint32_t>(n);
    return {};
  }

  // After a member's trailer: another member, or the end of the stream.
  Result<> next_member() {
    ++members_;
    if (state_.avail_in == 0 && !in_eof_) BERTH_TRY(refill());
    if (state_.avail_in == 0) {
      done_ = true;
      return {};
    }
    if (state_.next_in[0] != 0x1f) {
      return error("gzip: {} bytes of trailing data after member {}", state_.avail_in, members_);
    }
    uint8_t* next = state_.next_in;
    uint32_t avail = state_.avail_in;
    start_member();
    state_.next_in = next;
    state_.avail_in = avail;
    return {};
  }

  ByteSource& in_;
  std::vector<std::byte> buf_;
  inflate_state state_{};
  bool in_eof_ = false;
  bool done_ = false;
  uint64_t members_ = 0;
  uint64_t total_in_ = 0;
};

}  // namespace

std::unique_ptr<ByteSource> gzip_decompressor(ByteSource& in) { return std::make_unique<GzipSource>(in); }

}  // namespace berth::image::detail

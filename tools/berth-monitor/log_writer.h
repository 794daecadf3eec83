// The container's log: CRI lines (timestamp, stream, F|P tag, text), rotated
// by size (ctr.log -> ctr.log.1 -> ... -> ctr.log.N, the oldest dropped).
#pragma once

#include <cstddef>

namespace berth::monitor {

void open_log();
// One read's worth of output: a full entry per line, a partial one for an
// unterminated rest (the next read continues it, as conmon writes them).
void log_output(bool is_stderr, const char* data, size_t len);
void flush_log();

}  // namespace berth::monitor

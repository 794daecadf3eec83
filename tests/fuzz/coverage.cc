// Coverage feedback for libFuzzer from g++-instrumented code.
//
// libFuzzer wants clang's -fsanitize=fuzzer (pc-guard / 8-bit counters), but
// clang 14 cannot compile libstdc++ 12's <expected>, which every Berth header
// uses. g++ instruments with -fsanitize-coverage=trace-pc (one call per basic
// block) and trace-cmp (comparison operands, which libFuzzer's own handlers
// take). This file turns the trace-pc calls into AFL-style edge counters that
// it registers with libFuzzer as an inline 8-bit-counter region. The build
// weakens libFuzzer's own __sanitizer_cov_trace_pc (a stub that aborts) so
// this one wins. This file itself must not be instrumented.
#include <cstddef>
#include <cstdint>

extern "C" void __sanitizer_cov_8bit_counters_init(uint8_t* start, uint8_t* stop);

namespace {

constexpr size_t kCounters = size_t{1} << 16;
alignas(64) uint8_t counters[kCounters];
thread_local uintptr_t previous;

struct Register {
  Register() { __sanitizer_cov_8bit_counters_init(counters, counters + kCounters); }
} register_counters;

}  // namespace

extern "C" __attribute__((no_sanitize_address, no_sanitize_undefined)) void
__sanitizer_cov_trace_pc() {
  auto pc = reinterpret_cast<uintptr_t>(__builtin_return_address(0));
  uintptr_t block = (pc ^ (pc >> 16)) & (kCounters - 1);
  counters[block ^ previous]++;
  previous = block >> 1;
}

// g++ also traces floating-point comparisons, which libFuzzer has no use for.
extern "C" void __sanitizer_cov_trace_cmpf(float, float) {}
extern "C" void __sanitizer_cov_trace_cmpd(double, double) {}

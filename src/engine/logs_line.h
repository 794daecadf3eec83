// The CRI log line's prefix ("<RFC3339Nano UTC time> <stream> <F|P> "),
// shared by berth-monitor, which links nothing of the engine (its memory is
// a headline figure), and logs.cc. Pure and allocation-free.
#pragma once

#include <cstddef>
#include <cstdint>

namespace berth::engine {

// "2026-11-28T02:27:06.123456789Z": always 9 fraction digits, so entries sort as text.
inline constexpr size_t kLogTimeLen = 30;
inline constexpr size_t kLogPrefixMax = kLogTimeLen + sizeof(" stderr P ");

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
constexpr int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

struct CivilDate {
  int64_t year;
  unsigned month, day;
};
constexpr CivilDate civil_from_days(int64_t z) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return {static_cast<int64_t>(yoe) + era * 400 + (m <= 2), m, d};
}

// Writes kLogTimeLen bytes (no NUL) for `ns` (unix ns; negative clamps to the epoch).
inline void format_log_time(int64_t ns, char* out) {
  if (ns < 0) ns = 0;
  int64_t secs = ns / 1000000000;
  int64_t frac = ns % 1000000000;
  int64_t days = secs / 86400;
  int64_t rem = secs % 86400;
  CivilDate date = civil_from_days(days);
  auto put = [&out](int64_t v, int width) {
    for (int i = width - 1; i >= 0; --i) {
      out[i] = static_cast<char>('0' + v % 10);
      v /= 10;
    }
    out += width;
  };
  put(date.year, 4);
  *out++ = '-';
  put(date.month, 2);
  *out++ = '-';
  put(date.day, 2);
  *out++ = 'T';
  put(rem / 3600, 2);
  *out++ = ':';
  put(rem / 60 % 60, 2);
  *out++ = ':';
  put(rem % 60, 2);
  *out++ = '.';
  put(frac, 9);
  *out++ = 'Z';
}

// Writes "<time> <stdout|stderr> <F|P> " and returns its length (< kLogPrefixMax).
inline size_t format_log_prefix(int64_t ns, bool is_stderr, bool partial, char* out) {
  format_log_time(ns, out);
  char* p = out + kLogTimeLen;
  const char* stream = is_stderr ? " stderr " : " stdout ";
  for (const char* s = stream; *s; ++s) *p++ = *s;
  *p++ = partial ? 'P' : 'F';
  *p++ = ' ';
  return static_cast<size_t>(p - out);
}

}  // namespace berth::engine

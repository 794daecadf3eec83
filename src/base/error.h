// Errors are values: an Error keeps the errno of the failure, the message made
// at the failure site, and context added on the way up (crun's error chain).
#pragma once

#include <expected>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>

namespace berth {

class Error {
 public:
  Error() = default;
  Error(int err, std::string message) : errno_(err), message_(std::move(message)) {}

  // The errno of the original failure (0 when the failure is not a syscall's).
  int code() const { return errno_; }
  const std::string& message() const { return message_; }

  // Adds context, outermost last: `open config: parse "x": ...`.
  Error&& context(std::string what) && {
    context_.push_back(std::move(what));
    return std::move(*this);
  }
  Error& context(std::string what) & {
    context_.push_back(std::move(what));
    return *this;
  }

  // "outer: inner: message: strerror(errno)".
  std::string what() const;

 private:
  int errno_ = 0;
  std::string message_;
  std::vector<std::string> context_;
};

template <typename T = void>
using Result = std::expected<T, Error>;

// An error from a failed syscall: keeps errno and names what failed.
template <typename... Args>
std::unexpected<Error> sys_error(int err, fmt::format_string<Args...> f, Args&&... args) {
  return std::unexpected(Error(err, fmt::format(f, std::forward<Args>(args)...)));
}

// An error that is not a syscall's (bad input, broken protocol).
template <typename... Args>
std::unexpected<Error> error(fmt::format_string<Args...> f, Args&&... args) {
  return std::unexpected(Error(0, fmt::format(f, std::forward<Args>(args)...)));
}

// Adds context to the error of a Result, passing values through.
template <typename T>
Result<T> with_context(Result<T> r, std::string_view what) {
  if (!r) r.error().context(std::string(what));
  return r;
}

}  // namespace berth

// Propagates the error of a Result-valued expression, like Rust's `?`.
#define BERTH_TRY(expr)                                              \
  do {                                                               \
    auto berth_try_r_ = (expr);                                      \
    if (!berth_try_r_) return std::unexpected(std::move(berth_try_r_).error()); \
  } while (0)

// Declares `var` from a Result-valued expression or propagates its error.
#define BERTH_TRY_ASSIGN(var, expr)                                  \
  auto var##_result_ = (expr);                                       \
  if (!var##_result_) return std::unexpected(std::move(var##_result_).error()); \
  auto var = std::move(*var##_result_)

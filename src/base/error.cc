#include "base/error.h"

#include <cstring>

namespace berth {

std::string Error::what() const {
  std::string out;
  for (auto it = context_.rbegin(); it != context_.rend(); ++it) {
    out += *it;
    out += ": ";
  }
  out += message_;
  if (errno_ != 0) {
    out += ": ";
    out += std::strerror(errno_);
  }
  return out;
}

}  // namespace berth

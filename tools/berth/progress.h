// Pull progress for people: per-layer bars (bytes, speed, ETA) redrawn in
// place on a terminal, one plain line per step otherwise.
#pragma once

#include <chrono>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "image/pull.h"

namespace berth::tool {

class PullProgressView {
 public:
  PullProgressView(std::FILE* out, bool quiet);
  void operator()(const image::PullEvent& e);
  // Final redraw of the bars.
  void finish();

 private:
  struct Layer {
    std::string id;  // short digest
    std::string state;
    int64_t done = 0, total = 0;
    std::chrono::steady_clock::time_point start;
  };
  Layer& layer(const oci::Digest& d);
  void redraw(bool force);
  std::string line(const Layer& l) const;

  std::FILE* out_;
  bool quiet_;
  bool tty_;
  std::map<std::string, size_t> index_;
  std::vector<Layer> layers_;
  size_t drawn_ = 0;
  bool finished_ = false;
  std::chrono::steady_clock::time_point last_draw_{};
};

}  // namespace berth::tool

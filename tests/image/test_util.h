// Helpers of the image tests: shell commands with their output, tarballs of
// small trees, the busybox fixtures.
#pragma once

#include <sys/wait.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

namespace berth::image::testing {

inline const char* kFixtures = "/var/tmp/berth-fixtures";

struct Cmd {
  int status = -1;
  std::string out;  // stdout and stderr
};

// Runs `command` with /bin/sh; its stdout and stderr together.
inline Cmd sh(const std::string& command) {
  Cmd c;
  FILE* p = ::popen((command + " 2>&1").c_str(), "r");
  if (!p) return c;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) c.out.append(buf, n);
  int st = ::pclose(p);
  c.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  return c;
}

inline std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

inline void spit(const std::string& path, const std::string& data) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << data;
}

inline bool has_tool(const char* name) { return sh(std::string("command -v ") + name).status == 0; }

}  // namespace berth::image::testing

// The runtime-spec state document (`runc state` prints it; hooks get it on stdin).
#pragma once

#include <map>
#include <string>

namespace berth::oci {

enum class Status { creating, created, running, stopped, paused };

const char* status_name(Status s);

struct State {
  std::string oci_version = "1.2.0";
  std::string id;
  Status status = Status::creating;
  int pid = 0;  // 0 when there is no process
  std::string bundle;
  std::map<std::string, std::string> annotations;
};

}  // namespace berth::oci

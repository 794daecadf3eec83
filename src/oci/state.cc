#include "oci/state.h"

namespace berth::oci {

const char* status_name(Status s) {
  switch (s) {
    case Status::creating: return "creating";
    case Status::created: return "created";
    case Status::running: return "running";
    case Status::stopped: return "stopped";
    case Status::paused: return "paused";
  }
  return "unknown";
}

}  // namespace berth::oci

#include <cerrno>

#include <nlohmann/json.hpp>

#include "engine/command_failure.h"
#include "engine/handler.h"
#include "oci/config.h"

namespace berth::engine {

int command_failure_status(const Error& err) {
  // The errno alone is not enough: a missing mount source is ENOENT too.
  if (err.what().find("exec: \"") == std::string::npos) return 0;
  if (err.code() == ENOENT) return 127;
  if (err.code() == EACCES || err.code() == ENOEXEC) return 126;
  return 0;
}

std::string process_to_json(const oci::Process& process) {
  // The spec serializer is the one place that knows the process's JSON
  // names: serialize a spec holding only it and take the object out.
  oci::Spec spec;
  spec.process = process;
  auto doc = nlohmann::json::parse(oci::config_to_json(spec, false));
  return doc["process"].dump();
}

}  // namespace berth::engine

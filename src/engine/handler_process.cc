#include <cctype>
#include <cerrno>

#include <nlohmann/json.hpp>

#include "engine/command_failure.h"
#include "engine/handler.h"
#include "oci/config.h"

namespace berth::engine {

int command_failure_status(const Error& err) {
  // Only execve fails with ENOEXEC (the runtime's `exec "PATH"` or the oci
  // handler's look before runc, exec_format.h).
  if (err.code() == ENOEXEC) return 126;
  // The errno alone is not enough: a missing mount source is ENOENT too.
  if (err.what().find("exec: \"") == std::string::npos) return 0;
  if (err.code() == ENOENT) return 127;
  if (err.code() == EACCES) return 126;
  return 0;
}

Error with_exec_format_errno(Error err) {
  if (err.code() != 0) return err;
  std::string what = err.what();
  std::string lower = what;
  for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lower.find("exec format error") == std::string::npos) return err;
  // The errno's text comes back at the end: once.
  while (lower.ends_with(": exec format error")) {
    what.resize(what.size() - 19);
    lower.resize(lower.size() - 19);
  }
  return Error(ENOEXEC, what);
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

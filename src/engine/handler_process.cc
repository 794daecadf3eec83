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

namespace {

std::string lowered(std::string_view s) {
  std::string m(s);
  for (auto& c : m) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return m;
}

}  // namespace

Error runtime_command_error(std::string message, std::string_view command) {
  std::string m = lowered(message);
  // runc's, or berth-runtime's for the execve itself (`exec "PATH": ...`).
  bool runc_words = m.find("exec: \"") != std::string::npos || m.find("exec \"") != std::string::npos;
  bool crun_words = m.find("executable file `") != std::string::npos || m.find("open executable") != std::string::npos;
  if (!runc_words && !crun_words) return Error(0, std::move(message));
  int code = 0;
  if (m.find("no such file or directory") != std::string::npos || m.find("not found in $path") != std::string::npos)
    code = ENOENT;
  else if (m.find("permission denied") != std::string::npos || m.find("is a directory") != std::string::npos ||
           (crun_words && m.find("operation not permitted") != std::string::npos))
    code = EACCES;
  else if (m.find("exec format error") != std::string::npos)
    code = ENOEXEC;
  if (code == 0) return Error(0, std::move(message));
  if (!runc_words) message = fmt::format("exec: \"{}\": {}", command, message);
  return Error(code, std::move(message));
}

Error with_exec_format_errno(Error err) {
  if (err.code() != 0) return err;
  std::string what = err.what();
  std::string lower = lowered(what);
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

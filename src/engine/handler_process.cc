#include <nlohmann/json.hpp>

#include "engine/handler.h"
#include "oci/config.h"

namespace berth::engine {

std::string process_to_json(const oci::Process& process) {
  // The spec serializer is the one place that knows the process's JSON
  // names: serialize a spec holding only it and take the object out.
  oci::Spec spec;
  spec.process = process;
  auto doc = nlohmann::json::parse(oci::config_to_json(spec, false));
  return doc["process"].dump();
}

}  // namespace berth::engine

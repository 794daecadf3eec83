// libFuzzer target: config.json from arbitrary bytes. Beyond "no crash, no
// sanitizer report, no exception", it checks the parser's promises: an
// accepted document validates, and serializing it and parsing that back gives
// the same spec (the same JSON text).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "oci/config.h"

namespace {

[[noreturn]] void fail(const char* what, const std::string& detail) {
  std::fprintf(stderr, "fuzz_config: %s\n%s\n", what, detail.c_str());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace berth::oci;
  auto spec = parse_config(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!spec) {
    if (spec.error().what().empty()) fail("empty error message", "");
    return 0;
  }
  if (auto v = validate(*spec); !v) fail("accepted but invalid", v.error().what());
  std::string once = config_to_json(*spec, false);
  auto again = parse_config(once);
  if (!again) fail("serialized spec does not parse", again.error().what() + "\n" + once);
  std::string twice = config_to_json(*again, false);
  if (once != twice) fail("round trip changed the spec", once + "\n" + twice);
  (void)config_warnings(*spec);
  return 0;
}

// libFuzzer target: image references from arbitrary bytes. Beyond "no crash":
// an accepted reference prints in a normalised form that parses back to the
// same reference, and short-name resolution agrees with the parser.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "image/reference.h"

namespace {

[[noreturn]] void fail(const char* what, const std::string& detail) {
  std::fprintf(stderr, "fuzz_reference: %s\n%s\n", what, detail.c_str());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace berth::image;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto ref = parse_reference(text);
  if (!ref) {
    if (ref.error().what().empty()) fail("empty error message", "");
    return 0;
  }
  if (ref->registry.empty() || ref->repository.empty()) fail("empty registry or repository", ref->str());
  if (ref->tag.empty() && !ref->digest) fail("neither tag nor digest", ref->str());
  auto again = parse_reference(ref->str());
  if (!again) fail("normalised form does not parse", ref->str() + "\n" + again.error().what());
  if (!(*again == *ref)) fail("round trip changed the reference", ref->str() + "\n" + again->str());
  auto resolved = resolve_reference(text, {"localhost:5000", "docker.io"});
  if (!resolved || resolved->empty()) fail("resolve failed where parse succeeded", std::string(text));
  if (!is_short_name(text) && !(resolved->front() == *ref)) fail("qualified reference resolved elsewhere", ref->str());
  return 0;
}

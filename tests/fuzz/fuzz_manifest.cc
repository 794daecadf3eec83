// libFuzzer target: image manifests, indexes and configs from arbitrary
// bytes (what a registry sends). Beyond "no crash, no exception": an accepted
// document serialises to JSON that parses back to the same serialisation,
// and platform selection on an accepted index never crashes.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "oci/image.h"

namespace {

[[noreturn]] void fail(const char* what, const std::string& detail) {
  std::fprintf(stderr, "fuzz_manifest: %s\n%s\n", what, detail.c_str());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace berth::oci;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)sniff_manifest_media_type(text);
  if (auto m = parse_manifest(text)) {
    std::string once = manifest_to_json(*m);
    auto again = parse_manifest(once);
    if (!again) fail("serialised manifest does not parse", once + "\n" + again.error().what());
    if (manifest_to_json(*again) != once) fail("manifest round trip changed it", once);
    for (const auto& l : m->layers) (void)layer_type(l.media_type);
  } else if (m.error().what().empty()) {
    fail("empty manifest error", "");
  }
  if (auto x = parse_index(text)) {
    std::string once = index_to_json(*x);
    auto again = parse_index(once);
    if (!again) fail("serialised index does not parse", once + "\n" + again.error().what());
    if (index_to_json(*again) != once) fail("index round trip changed it", once);
    for (const char* p : {"linux/amd64", "linux/arm/v7", "linux/arm64"}) (void)select_manifest(*x, *parse_platform(p));
  }
  if (auto c = parse_image_config(text)) {
    std::string once = image_config_to_json(*c);
    auto again = parse_image_config(once);
    if (!again) fail("serialised config does not parse", once + "\n" + again.error().what());
    if (image_config_to_json(*again) != once) fail("config round trip changed it", once);
    if (chain_ids(c->diff_ids).size() != c->diff_ids.size()) fail("chain IDs count", once);
  }
  return 0;
}

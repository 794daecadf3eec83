// Image references as the ecosystem spells them (distribution/reference):
//   busybox                      -> docker.io/library/busybox:latest
//   localhost:5000/a/b:1.0       -> registry localhost:5000, repository a/b, tag 1.0
//   repo@sha256:<hex>            -> pinned by digest (tag kept when both given)
// Short names (no registry part) are resolved through the configured
// unqualified-search-registries (podman's registries.conf), else docker.io.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "oci/digest.h"

namespace berth::image {

inline constexpr std::string_view kDockerHub = "docker.io";

struct Reference {
  std::string registry;    // "docker.io", "localhost:5000", "[::1]:5000"
  std::string repository;  // "library/busybox"
  std::string tag;         // empty only when pinned by digest without a tag
  std::optional<oci::Digest> digest;

  // registry/repository
  std::string name() const;
  // The full normalised form: registry/repository[:tag][@digest].
  std::string str() const;
  // name():tag, or name()@digest when there is no tag (what `images` lists).
  std::string tag_or_digest() const;
  // What the Distribution API asks for: the digest when pinned, else the tag.
  std::string manifest_reference() const;
  bool operator==(const Reference&) const = default;
};

// A fully qualified reference or a short name resolved to docker.io (Docker's
// rule). A missing tag and digest becomes "latest". Errors name the reference.
Result<Reference> parse_reference(std::string_view text);

// True when `text` names no registry ("busybox", "library/busybox",
// "user/app:1"): the first path component has no '.' or ':' and is not
// "localhost".
bool is_short_name(std::string_view text);

// The candidates a short name stands for, in order: one per search registry
// (docker.io adds "library/" to one-component names), or docker.io alone when
// the list is empty. A qualified reference yields itself.
Result<std::vector<Reference>> resolve_reference(std::string_view text,
                                                 const std::vector<std::string>& search_registries);

}  // namespace berth::image

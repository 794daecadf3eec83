// Content digests as the image-spec spells them: "algorithm:encoded". Pure:
// hashing large blobs is the content store's job (OpenSSL); this file has a
// small portable SHA-256 for the short strings the spec hashes itself (chain
// IDs, manifests in tests and fuzzers).
#pragma once

#include <compare>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "base/error.h"

namespace berth::oci {

struct Digest {
  std::string algorithm;  // "sha256" or "sha512"
  std::string hex;        // lowercase, 64 or 128 characters

  std::string str() const { return algorithm + ":" + hex; }
  bool empty() const { return hex.empty(); }
  auto operator<=>(const Digest&) const = default;
  bool operator==(const Digest&) const = default;
};

// "sha256:<64 lowercase hex>" (or sha512:<128>); errors name the value.
Result<Digest> parse_digest(std::string_view text);
// True for the algorithms Berth can verify.
bool digest_algorithm_supported(std::string_view algorithm);

// SHA-256 of `data` (pure C++; fine for kilobytes, not for layers).
std::string sha256_hex(std::string_view data);
Digest sha256_digest(std::string_view data);

}  // namespace berth::oci

template <>
struct fmt::formatter<berth::oci::Digest> : fmt::formatter<std::string_view> {
  auto format(const berth::oci::Digest& d, fmt::format_context& ctx) const {
    return fmt::formatter<std::string_view>::format(d.str(), ctx);
  }
};

template <>
struct std::hash<berth::oci::Digest> {
  size_t operator()(const berth::oci::Digest& d) const noexcept {
    return std::hash<std::string>()(d.hex);
  }
};

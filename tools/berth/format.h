// Output helpers shared by the verbs: tables as podman prints them, human
// sizes and ages.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace berth::tool {

// Columns padded to the widest cell (podman's tabwriter look).
void print_table(const std::vector<std::vector<std::string>>& rows);
// "4.26 MB" (SI units, as podman shows sizes).
std::string human_size(int64_t bytes);
// "3 days ago" (go-units HumanDuration, as podman and docker say it).
std::string human_age(int64_t unix_seconds, int64_t now);
// The 12-hex short form of "sha256:<hex>".
std::string short_id(const std::string& digest);
// "<hex>" without the "sha256:".
std::string hex_of(const std::string& digest);

}  // namespace berth::tool

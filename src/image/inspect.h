// `berth image inspect`: an image as a JSON object with the fields podman's
// inspect has (Id, Digest, RepoTags, RepoDigests, Created, Config, RootFS,
// History, Size, ...), read from the stored manifest and config.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/error.h"
#include "image/store.h"

namespace berth::image {

Result<nlohmann::ordered_json> inspect_image(Store& store, const ImageSummary& image);
// repository@manifest-digest for every repository the image is named in.
std::vector<std::string> repo_digests(const ImageRecord& image);

}  // namespace berth::image

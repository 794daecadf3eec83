#include "image/inspect.h"

#include <algorithm>
#include <set>

#include "image/reference.h"
#include "oci/digest.h"
#include "oci/image.h"

namespace berth::image {

std::vector<std::string> repo_digests(const ImageRecord& image) {
  std::set<std::string> repos;
  for (const auto& n : image.names)
    if (auto ref = parse_reference(n)) repos.insert(ref->name());
  std::vector<std::string> out;
  for (const auto& r : repos) out.push_back(r + "@" + image.manifest_digest);
  return out;
}

Result<nlohmann::ordered_json> inspect_image(Store& store, const ImageSummary& summary) {
  const auto& img = summary.record;
  BERTH_TRY_ASSIGN(config_digest, oci::parse_digest(img.id));
  BERTH_TRY_ASSIGN(text, store.content().read_blob(config_digest, oci::kMaxManifestSize));
  // The config as stored, so fields Berth does not model (Healthcheck,
  // OnBuild, ...) still show.
  auto config = nlohmann::json::parse(text, nullptr, false);
  if (config.is_discarded() || !config.is_object()) return error("config {}: not a JSON object", img.id);
  auto field = [&](const char* key) { return config.contains(key) ? config[key] : nlohmann::json(""); };

  nlohmann::json tags = nlohmann::json::array();
  for (const auto& n : img.names)
    if (n.find('@') == std::string::npos) tags.push_back(n);
  nlohmann::json diff_ids = nlohmann::json::array();
  for (const auto& l : img.layers) diff_ids.push_back(l.diff_id);
  nlohmann::json cfg = config.contains("config") && config["config"].is_object() ? config["config"]
                                                                                 : nlohmann::json::object();
  nlohmann::json labels = cfg.contains("Labels") ? cfg["Labels"] : nlohmann::json(nullptr);

  return nlohmann::ordered_json{
      {"Id", config_digest.hex},
      {"Digest", img.manifest_digest},
      {"RepoTags", tags},
      {"RepoDigests", repo_digests(img)},
      {"Names", img.names},
      {"Created", img.created},
      {"Config", cfg},
      {"Version", config.value("docker_version", "")},
      {"Author", field("author")},
      {"Architecture", field("architecture")},
      {"Os", field("os")},
      {"Variant", config.value("variant", "")},
      {"Size", summary.unpacked_size},
      {"VirtualSize", summary.unpacked_size},
      {"Labels", labels},
      {"ManifestType", img.manifest_media_type},
      {"IndexDigest", img.index_digest},
      {"RootFS", {{"Type", "layers"}, {"Layers", diff_ids}}},
      {"History", config.contains("history") ? config["history"] : nlohmann::json::array()},
      {"Containers", std::count(summary.users.begin(), summary.users.end(), "container")},
  };
}

}  // namespace berth::image

// `berth save`: images into an oci-archive or a docker-archive.
#include <fcntl.h>
#include <unistd.h>

#include <map>
#include <set>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/file.h"
#include "image/archive.h"
#include "image/archive_internal.h"
#include "image/byte_source.h"
#include "image/content_store.h"
#include "image/decompress.h"
#include "image/reference.h"
#include "image/store.h"

namespace berth::image {

namespace {

struct SaveItem {
  ImageRecord image;
  std::vector<std::string> names;  // the names it is saved under
};

Result<std::vector<SaveItem>> resolve_all(Store& store, const std::vector<std::string>& refs) {
  if (refs.empty()) return error("save: no image given");
  std::vector<SaveItem> items;
  for (const auto& ref : refs) {
    BERTH_TRY_ASSIGN(match, store.resolve(ref));
    auto it = std::find_if(items.begin(), items.end(), [&](const SaveItem& s) { return s.image.id == match.image.id; });
    if (it == items.end()) {
      items.push_back({match.image, {}});
      it = std::prev(items.end());
    }
    auto& names = it->names;
    for (const auto& n : match.name.empty() ? match.image.names : std::vector<std::string>{match.name})
      if (std::find(names.begin(), names.end(), n) == names.end()) names.push_back(n);
  }
  return items;
}

Result<oci::Digest> digest_of(std::string_view s) { return oci::parse_digest(s); }

Result<> add_blob(Store& store, TarWriter& tar, const oci::Digest& d, std::set<std::string>& written) {
  if (!written.insert(d.str()).second) return {};
  BERTH_TRY_ASSIGN(fd, store.content().open_blob(d));
  BERTH_TRY_ASSIGN(size, store.content().size(d));
  return tar.add_file(fmt::format("blobs/{}/{}", d.algorithm, d.hex), fd, size);
}

Result<> save_oci(Store& store, const std::vector<SaveItem>& items, TarWriter& tar) {
  oci::Index index;
  index.media_type = std::string(oci::media::oci_index);
  std::set<std::string> written;
  BERTH_TRY(tar.add_data("oci-layout", R"({"imageLayoutVersion":"1.0.0"})"));
  BERTH_TRY(tar.add_dir("blobs/"));
  BERTH_TRY(tar.add_dir("blobs/sha256/"));
  for (const auto& item : items) {
    const auto& img = item.image;
    BERTH_TRY_ASSIGN(manifest, digest_of(img.manifest_digest));
    BERTH_TRY_ASSIGN(config, digest_of(img.id));
    BERTH_TRY_ASSIGN(manifest_size, store.content().size(manifest));
    BERTH_TRY(add_blob(store, tar, manifest, written));
    BERTH_TRY(add_blob(store, tar, config, written));
    for (const auto& l : img.layers) {
      BERTH_TRY_ASSIGN(d, digest_of(l.digest));
      BERTH_TRY(add_blob(store, tar, d, written));
    }
    oci::Descriptor desc;
    desc.media_type = img.manifest_media_type;
    desc.digest = manifest;
    desc.size = manifest_size;
    if (item.names.empty()) {
      index.manifests.push_back(desc);
      continue;
    }
    for (const auto& name : item.names) {
      // containerd reads io.containerd.image.name; skopeo and podman the OCI
      // ref.name. Both carry the full name, as podman's oci-archive does.
      desc.annotations = {{"io.containerd.image.name", name}, {"org.opencontainers.image.ref.name", name}};
      index.manifests.push_back(desc);
    }
  }
  return tar.add_data("index.json", oci::index_to_json(index));
}

// The uncompressed tar of a layer blob in a scratch file, checked against
// its diff ID.
Result<std::pair<UniqueFd, int64_t>> uncompressed_layer(Store& store, const ImageLayer& layer,
                                                         const std::string& scratch) {
  BERTH_TRY_ASSIGN(d, digest_of(layer.digest));
  BERTH_TRY_ASSIGN(compression, compression_for(layer.media_type));
  BERTH_TRY_ASSIGN(in, store.content().open_blob(d));
  FdSource src(in, store.content().path(d));
  auto plain = decompressor(src, compression);
  std::string path = fmt::format("{}/{}.tar", scratch, d.hex);
  BERTH_TRY_ASSIGN(out, open_file(path, O_RDWR | O_CREAT | O_TRUNC, 0600));
  BERTH_TRY_ASSIGN(hasher, Hasher::create("sha256"));
  std::vector<std::byte> buf(1 << 20);
  int64_t total = 0;
  for (;;) {
    BERTH_TRY_ASSIGN(n, with_context(plain->read(buf), fmt::format("decompress layer {}", layer.digest)));
    if (n == 0) break;
    std::span<const std::byte> chunk(buf.data(), n);
    hasher.update(chunk);
    BERTH_TRY(write_all(out.get(), std::string_view(reinterpret_cast<const char*>(chunk.data()), n), path));
    total += static_cast<int64_t>(n);
  }
  if (hasher.digest().str() != layer.diff_id)
    return error("layer {}: uncompressed digest {} does not match diff ID {}", layer.digest, hasher.digest().str(),
                 layer.diff_id);
  if (::lseek(out.get(), 0, SEEK_SET) < 0) return sys_error(errno, "seek \"{}\"", path);
  ::unlink(path.c_str());
  return std::pair{std::move(out), total};
}

// docker save's legacy layout: <id>/layer.tar + VERSION + json per layer,
// <config hex>.json, manifest.json and repositories.
Result<> save_docker(Store& store, const std::vector<SaveItem>& items, TarWriter& tar, const std::string& scratch) {
  nlohmann::json manifest = nlohmann::json::array();
  nlohmann::json repositories = nlohmann::json::object();
  std::set<std::string> written;
  for (const auto& item : items) {
    const auto& img = item.image;
    BERTH_TRY_ASSIGN(config, digest_of(img.id));
    std::string config_name = config.hex + ".json";
    if (written.insert(config_name).second) {
      BERTH_TRY_ASSIGN(fd, store.content().open_blob(config));
      BERTH_TRY_ASSIGN(size, store.content().size(config));
      BERTH_TRY(tar.add_file(config_name, fd, size));
    }
    nlohmann::json layers = nlohmann::json::array();
    std::string parent;
    for (const auto& l : img.layers) {
      BERTH_TRY_ASSIGN(chain, digest_of(l.chain_id));
      std::string id = chain.hex;
      if (written.insert(id).second) {
        BERTH_TRY_ASSIGN(plain, uncompressed_layer(store, l, scratch));
        BERTH_TRY(tar.add_dir(id + "/"));
        BERTH_TRY(tar.add_data(id + "/VERSION", "1.0"));
        nlohmann::json legacy = {{"id", id}, {"created", "1970-01-01T00:00:00Z"}};
        if (!parent.empty()) legacy["parent"] = parent;
        BERTH_TRY(tar.add_data(id + "/json", legacy.dump()));
        BERTH_TRY(tar.add_file(id + "/layer.tar", plain.first, plain.second));
      }
      layers.push_back(id + "/layer.tar");
      parent = id;
    }
    nlohmann::json tags = nlohmann::json::array();
    for (const auto& name : item.names) {
      auto ref = parse_reference(name);
      if (!ref || ref->tag.empty()) continue;  // docker-archive names carry tags only
      tags.push_back(ref->name() + ":" + ref->tag);
      if (!parent.empty()) repositories[ref->name()][ref->tag] = parent;
    }
    manifest.push_back({{"Config", config_name}, {"RepoTags", tags}, {"Layers", layers}});
  }
  BERTH_TRY(tar.add_data("manifest.json", manifest.dump()));
  return tar.add_data("repositories", repositories.dump());
}

}  // namespace

Result<> save_images(Store& store, const std::vector<std::string>& refs, ArchiveFormat format,
                     const std::string& output) {
  // A write lease (it excludes gc) naming every blob read, taken before the
  // images are looked up: an rmi + prune during the save removes none of them.
  BERTH_TRY_ASSIGN(lease, store.lease("save", 24 * 3600, Store::LeaseUse::write));
  BERTH_TRY_ASSIGN(items, resolve_all(store, refs));
  for (const auto& item : items) {
    BERTH_TRY(lease.add(LeaseResource::content, item.image.id));
    BERTH_TRY(lease.add(LeaseResource::content, item.image.manifest_digest));
    if (!item.image.index_digest.empty()) BERTH_TRY(lease.add(LeaseResource::content, item.image.index_digest));
    for (const auto& l : item.image.layers)
      if (!l.digest.empty()) BERTH_TRY(lease.add(LeaseResource::content, l.digest));
  }
  BERTH_TRY_ASSIGN(scratch, ScratchDir::create(store, "save"));
  BERTH_TRY_ASSIGN(tar, TarWriter::create(output));
  if (format == ArchiveFormat::oci_archive)
    BERTH_TRY(save_oci(store, items, tar));
  else
    BERTH_TRY(save_docker(store, items, tar, scratch.path()));
  return tar.close();
}

}  // namespace berth::image

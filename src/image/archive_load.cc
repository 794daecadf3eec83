// `berth load`: an oci-archive or docker-archive (maybe compressed) into the
// store. The tar is read once into a scratch directory (hashing every file on
// the way), then the image(s) it describes are put into the content store,
// unpacked and recorded.
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <unistd.h>

#include <map>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/file.h"
#include "image/archive.h"
#include "image/archive_internal.h"
#include "image/content_store.h"
#include "image/decompress.h"
#include "image/pull.h"
#include "image/reference.h"
#include "image/store.h"

namespace berth::image {

namespace {

struct ArchiveFile {
  std::string scratch;  // where its bytes are
  oci::Digest digest;   // sha256 of them
  int64_t size = 0;
};

// The files of an archive by their normalised path, with its links.
struct ArchiveFiles {
  std::map<std::string, ArchiveFile> files;
  std::map<std::string, std::string> links;  // path -> normalised target path

  const ArchiveFile* find(std::string path) const {
    for (int hops = 0; hops < 16; ++hops) {
      if (auto f = files.find(path); f != files.end()) return &f->second;
      auto l = links.find(path);
      if (l == links.end()) return nullptr;
      path = l->second;
    }
    return nullptr;
  }
};

// "./a//b/../c" -> "a/c"; nullopt when it climbs out of the archive.
std::optional<std::string> normalize_path(std::string_view p) {
  std::vector<std::string> parts;
  size_t i = 0;
  while (i <= p.size()) {
    size_t j = p.find('/', i);
    if (j == std::string_view::npos) j = p.size();
    std::string_view part = p.substr(i, j - i);
    if (part == "..") {
      if (parts.empty()) return std::nullopt;
      parts.pop_back();
    } else if (!part.empty() && part != ".") {
      parts.emplace_back(part);
    }
    i = j + 1;
  }
  std::string out;
  for (const auto& part : parts) out += (out.empty() ? "" : "/") + part;
  return out;
}

std::string dirname_of(const std::string& p) {
  auto slash = p.rfind('/');
  return slash == std::string::npos ? std::string() : p.substr(0, slash);
}

Result<ArchiveFiles> read_archive(const std::string& input, const std::string& scratch) {
  UniqueFd fd;
  if (input == "-") {
    fd = UniqueFd(::dup(STDIN_FILENO));
    if (!fd) return sys_error(errno, "dup stdin");
  } else {
    BERTH_TRY_ASSIGN(f, open_file(input, O_RDONLY));
    fd = std::move(f);
  }
  std::unique_ptr<struct archive, int (*)(struct archive*)> a(archive_read_new(), archive_read_free);
  archive_read_support_filter_all(a.get());
  archive_read_support_format_tar(a.get());
  archive_read_support_format_gnutar(a.get());
  if (archive_read_open_fd(a.get(), fd.get(), 1 << 20) != ARCHIVE_OK)
    return error("read archive \"{}\": {}", input, archive_error_string(a.get()));
  ArchiveFiles out;
  std::vector<std::byte> buf(1 << 20);
  for (int n = 0;; ++n) {
    struct archive_entry* e = nullptr;
    int rc = archive_read_next_header(a.get(), &e);
    if (rc == ARCHIVE_EOF) break;
    if (rc < ARCHIVE_WARN) return error("read archive \"{}\": {}", input, archive_error_string(a.get()));
    const char* raw = archive_entry_pathname(e);
    auto path = normalize_path(raw ? raw : "");
    if (!path) return error("read archive \"{}\": entry \"{}\" points outside the archive", input, raw);
    if (const char* hard = archive_entry_hardlink(e)) {
      auto target = normalize_path(hard);
      if (!target) return error("read archive \"{}\": link \"{}\" points outside the archive", input, raw);
      out.links[*path] = *target;
      continue;
    }
    auto type = archive_entry_filetype(e);
    if (type == AE_IFLNK) {
      const char* t = archive_entry_symlink(e);
      std::string target = t ? t : "";
      auto resolved = normalize_path(target.starts_with("/") ? target : dirname_of(*path) + "/" + target);
      if (!resolved) return error("read archive \"{}\": link \"{}\" points outside the archive", input, raw);
      out.links[*path] = *resolved;
      continue;
    }
    if (type != AE_IFREG) continue;
    ArchiveFile f;
    f.scratch = fmt::format("{}/{}", scratch, n);
    BERTH_TRY_ASSIGN(file, open_file(f.scratch, O_WRONLY | O_CREAT | O_EXCL, 0600));
    BERTH_TRY_ASSIGN(hasher, Hasher::create("sha256"));
    for (;;) {
      la_ssize_t got = archive_read_data(a.get(), buf.data(), buf.size());
      if (got < 0) return error("read archive \"{}\" entry \"{}\": {}", input, *path, archive_error_string(a.get()));
      if (got == 0) break;
      std::span<const std::byte> chunk(buf.data(), static_cast<size_t>(got));
      hasher.update(chunk);
      BERTH_TRY(write_all(file.get(), std::string_view(reinterpret_cast<const char*>(chunk.data()), chunk.size()),
                          f.scratch));
      f.size += got;
    }
    f.digest = hasher.digest();
    out.files[*path] = std::move(f);
  }
  return out;
}

// The name of an OCI index entry, as podman reads it: a short name (even a
// bare tag, which skopeo's oci-archive:file:latest writes) goes under
// localhost/.
std::optional<std::string> oci_name(std::string_view text) {
  if (text.empty()) return std::nullopt;
  auto name = Store::normalize_name(text);
  if (!name) return std::nullopt;
  return *name;
}

// A RepoTags entry of a docker archive: docker's rules (docker.io for short names).
std::optional<std::string> docker_name(std::string_view text) {
  auto ref = parse_reference(text);
  if (!ref) return std::nullopt;
  return ref->str();
}

class Loader {
 public:
  Loader(Store& store, LeaseHandle& lease, const ArchiveFiles& files)
      : store_(store), lease_(lease), files_(files) {}

  // Puts the archive file `path` into the content store as `digest`.
  Result<> put(const std::string& path, const oci::Digest& digest) {
    const ArchiveFile* f = files_.find(path);
    if (!f) return error("archive has no \"{}\" (blob {})", path, digest.str());
    BERTH_TRY(lease_.add(LeaseResource::content, digest.str()));
    return put_blob_file(store_, f->scratch, digest, f->size);
  }

  Result<std::string> read(const ArchiveFile& f) {
    BERTH_TRY_ASSIGN(text, read_file(f.scratch));
    return text;
  }

  Result<std::vector<LoadedImage>> oci() {
    const ArchiveFile* idx = files_.find("index.json");
    if (!idx) return error("oci archive has no index.json");
    BERTH_TRY_ASSIGN(text, read(*idx));
    BERTH_TRY_ASSIGN(index, with_context(oci::parse_index(text), "index.json"));
    std::vector<LoadedImage> out;
    for (const auto& desc : index.manifests) {
      std::vector<std::string> names;
      for (auto key : {"io.containerd.image.name", "org.opencontainers.image.ref.name"}) {
        auto it = desc.annotations.find(key);
        if (it == desc.annotations.end()) continue;
        if (auto n = oci_name(it->second)) {
          names.push_back(*n);
          break;
        }
      }
      BERTH_TRY_ASSIGN(img, oci_manifest(desc, names));
      out.push_back(std::move(img));
    }
    if (out.empty()) return error("oci archive index.json lists no manifests");
    return out;
  }

  Result<LoadedImage> oci_manifest(const oci::Descriptor& desc, const std::vector<std::string>& names) {
    std::string blob = fmt::format("blobs/{}/{}", desc.digest.algorithm, desc.digest.hex);
    BERTH_TRY(put(blob, desc.digest));
    std::string media_type = desc.media_type;
    oci::Digest manifest = desc.digest;
    std::string index_digest;
    if (oci::is_index_media_type(media_type)) {
      // A multi-platform image: this machine's manifest, as podman loads it.
      BERTH_TRY_ASSIGN(text, store_.content().read_blob(desc.digest, oci::kMaxManifestSize));
      BERTH_TRY_ASSIGN(index, with_context(oci::parse_index(text), fmt::format("index {}", desc.digest.str())));
      BERTH_TRY_ASSIGN(chosen, oci::select_manifest(index, host_platform()));
      index_digest = desc.digest.str();
      manifest = chosen.digest;
      media_type = chosen.media_type;
      BERTH_TRY(put(fmt::format("blobs/{}/{}", manifest.algorithm, manifest.hex), manifest));
    }
    BERTH_TRY_ASSIGN(text, store_.content().read_blob(manifest, oci::kMaxManifestSize));
    BERTH_TRY_ASSIGN(m, with_context(oci::parse_manifest(text), fmt::format("manifest {}", manifest.str())));
    BERTH_TRY(put(fmt::format("blobs/{}/{}", m.config.digest.algorithm, m.config.digest.hex), m.config.digest));
    for (const auto& l : m.layers) {
      BERTH_TRY_ASSIGN(type, oci::layer_type(l.media_type));
      if (type.foreign && !files_.find(fmt::format("blobs/{}/{}", l.digest.algorithm, l.digest.hex))) continue;
      BERTH_TRY(put(fmt::format("blobs/{}/{}", l.digest.algorithm, l.digest.hex), l.digest));
    }
    if (media_type.empty()) {
      BERTH_TRY_ASSIGN(sniffed, oci::sniff_manifest_media_type(text));
      media_type = sniffed;
    }
    BERTH_TRY_ASSIGN(rec, commit_image(store_, lease_, manifest, media_type, index_digest, names));
    return LoadedImage{rec.id, names};
  }

  Result<std::vector<LoadedImage>> docker() {
    const ArchiveFile* mf = files_.find("manifest.json");
    if (!mf) return error("docker archive has no manifest.json");
    BERTH_TRY_ASSIGN(text, read(*mf));
    auto j = nlohmann::json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_array()) return error("docker archive manifest.json: not a JSON array");
    std::vector<LoadedImage> out;
    for (size_t i = 0; i < j.size(); ++i) {
      const auto& e = j[i];
      auto where = fmt::format("docker archive manifest.json[{}]", i);
      if (!e.is_object() || !e.contains("Config") || !e["Config"].is_string() || !e.contains("Layers") ||
          !e["Layers"].is_array())
        return error("{}: needs Config (string) and Layers (array)", where);
      std::vector<std::string> names;
      if (e.contains("RepoTags") && e["RepoTags"].is_array())
        for (const auto& t : e["RepoTags"])
          if (t.is_string())
            if (auto n = docker_name(t.get<std::string>())) names.push_back(*n);
      BERTH_TRY_ASSIGN(img, with_context(docker_image(e, names), where));
      out.push_back(std::move(img));
    }
    if (out.empty()) return error("docker archive manifest.json lists no images");
    return out;
  }

  // A docker-archive entry becomes an OCI manifest over the same config and
  // layer bytes (uncompressed layers stay uncompressed, as podman stores them).
  Result<LoadedImage> docker_image(const nlohmann::json& e, const std::vector<std::string>& names) {
    std::string config_path = e["Config"].get<std::string>();
    const ArchiveFile* config = files_.find(normalize_path(config_path).value_or(""));
    if (!config) return error("config \"{}\" is not in the archive", config_path);
    BERTH_TRY(put(*normalize_path(config_path), config->digest));
    oci::Manifest m;
    m.media_type = std::string(oci::media::oci_manifest);
    m.config = {std::string(oci::media::oci_config), config->digest, config->size, {}, {}, {}, {}};
    for (const auto& l : e["Layers"]) {
      if (!l.is_string()) return error("Layers: not a string");
      auto path = normalize_path(l.get<std::string>()).value_or("");
      const ArchiveFile* f = files_.find(path);
      if (!f) return error("layer \"{}\" is not in the archive", l.get<std::string>());
      BERTH_TRY(put(path, f->digest));
      BERTH_TRY_ASSIGN(head, read_head(*f));
      std::string_view type = oci::media::oci_layer;
      switch (sniff_compression(head)) {
        case Compression::gzip: type = oci::media::oci_layer_gzip; break;
        case Compression::zstd: type = oci::media::oci_layer_zstd; break;
        case Compression::none: break;
      }
      m.layers.push_back({std::string(type), f->digest, f->size, {}, {}, {}, {}});
    }
    std::string json = oci::manifest_to_json(m);
    auto digest = oci::sha256_digest(json);
    BERTH_TRY(lease_.add(LeaseResource::content, digest.str()));
    BERTH_TRY(store_.content().put(json, digest));
    BERTH_TRY_ASSIGN(rec, commit_image(store_, lease_, digest, oci::media::oci_manifest, "", names));
    return LoadedImage{rec.id, names};
  }

  Result<std::vector<std::byte>> read_head(const ArchiveFile& f) {
    BERTH_TRY_ASSIGN(fd, open_file(f.scratch, O_RDONLY));
    std::vector<std::byte> head(8);
    ssize_t n = ::read(fd.get(), head.data(), head.size());
    if (n < 0) return sys_error(errno, "read \"{}\"", f.scratch);
    head.resize(static_cast<size_t>(n));
    return head;
  }

 private:
  Store& store_;
  LeaseHandle& lease_;
  const ArchiveFiles& files_;
};

}  // namespace

Result<std::vector<LoadedImage>> load_images(Store& store, const std::string& input) {
  BERTH_TRY_ASSIGN(scratch, ScratchDir::create(store, "load"));
  BERTH_TRY_ASSIGN(files, read_archive(input, scratch.path()));
  BERTH_TRY_ASSIGN(lease, store.lease("load", 3600));
  Loader loader(store, lease, files);
  auto name = input == "-" ? std::string("stdin") : input;
  if (files.find("index.json") && (files.find("oci-layout") || !files.find("manifest.json")))
    return with_context(loader.oci(), fmt::format("load \"{}\"", name));
  if (files.find("manifest.json")) return with_context(loader.docker(), fmt::format("load \"{}\"", name));
  return error("load \"{}\": neither an oci-archive (index.json) nor a docker-archive (manifest.json)", name);
}

}  // namespace berth::image

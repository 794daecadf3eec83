// `berth import`: a rootfs tarball as a one-layer image (docker/podman import).
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <unistd.h>

#include <vector>

#include "base/file.h"
#include "image/archive.h"
#include "image/archive_internal.h"
#include "image/content_store.h"
#include "image/pull.h"
#include "image/store.h"

namespace berth::image {

namespace {

struct Layer {
  oci::Digest diff_id;
  oci::Digest digest;  // of the gzip blob
  int64_t size = 0;
  std::string path;
};

// Decompresses whatever compression the tarball has (libarchive's filters,
// raw format: the bytes are not parsed as tar here; unpacking does that) and
// gzips it into `path`, hashing both sides.
Result<Layer> compress_layer(const std::string& input, const std::string& path) {
  UniqueFd in;
  if (input == "-") {
    in = UniqueFd(::dup(STDIN_FILENO));
    if (!in) return sys_error(errno, "dup stdin");
  } else {
    BERTH_TRY_ASSIGN(f, open_file(input, O_RDONLY));
    in = std::move(f);
  }
  std::unique_ptr<struct archive, int (*)(struct archive*)> a(archive_read_new(), archive_read_free);
  archive_read_support_filter_all(a.get());
  archive_read_support_format_raw(a.get());
  struct archive_entry* e = nullptr;
  if (archive_read_open_fd(a.get(), in.get(), 1 << 20) != ARCHIVE_OK ||
      archive_read_next_header(a.get(), &e) != ARCHIVE_OK)
    return error("read \"{}\": {}", input, archive_error_string(a.get()));
  BERTH_TRY_ASSIGN(out, open_file(path, O_WRONLY | O_CREAT | O_TRUNC, 0600));
  BERTH_TRY_ASSIGN(gz, GzipWriter::create(out, path));
  BERTH_TRY_ASSIGN(diff, Hasher::create("sha256"));
  std::vector<std::byte> buf(1 << 20);
  int64_t total = 0;
  for (;;) {
    la_ssize_t n = archive_read_data(a.get(), buf.data(), buf.size());
    if (n < 0) return error("read \"{}\": {}", input, archive_error_string(a.get()));
    if (n == 0) break;
    std::span<const std::byte> chunk(buf.data(), static_cast<size_t>(n));
    diff.update(chunk);
    BERTH_TRY(gz.write(chunk));
    total += n;
  }
  if (total == 0) return error("import \"{}\": the tarball is empty", input);
  BERTH_TRY(gz.finish());
  if (::fsync(out.get()) < 0) return sys_error(errno, "fsync \"{}\"", path);
  BERTH_TRY_ASSIGN(reader, open_file(path, O_RDONLY));
  BERTH_TRY_ASSIGN(digest, digest_fd(reader, "sha256", path));
  return Layer{diff.digest(), digest, gz.compressed_size(), path};
}

Result<oci::Platform> import_platform(const std::string& text) {
  if (!text.empty()) return oci::parse_platform(text);
  return host_platform();
}

}  // namespace

Result<LoadedImage> import_rootfs(Store& store, const std::string& tarball, const ImportOptions& options) {
  // Check what can be wrong before reading a large tarball.
  oci::ImageConfig config;
  for (const auto& c : options.changes) BERTH_TRY(apply_change(c, config.config));
  BERTH_TRY_ASSIGN(platform, import_platform(options.platform));
  std::vector<std::string> names;
  if (!options.name.empty()) {
    BERTH_TRY_ASSIGN(name, Store::normalize_name(options.name));
    names.push_back(name);
  }

  BERTH_TRY_ASSIGN(scratch, ScratchDir::create(store, "import"));
  BERTH_TRY_ASSIGN(layer, with_context(compress_layer(tarball, scratch.path() + "/layer.tar.gz"),
                                       fmt::format("import \"{}\"", tarball)));
  BERTH_TRY_ASSIGN(lease, store.lease("import", 3600));
  BERTH_TRY(lease.add(LeaseResource::content, layer.digest.str()));
  BERTH_TRY(put_blob_file(store, layer.path, layer.digest, layer.size));

  std::string now = rfc3339(unix_now());
  config.created = now;
  config.os = platform.os;
  config.architecture = platform.architecture;
  config.variant = platform.variant;
  config.diff_ids = {layer.diff_id};
  config.history.push_back({now, fmt::format("berth import {}", tarball == "-" ? "-" : tarball), "",
                            options.message, false});
  std::string config_json = oci::image_config_to_json(config);
  auto config_digest = oci::sha256_digest(config_json);
  BERTH_TRY(lease.add(LeaseResource::content, config_digest.str()));
  BERTH_TRY(store.content().put(config_json, config_digest));

  oci::Manifest m;
  m.media_type = std::string(oci::media::oci_manifest);
  m.config = {std::string(oci::media::oci_config), config_digest, static_cast<int64_t>(config_json.size()),
              {}, {}, {}, {}};
  m.layers.push_back({std::string(oci::media::oci_layer_gzip), layer.digest, layer.size, {}, {}, {}, {}});
  std::string manifest_json = oci::manifest_to_json(m);
  auto manifest_digest = oci::sha256_digest(manifest_json);
  BERTH_TRY(lease.add(LeaseResource::content, manifest_digest.str()));
  BERTH_TRY(store.content().put(manifest_json, manifest_digest));

  BERTH_TRY_ASSIGN(rec, commit_image(store, lease, manifest_digest, oci::media::oci_manifest, "", names));
  return LoadedImage{rec.id, names};
}

}  // namespace berth::image

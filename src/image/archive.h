// Images as files: `berth save` / `berth load` of oci-archive (an OCI image
// layout in a tar) and docker-archive (manifest.json + repositories + legacy
// layer directories, as `docker save` writes), both readable and writable by
// skopeo and podman; and `berth import` of a rootfs tarball as a one-layer
// image.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "oci/image.h"

namespace berth::image {

class Store;

enum class ArchiveFormat { oci_archive, docker_archive };
// "oci-archive" or "docker-archive" (podman's --format names).
Result<ArchiveFormat> parse_archive_format(std::string_view name);

// Writes the images `refs` name (names, ids) into one archive at `output`
// ("-" for stdout). An image given by name is saved under that name; by id,
// under all its names.
Result<> save_images(Store& store, const std::vector<std::string>& refs, ArchiveFormat format,
                     const std::string& output);

struct LoadedImage {
  std::string id;
  std::vector<std::string> names;
};
// Reads an archive of either format (maybe gzip/zstd-compressed; "-" for
// stdin), stores its blobs, unpacks its layers into snapshots and records
// the images with the names the archive gives them.
Result<std::vector<LoadedImage>> load_images(Store& store, const std::string& input);

struct ImportOptions {
  std::string name;                  // image name ("" = none); short names go under localhost/
  std::vector<std::string> changes;  // Dockerfile instructions: CMD, ENTRYPOINT, ENV, ...
  std::string message;               // history comment
  std::string platform;              // "os/arch[/variant]"; "" = this machine's
};
// Makes a one-layer image from a rootfs tarball (plain or compressed tar;
// "-" for stdin), storing the layer gzip-compressed. Returns the image id.
Result<LoadedImage> import_rootfs(Store& store, const std::string& tarball, const ImportOptions& options);

// Applies one --change instruction ("CMD [\"sh\"]", "ENV A=b", "WORKDIR /x",
// "USER u", "ENTRYPOINT x", "EXPOSE 80/tcp", "LABEL k=v", "VOLUME /v",
// "STOPSIGNAL SIGTERM") to `config`; shell forms of CMD/ENTRYPOINT become
// ["/bin/sh", "-c", ...] as in a Dockerfile. Errors name the instruction.
Result<> apply_change(std::string_view change, oci::ContainerConfig& config);

}  // namespace berth::image

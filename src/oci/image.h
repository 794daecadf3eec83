// Image-spec types (OCI image manifest, index, config) and their Docker
// schema2 twins (manifest, manifest list), with parsers whose errors name the
// JSON path, platform matching and chain IDs. Pure: no syscalls.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "oci/digest.h"

namespace berth::oci {

namespace media {
inline constexpr std::string_view oci_manifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr std::string_view oci_index = "application/vnd.oci.image.index.v1+json";
inline constexpr std::string_view oci_config = "application/vnd.oci.image.config.v1+json";
inline constexpr std::string_view oci_layer = "application/vnd.oci.image.layer.v1.tar";
inline constexpr std::string_view oci_layer_gzip = "application/vnd.oci.image.layer.v1.tar+gzip";
inline constexpr std::string_view oci_layer_zstd = "application/vnd.oci.image.layer.v1.tar+zstd";
inline constexpr std::string_view oci_layer_nondist = "application/vnd.oci.image.layer.nondistributable.v1.tar";
inline constexpr std::string_view oci_layer_nondist_gzip =
    "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip";
inline constexpr std::string_view oci_layer_nondist_zstd =
    "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd";
inline constexpr std::string_view oci_empty = "application/vnd.oci.empty.v1+json";
inline constexpr std::string_view docker_manifest = "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr std::string_view docker_manifest_list =
    "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr std::string_view docker_schema1 = "application/vnd.docker.distribution.manifest.v1+prettyjws";
inline constexpr std::string_view docker_config = "application/vnd.docker.container.image.v1+json";
inline constexpr std::string_view docker_layer_gzip = "application/vnd.docker.image.rootfs.diff.tar.gzip";
inline constexpr std::string_view docker_layer_foreign =
    "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";
}  // namespace media

// The largest manifest, index or config Berth reads (containerd's limit).
inline constexpr int64_t kMaxManifestSize = 4 << 20;

bool is_manifest_media_type(std::string_view type);  // OCI or Docker schema2 image manifest
bool is_index_media_type(std::string_view type);     // OCI index or Docker manifest list
bool is_config_media_type(std::string_view type);

enum class Compression { none, gzip, zstd };
const char* compression_name(Compression c);

struct LayerType {
  Compression compression = Compression::none;
  // Foreign / non-distributable: the registry does not serve it; peers skip
  // such layers unless told to fetch their URLs, and so does Berth.
  bool foreign = false;
};
// The layer media types Berth unpacks; anything else is an error naming it.
Result<LayerType> layer_type(std::string_view media_type);

struct Platform {
  std::string os;
  std::string architecture;
  std::string variant;
  std::string os_version;
  std::vector<std::string> os_features;
  bool operator==(const Platform&) const = default;
};
// "linux/arm64/v8" (os/arch[/variant]), normalised; errors name the value.
Result<Platform> parse_platform(std::string_view text);
// "linux/amd64" or "linux/arm/v7".
std::string platform_string(const Platform& p);
// containerd's normalisation: x86_64 -> amd64, aarch64 -> arm64 (variant v8
// dropped), armhf -> arm/v7, armel -> arm/v6, i386/x86 -> 386, arm without a
// variant -> v7.
Platform normalize_platform(Platform p);
// True when an image for `have` runs on a machine of `want` (same os and
// architecture; `want`'s variant or an older one of arm; no variant wanted
// accepts any).
bool platform_matches(const Platform& want, const Platform& have);

struct Descriptor {
  std::string media_type;
  Digest digest;
  int64_t size = 0;
  std::vector<std::string> urls;
  std::map<std::string, std::string> annotations;
  std::optional<Platform> platform;
  std::string artifact_type;
  bool operator==(const Descriptor&) const = default;
};

struct Manifest {
  int schema_version = 2;
  std::string media_type;  // as declared (may be empty in OCI manifests)
  std::string artifact_type;
  Descriptor config;
  std::vector<Descriptor> layers;
  std::optional<Descriptor> subject;
  std::map<std::string, std::string> annotations;
};

struct Index {
  int schema_version = 2;
  std::string media_type;
  std::vector<Descriptor> manifests;
  std::optional<Descriptor> subject;
  std::map<std::string, std::string> annotations;
};

// The runtime defaults of an image (config.config in the spec).
struct ContainerConfig {
  std::string user;
  std::vector<std::string> exposed_ports;  // keys of ExposedPorts: "80/tcp"
  std::vector<std::string> env;
  std::vector<std::string> entrypoint;
  std::vector<std::string> cmd;
  std::vector<std::string> volumes;        // keys of Volumes
  std::string working_dir;
  std::map<std::string, std::string> labels;
  std::string stop_signal;
  bool operator==(const ContainerConfig&) const = default;
};

struct History {
  std::string created;
  std::string created_by;
  std::string author;
  std::string comment;
  bool empty_layer = false;
  bool operator==(const History&) const = default;
};

struct ImageConfig {
  std::string created;
  std::string author;
  std::string architecture;
  std::string os;
  std::string os_version;
  std::string variant;
  ContainerConfig config;
  std::string rootfs_type = "layers";
  std::vector<Digest> diff_ids;
  std::vector<History> history;
  Platform platform() const { return Platform{os, architecture, variant, os_version, {}}; }
};

// Parsers of untrusted documents: shape checks with JSON-path errors
// ("manifest: layers[2].digest: ..."), size limit kMaxManifestSize.
Result<Manifest> parse_manifest(std::string_view text);
Result<Index> parse_index(std::string_view text);
Result<ImageConfig> parse_image_config(std::string_view text);

// The media type of a manifest-ish document whose transport did not say
// (a registry's generic Content-Type, an OCI layout blob): its mediaType
// field, else "manifests" means an index and "layers" an image manifest.
Result<std::string> sniff_manifest_media_type(std::string_view text);

// Serialisers (canonical key order of the spec, compact).
std::string descriptor_to_json(const Descriptor& d);
std::string manifest_to_json(const Manifest& m);
std::string index_to_json(const Index& i);
std::string image_config_to_json(const ImageConfig& c);

// The manifest for `want` in an index: the exact variant first, then the
// newest compatible one; attestation entries (unknown/unknown) never match.
// The error lists the platforms the index has.
Result<Descriptor> select_manifest(const Index& index, const Platform& want);

// Chain IDs of a layer stack: ChainID(L0) = DiffID(L0),
// ChainID(Ln) = sha256(ChainID(Ln-1) + " " + DiffID(Ln)).
std::vector<Digest> chain_ids(const std::vector<Digest>& diff_ids);

}  // namespace berth::oci

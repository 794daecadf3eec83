// Image-spec documents <-> types. Shape checks only: the parsers check types
// and required keys and name the JSON path of what is wrong; whether the
// digests are right is the content store's business.
#include "oci/image.h"

#include <algorithm>
#include <exception>
#include <limits>

#include <nlohmann/json.hpp>

namespace berth::oci {
namespace {

using json = nlohmann::json;
using ojson = nlohmann::ordered_json;

std::string at(const std::string& path, std::string_view key) { return fmt::format("{}.{}", path, key); }

const json* field(const json& o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end() || it->is_null()) return nullptr;
  return &*it;
}

// Declared first so the generic readers below find the struct readers.
Result<> read(const json& v, const std::string& path, Platform& out);
Result<> read(const json& v, const std::string& path, Descriptor& out);
Result<> read(const json& v, const std::string& path, std::optional<Descriptor>& out);
Result<> read(const json& v, const std::string& path, History& out);

Result<> read(const json& v, const std::string& path, std::string& out) {
  if (!v.is_string()) return error("{}: must be a string", path);
  out = v.get_ref<const std::string&>();
  return {};
}

Result<> read(const json& v, const std::string& path, int64_t& out) {
  if (v.is_number_unsigned()) {
    auto u = v.get<uint64_t>();
    if (u > uint64_t(std::numeric_limits<int64_t>::max())) return error("{}: out of range", path);
    out = static_cast<int64_t>(u);
    return {};
  }
  if (v.is_number_integer()) {
    out = v.get<int64_t>();
    return {};
  }
  return error("{}: must be an integer", path);
}

Result<> read(const json& v, const std::string& path, int& out) {
  int64_t wide = 0;
  BERTH_TRY(read(v, path, wide));
  if (!std::in_range<int>(wide)) return error("{}: out of range", path);
  out = static_cast<int>(wide);
  return {};
}

Result<> read(const json& v, const std::string& path, bool& out) {
  if (!v.is_boolean()) return error("{}: must be a boolean", path);
  out = v.get<bool>();
  return {};
}

Result<> read(const json& v, const std::string& path, Digest& out) {
  if (!v.is_string()) return error("{}: must be a string", path);
  auto d = parse_digest(v.get_ref<const std::string&>());
  if (!d) return error("{}: {}", path, d.error().message());
  out = std::move(*d);
  return {};
}

template <typename T>
Result<> read(const json& v, const std::string& path, std::vector<T>& out) {
  if (!v.is_array()) return error("{}: must be an array", path);
  out.clear();
  for (size_t i = 0; i < v.size(); ++i) {
    T item{};
    BERTH_TRY(read(v[i], fmt::format("{}[{}]", path, i), item));
    out.push_back(std::move(item));
  }
  return {};
}

Result<> read(const json& v, const std::string& path, std::map<std::string, std::string>& out) {
  if (!v.is_object()) return error("{}: must be an object", path);
  out.clear();
  for (const auto& [key, item] : v.items()) {
    std::string s;
    BERTH_TRY(read(item, fmt::format("{}[\"{}\"]", path, key), s));
    out.emplace(key, std::move(s));
  }
  return {};
}

// Go's map[string]struct{} (ExposedPorts, Volumes): only the keys matter.
Result<> read_key_set(const json& v, const std::string& path, std::vector<std::string>& out) {
  if (!v.is_object()) return error("{}: must be an object", path);
  out.clear();
  for (const auto& [key, item] : v.items()) out.push_back(key);
  return {};
}

template <typename T>
Result<> opt(const json& o, const std::string& path, std::string_view key, T& out) {
  const json* v = field(o, key);
  if (!v) return {};
  return read(*v, at(path, key), out);
}

template <typename T>
Result<> req(const json& o, const std::string& path, std::string_view key, T& out) {
  const json* v = field(o, key);
  if (!v) return error("{}: required", at(path, key));
  return read(*v, at(path, key), out);
}

Result<> check_object(const json& v, const std::string& path) {
  if (!v.is_object()) return error("{}: must be an object", path);
  return {};
}

Result<> read(const json& v, const std::string& path, Platform& out) {
  BERTH_TRY(check_object(v, path));
  BERTH_TRY(req(v, path, "architecture", out.architecture));
  BERTH_TRY(req(v, path, "os", out.os));
  BERTH_TRY(opt(v, path, "os.version", out.os_version));
  BERTH_TRY(opt(v, path, "os.features", out.os_features));
  BERTH_TRY(opt(v, path, "variant", out.variant));
  return {};
}

Result<> read(const json& v, const std::string& path, Descriptor& out) {
  BERTH_TRY(check_object(v, path));
  BERTH_TRY(req(v, path, "mediaType", out.media_type));
  BERTH_TRY(req(v, path, "digest", out.digest));
  BERTH_TRY(req(v, path, "size", out.size));
  if (out.size < 0) return error("{}: must not be negative", at(path, "size"));
  BERTH_TRY(opt(v, path, "urls", out.urls));
  BERTH_TRY(opt(v, path, "annotations", out.annotations));
  BERTH_TRY(opt(v, path, "artifactType", out.artifact_type));
  if (const json* p = field(v, "platform")) {
    Platform platform;
    BERTH_TRY(read(*p, at(path, "platform"), platform));
    out.platform = std::move(platform);
  }
  return {};
}

Result<> read(const json& v, const std::string& path, std::optional<Descriptor>& out) {
  Descriptor d;
  BERTH_TRY(read(v, path, d));
  out = std::move(d);
  return {};
}

Result<> read(const json& v, const std::string& path, History& out) {
  BERTH_TRY(check_object(v, path));
  BERTH_TRY(opt(v, path, "created", out.created));
  BERTH_TRY(opt(v, path, "created_by", out.created_by));
  BERTH_TRY(opt(v, path, "author", out.author));
  BERTH_TRY(opt(v, path, "comment", out.comment));
  BERTH_TRY(opt(v, path, "empty_layer", out.empty_layer));
  return {};
}

Result<> read(const json& v, const std::string& path, ContainerConfig& out) {
  BERTH_TRY(check_object(v, path));
  BERTH_TRY(opt(v, path, "User", out.user));
  if (const json* p = field(v, "ExposedPorts")) BERTH_TRY(read_key_set(*p, at(path, "ExposedPorts"), out.exposed_ports));
  BERTH_TRY(opt(v, path, "Env", out.env));
  BERTH_TRY(opt(v, path, "Entrypoint", out.entrypoint));
  BERTH_TRY(opt(v, path, "Cmd", out.cmd));
  if (const json* p = field(v, "Volumes")) BERTH_TRY(read_key_set(*p, at(path, "Volumes"), out.volumes));
  BERTH_TRY(opt(v, path, "WorkingDir", out.working_dir));
  BERTH_TRY(opt(v, path, "Labels", out.labels));
  BERTH_TRY(opt(v, path, "StopSignal", out.stop_signal));
  return {};
}

std::string parse_error_text(const std::exception& e) {
  std::string_view what = e.what();
  if (what.starts_with("[json.exception.")) {
    auto end = what.find("] ");
    if (end != std::string_view::npos) what.remove_prefix(end + 2);
  }
  return std::string(what);
}

// Parses a document of kind `what` with `reader`; no exception leaves.
template <typename T, typename Reader>
Result<T> parse_document(std::string_view text, std::string_view what, Reader reader) {
  if (std::ssize(text) > kMaxManifestSize)
    return error("{}: {} bytes exceeds the limit of {} bytes", what, text.size(), kMaxManifestSize);
  try {
    json doc;
    try {
      doc = json::parse(text.begin(), text.end());
    } catch (const json::exception& e) {
      return error("{}: invalid JSON: {}", what, parse_error_text(e));
    }
    if (!doc.is_object()) return error("{}: must be a JSON object", what);
    T out{};
    BERTH_TRY(reader(doc, std::string(what), out));
    return out;
  } catch (const std::exception& e) {
    return error("{}: {}", what, e.what());
  }
}

Result<> check_schema_version(const json& doc, const std::string& path, int& out) {
  BERTH_TRY(req(doc, path, "schemaVersion", out));
  if (out != 2) return error("{}: unsupported schema version {} (want 2)", at(path, "schemaVersion"), out);
  return {};
}

// Platforms compare on normalised values; the architecture's variant order
// says which older variants a newer CPU runs.
int arm_variant_rank(std::string_view variant) {
  if (variant.size() >= 2 && variant[0] == 'v') {
    int n = 0;
    for (char c : variant.substr(1)) {
      if (c < '0' || c > '9') return -1;
      n = n * 10 + (c - '0');
      if (n > 1000) return -1;
    }
    return n;
  }
  return -1;
}

ojson descriptor_json(const Descriptor& d) {
  ojson o;
  o["mediaType"] = d.media_type;
  if (!d.artifact_type.empty()) o["artifactType"] = d.artifact_type;
  o["digest"] = d.digest.str();
  o["size"] = d.size;
  if (!d.urls.empty()) o["urls"] = d.urls;
  if (!d.annotations.empty()) o["annotations"] = d.annotations;
  if (d.platform) {
    ojson p;
    p["architecture"] = d.platform->architecture;
    p["os"] = d.platform->os;
    if (!d.platform->os_version.empty()) p["os.version"] = d.platform->os_version;
    if (!d.platform->os_features.empty()) p["os.features"] = d.platform->os_features;
    if (!d.platform->variant.empty()) p["variant"] = d.platform->variant;
    o["platform"] = std::move(p);
  }
  return o;
}

std::string dump(const ojson& o) { return o.dump(-1, ' ', false, ojson::error_handler_t::replace); }

ojson key_set(const std::vector<std::string>& keys) {
  ojson o = ojson::object();
  for (const auto& k : keys) o[k] = ojson::object();
  return o;
}

}  // namespace

bool is_manifest_media_type(std::string_view type) {
  return type == media::oci_manifest || type == media::docker_manifest;
}
bool is_index_media_type(std::string_view type) {
  return type == media::oci_index || type == media::docker_manifest_list;
}
bool is_config_media_type(std::string_view type) {
  return type == media::oci_config || type == media::docker_config;
}

const char* compression_name(Compression c) {
  switch (c) {
    case Compression::none: return "none";
    case Compression::gzip: return "gzip";
    case Compression::zstd: return "zstd";
  }
  return "?";
}

Result<LayerType> layer_type(std::string_view m) {
  if (m == media::oci_layer) return LayerType{Compression::none, false};
  if (m == media::oci_layer_gzip || m == media::docker_layer_gzip) return LayerType{Compression::gzip, false};
  if (m == media::oci_layer_zstd) return LayerType{Compression::zstd, false};
  if (m == media::oci_layer_nondist) return LayerType{Compression::none, true};
  if (m == media::oci_layer_nondist_gzip || m == media::docker_layer_foreign)
    return LayerType{Compression::gzip, true};
  if (m == media::oci_layer_nondist_zstd) return LayerType{Compression::zstd, true};
  return error("unsupported layer media type \"{}\"", m);
}

Platform normalize_platform(Platform p) {
  auto lower = [](std::string s) {
    std::ranges::transform(s, s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
  };
  p.os = lower(p.os);
  p.architecture = lower(p.architecture);
  p.variant = lower(p.variant);
  if (p.os == "macos") p.os = "darwin";
  const std::string& a = p.architecture;
  if (a == "i386" || a == "x86" || a == "i686") {
    p.architecture = "386";
    p.variant.clear();
  } else if (a == "x86_64" || a == "x86-64" || a == "amd64") {
    p.architecture = "amd64";
    if (p.variant == "v1") p.variant.clear();
  } else if (a == "aarch64" || a == "arm64") {
    p.architecture = "arm64";
    if (p.variant == "8" || p.variant == "v8") p.variant.clear();
  } else if (a == "armhf") {
    p.architecture = "arm";
    p.variant = "v7";
  } else if (a == "armel") {
    p.architecture = "arm";
    p.variant = "v6";
  } else if (a == "arm") {
    if (p.variant.empty() || p.variant == "7") p.variant = "v7";
    else if (p.variant == "5" || p.variant == "6" || p.variant == "8") p.variant = "v" + p.variant;
  }
  return p;
}

Result<Platform> parse_platform(std::string_view text) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  for (;;) {
    size_t slash = text.find('/', start);
    parts.push_back(text.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  if (parts.size() < 2 || parts.size() > 3)
    return error("invalid platform \"{}\": want os/arch[/variant]", text);
  for (auto part : parts) {
    if (part.empty()) return error("invalid platform \"{}\": empty component", text);
    for (char c : part)
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-' && c != '.')
        return error("invalid platform \"{}\": bad character '{}'", text, c);
  }
  Platform p;
  p.os = parts[0];
  p.architecture = parts[1];
  if (parts.size() == 3) p.variant = parts[2];
  return normalize_platform(std::move(p));
}

std::string platform_string(const Platform& p) {
  std::string s = p.os + "/" + p.architecture;
  if (!p.variant.empty()) s += "/" + p.variant;
  return s;
}

bool platform_matches(const Platform& want_in, const Platform& have_in) {
  Platform want = normalize_platform(want_in);
  Platform have = normalize_platform(have_in);
  if (want.os != have.os || want.architecture != have.architecture) return false;
  if (want.variant.empty() || want.variant == have.variant) return true;
  if (want.architecture == "arm" || want.architecture == "arm64" || want.architecture == "amd64") {
    // A v7 machine runs v6 and v5 images; an image without variant is the baseline.
    if (have.variant.empty()) return true;
    int w = arm_variant_rank(want.variant), h = arm_variant_rank(have.variant);
    return w >= 0 && h >= 0 && h <= w;
  }
  return false;
}

Result<Descriptor> select_manifest(const Index& index, const Platform& want_in) {
  Platform want = normalize_platform(want_in);
  const Descriptor* best = nullptr;
  int best_score = -1;
  for (const auto& d : index.manifests) {
    if (!is_manifest_media_type(d.media_type) && !is_index_media_type(d.media_type)) continue;
    if (!d.platform) continue;
    Platform have = normalize_platform(*d.platform);
    if (!platform_matches(want, have)) continue;
    // Exact variant > newest compatible variant > no variant.
    int score = have.variant == want.variant ? 10000 : std::max(0, arm_variant_rank(have.variant));
    if (score > best_score) {
      best = &d;
      best_score = score;
    }
  }
  if (best) return *best;
  std::vector<std::string> have;
  for (const auto& d : index.manifests)
    if (d.platform) have.push_back(platform_string(normalize_platform(*d.platform)));
  return error("no image for platform {} (the index has: {})", platform_string(want),
               have.empty() ? std::string("none") : fmt::format("{}", fmt::join(have, ", ")));
}

Result<Manifest> parse_manifest(std::string_view text) {
  return parse_document<Manifest>(text, "manifest", [](const json& doc, const std::string& path, Manifest& m) -> Result<> {
    BERTH_TRY(check_schema_version(doc, path, m.schema_version));
    BERTH_TRY(opt(doc, path, "mediaType", m.media_type));
    if (!m.media_type.empty() && !is_manifest_media_type(m.media_type))
      return error("{}: \"{}\" is not an image manifest", at(path, "mediaType"), m.media_type);
    BERTH_TRY(opt(doc, path, "artifactType", m.artifact_type));
    BERTH_TRY(req(doc, path, "config", m.config));
    BERTH_TRY(req(doc, path, "layers", m.layers));
    BERTH_TRY(opt(doc, path, "subject", m.subject));
    BERTH_TRY(opt(doc, path, "annotations", m.annotations));
    return {};
  });
}

Result<Index> parse_index(std::string_view text) {
  return parse_document<Index>(text, "index", [](const json& doc, const std::string& path, Index& x) -> Result<> {
    BERTH_TRY(check_schema_version(doc, path, x.schema_version));
    BERTH_TRY(opt(doc, path, "mediaType", x.media_type));
    if (!x.media_type.empty() && !is_index_media_type(x.media_type))
      return error("{}: \"{}\" is not an index", at(path, "mediaType"), x.media_type);
    BERTH_TRY(req(doc, path, "manifests", x.manifests));
    BERTH_TRY(opt(doc, path, "subject", x.subject));
    BERTH_TRY(opt(doc, path, "annotations", x.annotations));
    return {};
  });
}

Result<ImageConfig> parse_image_config(std::string_view text) {
  return parse_document<ImageConfig>(text, "config", [](const json& doc, const std::string& path, ImageConfig& c) -> Result<> {
    BERTH_TRY(opt(doc, path, "created", c.created));
    BERTH_TRY(opt(doc, path, "author", c.author));
    BERTH_TRY(req(doc, path, "architecture", c.architecture));
    BERTH_TRY(req(doc, path, "os", c.os));
    BERTH_TRY(opt(doc, path, "os.version", c.os_version));
    BERTH_TRY(opt(doc, path, "variant", c.variant));
    if (const json* cc = field(doc, "config")) BERTH_TRY(read(*cc, at(path, "config"), c.config));
    const json* rootfs = field(doc, "rootfs");
    if (!rootfs) return error("{}: required", at(path, "rootfs"));
    std::string rpath = at(path, "rootfs");
    BERTH_TRY(check_object(*rootfs, rpath));
    BERTH_TRY(req(*rootfs, rpath, "type", c.rootfs_type));
    if (c.rootfs_type != "layers")
      return error("{}: unsupported rootfs type \"{}\"", at(rpath, "type"), c.rootfs_type);
    BERTH_TRY(req(*rootfs, rpath, "diff_ids", c.diff_ids));
    BERTH_TRY(opt(doc, path, "history", c.history));
    return {};
  });
}

Result<std::string> sniff_manifest_media_type(std::string_view text) {
  if (std::ssize(text) > kMaxManifestSize)
    return error("manifest: {} bytes exceeds the limit of {} bytes", text.size(), kMaxManifestSize);
  try {
    json doc = json::parse(text.begin(), text.end(), nullptr, false);
    if (doc.is_discarded() || !doc.is_object()) return error("manifest: invalid JSON");
    if (const json* m = field(doc, "mediaType"); m && m->is_string()) return m->get<std::string>();
    if (field(doc, "manifests")) return std::string(media::oci_index);
    if (field(doc, "layers")) return std::string(media::oci_manifest);
    if (const json* v = field(doc, "schemaVersion"); v && *v == 1) return std::string(media::docker_schema1);
    return error("manifest: neither mediaType, manifests nor layers");
  } catch (const std::exception& e) {
    return error("manifest: {}", e.what());
  }
}

std::string descriptor_to_json(const Descriptor& d) { return dump(descriptor_json(d)); }

std::string manifest_to_json(const Manifest& m) {
  ojson o;
  o["schemaVersion"] = m.schema_version;
  if (!m.media_type.empty()) o["mediaType"] = m.media_type;
  if (!m.artifact_type.empty()) o["artifactType"] = m.artifact_type;
  o["config"] = descriptor_json(m.config);
  o["layers"] = ojson::array();
  for (const auto& l : m.layers) o["layers"].push_back(descriptor_json(l));
  if (m.subject) o["subject"] = descriptor_json(*m.subject);
  if (!m.annotations.empty()) o["annotations"] = m.annotations;
  return dump(o);
}

std::string index_to_json(const Index& x) {
  ojson o;
  o["schemaVersion"] = x.schema_version;
  if (!x.media_type.empty()) o["mediaType"] = x.media_type;
  o["manifests"] = ojson::array();
  for (const auto& d : x.manifests) o["manifests"].push_back(descriptor_json(d));
  if (x.subject) o["subject"] = descriptor_json(*x.subject);
  if (!x.annotations.empty()) o["annotations"] = x.annotations;
  return dump(o);
}

std::string image_config_to_json(const ImageConfig& c) {
  ojson o;
  if (!c.created.empty()) o["created"] = c.created;
  if (!c.author.empty()) o["author"] = c.author;
  o["architecture"] = c.architecture;
  if (!c.variant.empty()) o["variant"] = c.variant;
  o["os"] = c.os;
  if (!c.os_version.empty()) o["os.version"] = c.os_version;
  ojson cc = ojson::object();
  const ContainerConfig& k = c.config;
  if (!k.user.empty()) cc["User"] = k.user;
  if (!k.exposed_ports.empty()) cc["ExposedPorts"] = key_set(k.exposed_ports);
  if (!k.env.empty()) cc["Env"] = k.env;
  if (!k.entrypoint.empty()) cc["Entrypoint"] = k.entrypoint;
  if (!k.cmd.empty()) cc["Cmd"] = k.cmd;
  if (!k.volumes.empty()) cc["Volumes"] = key_set(k.volumes);
  if (!k.working_dir.empty()) cc["WorkingDir"] = k.working_dir;
  if (!k.labels.empty()) cc["Labels"] = k.labels;
  if (!k.stop_signal.empty()) cc["StopSignal"] = k.stop_signal;
  o["config"] = std::move(cc);
  ojson rootfs;
  rootfs["type"] = c.rootfs_type;
  rootfs["diff_ids"] = ojson::array();
  for (const auto& d : c.diff_ids) rootfs["diff_ids"].push_back(d.str());
  o["rootfs"] = std::move(rootfs);
  if (!c.history.empty()) {
    ojson h = ojson::array();
    for (const auto& e : c.history) {
      ojson x = ojson::object();
      if (!e.created.empty()) x["created"] = e.created;
      if (!e.created_by.empty()) x["created_by"] = e.created_by;
      if (!e.author.empty()) x["author"] = e.author;
      if (!e.comment.empty()) x["comment"] = e.comment;
      if (e.empty_layer) x["empty_layer"] = true;
      h.push_back(std::move(x));
    }
    o["history"] = std::move(h);
  }
  return dump(o);
}

std::vector<Digest> chain_ids(const std::vector<Digest>& diff_ids) {
  std::vector<Digest> out;
  out.reserve(diff_ids.size());
  for (const auto& d : diff_ids) {
    if (out.empty()) out.push_back(d);
    else out.push_back(sha256_digest(out.back().str() + " " + d.str()));
  }
  return out;
}

}  // namespace berth::oci

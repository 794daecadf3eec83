#include "image/store.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <map>
#include <random>
#include <set>

#include "base/file.h"
#include "base/log.h"
#include "image/reference.h"
#include "oci/digest.h"
#include "oci/image.h"

namespace berth::image {

namespace fs = std::filesystem;

LeaseHandle::LeaseHandle(LeaseHandle&& o) noexcept
    : md_(std::exchange(o.md_, nullptr)), id_(std::move(o.id_)), gc_lock_(std::move(o.gc_lock_)) {}

LeaseHandle::~LeaseHandle() {
  if (auto r = release(); !r) log::warn("{}", r.error().what());
}

Result<> LeaseHandle::add(LeaseResource type, std::string_view ref) {
  if (!md_) return error("lease \"{}\" already released", id_);
  return md_->add_lease_ref(id_, type, ref);
}

Result<> LeaseHandle::release() {
  if (!md_) return {};
  auto* md = std::exchange(md_, nullptr);
  auto r = md->delete_lease(id_);
  gc_lock_.reset();
  return r;
}

namespace {

std::string random_hex(size_t bytes) {
  std::random_device rd;
  std::string out;
  for (size_t i = 0; i < bytes; ++i) out += fmt::format("{:02x}", rd() & 0xff);
  return out;
}

bool is_hex(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
  });
}

// Size of a file or, for a directory, of everything beneath it (no links followed).
uint64_t tree_bytes(const std::string& path) {
  std::error_code ec;
  auto st = fs::symlink_status(path, ec);
  if (ec) return 0;
  if (fs::is_regular_file(st)) return fs::file_size(path, ec);
  if (!fs::is_directory(st)) return 0;
  uint64_t total = 0;
  for (auto it = fs::recursive_directory_iterator(path, fs::directory_options::skip_permission_denied, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_regular_file(ec) && !it->is_symlink(ec)) total += it->file_size(ec);
  }
  return total;
}

// Entries of a directory (names only); a missing directory is empty.
Result<std::vector<std::string>> list_dir(const std::string& path) {
  std::vector<std::string> out;
  DIR* d = ::opendir(path.c_str());
  if (!d) {
    if (errno == ENOENT) return out;
    return sys_error(errno, "open directory \"{}\"", path);
  }
  while (auto* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name != "." && name != "..") out.push_back(std::move(name));
  }
  ::closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

int64_t mtime_of(const std::string& path) {
  struct stat st{};
  if (::lstat(path.c_str(), &st) < 0) return 0;
  return st.st_mtim.tv_sec;
}

Result<> remove_tree(const std::string& path) {
  std::error_code ec;
  fs::remove_all(path, ec);
  if (ec) return sys_error(ec.value(), "remove \"{}\"", path);
  return {};
}

// The blobs an image needs (manifest, config, layers) plus its index.
void add_image_blobs(const ImageRecord& img, std::set<std::string>& out) {
  out.insert(img.id);
  out.insert(img.manifest_digest);
  if (!img.index_digest.empty()) out.insert(img.index_digest);
  for (const auto& l : img.layers)
    if (!l.digest.empty()) out.insert(l.digest);
}

}  // namespace

Store::Store(Store&&) noexcept = default;
Store& Store::operator=(Store&&) noexcept = default;
Store::~Store() = default;

Result<Store> Store::open(const std::string& root) {
  if (root.empty()) return error("store root is empty");
  Store s;
  s.root_ = root;
  while (s.root_.size() > 1 && s.root_.back() == '/') s.root_.pop_back();
  BERTH_TRY(mkdir_p(s.root_, 0700));
  BERTH_TRY(mkdir_p(s.tmp_dir(), 0700));
  BERTH_TRY_ASSIGN(content, ContentStore::open(s.root_ + "/content"));
  s.content_ = std::make_unique<ContentStore>(std::move(content));
  BERTH_TRY_ASSIGN(snaps, Snapshots::open(s.root_));
  s.snapshots_ = std::make_unique<Snapshots>(std::move(snaps));
  BERTH_TRY_ASSIGN(md, Metadata::open(s.root_ + "/berth.db"));
  s.metadata_ = std::make_unique<Metadata>(std::move(md));
  return s;
}

Result<LeaseHandle> Store::lease(std::string_view kind, int64_t ttl_seconds, LeaseUse use) {
  std::string id = fmt::format("{}-{}", kind, random_hex(8));
  UniqueFd lock;
  if (use == LeaseUse::write) {
    BERTH_TRY_ASSIGN(held, lock_gc(false));
    lock = std::move(held);
  }
  BERTH_TRY(metadata_->create_lease(id, kind, ttl_seconds, unix_now()));
  return LeaseHandle(metadata_.get(), std::move(id), std::move(lock));
}

Result<std::string> Store::normalize_name(std::string_view text) {
  // podman's rule for names given locally (tag, import, load): a short name
  // lives under localhost/, not docker.io.
  if (is_short_name(text) && text.find('@') == std::string_view::npos) {
    BERTH_TRY_ASSIGN(ref, parse_reference(fmt::format("localhost/{}", text)));
    return ref.str();
  }
  BERTH_TRY_ASSIGN(ref, parse_reference(text));
  return ref.str();
}

Result<ImageMatch> Store::resolve(std::string_view text) {
  auto found = [&](std::string_view id, std::string name) -> Result<ImageMatch> {
    BERTH_TRY_ASSIGN(img, metadata_->get_image(id));
    if (!img) return std::unexpected(Error(ENOENT, fmt::format("image {} vanished", id)));
    return ImageMatch{std::move(*img), std::move(name)};
  };
  if (text.empty()) return std::unexpected(Error(EINVAL, "empty image reference"));

  // A full digest: the image id, else a manifest or index digest.
  if (text.starts_with("sha256:")) {
    BERTH_TRY(oci::parse_digest(text));
    if (auto img = metadata_->get_image(text); img && *img) return ImageMatch{std::move(**img), std::string()};
    BERTH_TRY_ASSIGN(ids, metadata_->find_by_manifest(text));
    if (!ids.empty()) return found(ids.front(), "");
    return std::unexpected(Error(ENOENT, fmt::format("image {}: no such image", text)));
  }

  // A name: as given (docker.io for short names), then under localhost/.
  std::vector<std::string> candidates;
  if (auto ref = parse_reference(text); ref) {
    if (ref->digest) {
      BERTH_TRY_ASSIGN(ids, metadata_->find_by_manifest(ref->digest->str()));
      for (const auto& id : ids) {
        BERTH_TRY_ASSIGN(img, metadata_->get_image(id));
        if (!img) continue;
        for (const auto& n : img->names) {
          auto nr = parse_reference(n);
          if (nr && nr->name() == ref->name()) return ImageMatch{std::move(*img), std::string()};
        }
      }
    }
    candidates.push_back(ref->str());
    if (ref->digest && !ref->tag.empty()) candidates.push_back(ref->name() + "@" + ref->digest->str());
  }
  if (is_short_name(text))
    if (auto local = parse_reference(fmt::format("localhost/{}", text)); local) candidates.push_back(local->str());
  for (const auto& name : candidates) {
    BERTH_TRY_ASSIGN(id, metadata_->resolve_name(name));
    if (id) return found(*id, name);
  }

  // An id or a unique prefix of one.
  if (is_hex(text) && text.size() <= 64) {
    BERTH_TRY_ASSIGN(ids, metadata_->find_ids(text));
    if (ids.size() == 1) return found(ids.front(), "");
    if (ids.size() > 1)
      return std::unexpected(Error(EINVAL, fmt::format("image id prefix \"{}\" is ambiguous: {} images match",
                                                       text, ids.size())));
  }
  if (candidates.empty() && !is_hex(text)) {
    // Neither a valid name nor an id: report why the name is invalid.
    BERTH_TRY(parse_reference(text));
  }
  return std::unexpected(Error(ENOENT, fmt::format("image \"{}\": no such image", text)));
}

Result<ImageRecord> Store::find_image(std::string_view text) {
  BERTH_TRY_ASSIGN(hit, resolve(text));
  return std::move(hit.image);
}

Result<std::string> Store::tag(std::string_view image, std::string_view new_name) {
  BERTH_TRY_ASSIGN(img, find_image(image));
  BERTH_TRY_ASSIGN(name, normalize_name(new_name));
  BERTH_TRY(metadata_->add_name(name, img.id));
  return name;
}

Result<RemoveResult> Store::remove_image(std::string_view text, bool force) {
  BERTH_TRY_ASSIGN(hit, resolve(text));
  auto& [img, name] = hit;
  RemoveResult out;
  if (!name.empty() && img.names.size() > 1) {
    BERTH_TRY(metadata_->remove_name(name));
    out.untagged.push_back(name);
    return out;
  }
  if (name.empty() && img.names.size() > 1 && !force)
    return std::unexpected(Error(EBUSY, fmt::format("unable to delete image {} by id with more than one name ({}): "
                                                    "remove the names or force removal",
                                                    img.id, fmt::join(img.names, ", "))));
  if (force) {
    // In use and forced: what a container runs on must stay, so the image
    // only loses its names (docker's rmi -f); it goes once nothing holds it.
    BERTH_TRY_ASSIGN(users, images_in_use());
    if (std::any_of(users.begin(), users.end(), [&](const auto& u) { return u.first == img.id; })) {
      for (const auto& n : img.names) BERTH_TRY(metadata_->remove_name(n));
      out.untagged = img.names;
      return out;
    }
  }
  BERTH_TRY(metadata_->remove_image(img.id, false, unix_now()));
  out.untagged = img.names;
  out.deleted = img.id;
  return out;
}

Result<> Store::record_snapshot(std::string_view chain_id, std::string_view parent, int64_t size) {
  return metadata_->put_snapshot({std::string(chain_id), std::string(parent), size, 0});
}

Result<std::vector<std::pair<std::string, std::string>>> Store::images_in_use() {
  BERTH_TRY_ASSIGN(leases, metadata_->live_leases(unix_now()));
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& l : leases)
    for (const auto& r : l.refs)
      if (r.type == LeaseResource::image) out.emplace_back(r.ref, l.kind);
  return out;
}

Result<std::vector<ImageSummary>> Store::list_images() {
  BERTH_TRY_ASSIGN(images, metadata_->list_images());
  BERTH_TRY_ASSIGN(snaps, metadata_->list_snapshots());
  BERTH_TRY_ASSIGN(in_use, images_in_use());
  std::map<std::string, int64_t, std::less<>> snap_size;
  for (const auto& s : snaps) snap_size[s.chain_id] = s.size;
  std::vector<ImageSummary> out;
  for (auto& img : images) {
    ImageSummary s;
    s.created = img.added;
    if (!img.created.empty())
      if (auto t = parse_rfc3339(img.created)) s.created = *t;
    for (const auto& l : img.layers) {
      auto it = snap_size.find(l.chain_id);
      s.unpacked_size += it != snap_size.end() ? it->second : 0;
    }
    for (const auto& [id, kind] : in_use)
      if (id == img.id) s.users.push_back(kind);
    // Labels live in the config blob only (a few hundred bytes per image).
    if (auto d = oci::parse_digest(img.id); d) {
      if (auto text = content_->read_blob(*d, 8 << 20); text) {
        if (auto config = oci::parse_image_config(*text); config) s.labels = std::move(config->config.labels);
        else log::debug("image {}: config: {}", img.id, config.error().what());
      }
    }
    s.record = std::move(img);
    out.push_back(std::move(s));
  }
  return out;
}

Result<UniqueFd> Store::lock_gc(bool exclusive) {
  BERTH_TRY_ASSIGN(fd, open_file(root_ + "/gc.lock", O_RDWR | O_CREAT, 0600));
  while (::flock(fd.get(), exclusive ? LOCK_EX : LOCK_SH) < 0) {
    if (errno != EINTR) return sys_error(errno, "lock \"{}/gc.lock\"", root_);
  }
  return fd;
}

namespace {

struct Reachable {
  std::set<std::string> blobs;
  std::set<std::string> snapshots;
  std::set<std::string> ingests;
};

// What images and live leases reach, from one consistent read: a writer
// records its image before dropping its lease, so nothing it stored falls
// between the two.
Result<Reachable> reachable(Metadata& md, int64_t now) {
  Reachable r;
  BERTH_TRY_ASSIGN(state, md.read_state(now));
  const auto& [images, leases, snaps] = state;
  for (const auto& img : images) {
    add_image_blobs(img, r.blobs);
    for (const auto& l : img.layers) r.snapshots.insert(l.chain_id);
  }
  for (const auto& l : leases) {
    for (const auto& ref : l.refs) {
      switch (ref.type) {
        case LeaseResource::content: r.blobs.insert(ref.ref); break;
        case LeaseResource::snapshot: r.snapshots.insert(ref.ref); break;
        case LeaseResource::ingest: r.ingests.insert(ref.ref); break;
        case LeaseResource::image: r.blobs.insert(ref.ref); break;  // its rows may be gone (forced rmi)
      }
    }
  }
  // A snapshot keeps its parents (the layers below it).
  std::map<std::string, std::string, std::less<>> parent;
  for (const auto& s : snaps) parent[s.chain_id] = s.parent;
  std::vector<std::string> todo(r.snapshots.begin(), r.snapshots.end());
  while (!todo.empty()) {
    auto it = parent.find(todo.back());
    todo.pop_back();
    if (it != parent.end() && !it->second.empty() && r.snapshots.insert(it->second).second)
      todo.push_back(it->second);
  }
  return r;
}

}  // namespace

Result<GcReport> Store::gc(const GcOptions& options) {
  BERTH_TRY_ASSIGN(lock, lock_gc());
  GcReport report;
  int64_t now = unix_now();
  if (!options.dry_run) {
    BERTH_TRY_ASSIGN(expired, metadata_->delete_expired_leases(now));
    report.expired_leases = expired;
  }
  BERTH_TRY_ASSIGN(keep, reachable(*metadata_, now));

  BERTH_TRY_ASSIGN(blobs, content_->list());
  for (const auto& b : blobs) {
    if (keep.blobs.contains(b.digest.str())) continue;
    if (!options.dry_run) BERTH_TRY(content_->remove(b.digest));
    report.blobs.push_back(b.digest.str());
    report.bytes += static_cast<uint64_t>(b.size);
  }

  BERTH_TRY_ASSIGN(records, metadata_->list_snapshots());
  std::map<std::string, int64_t, std::less<>> recorded;
  for (const auto& s : records) recorded[s.chain_id] = s.size;
  BERTH_TRY_ASSIGN(snaps, snapshots_->list());
  for (const auto& id : snaps) {
    std::string chain = id.str();
    if (keep.snapshots.contains(chain)) continue;
    if (!options.dry_run) {
      BERTH_TRY(snapshots_->remove(id));
      BERTH_TRY(metadata_->remove_snapshot(chain));
    }
    auto it = recorded.find(chain);
    report.bytes += it != recorded.end() ? static_cast<uint64_t>(it->second) : 0;
    report.snapshots.push_back(chain);
  }
  // What interrupted unpacks left (when none is running).
  if (!options.dry_run) BERTH_TRY(snapshots_->cleanup());
  // Records of snapshots whose directory is gone and nothing needs.
  for (const auto& s : records)
    if (!keep.snapshots.contains(s.chain_id) &&
        std::find(report.snapshots.begin(), report.snapshots.end(), s.chain_id) == report.snapshots.end() &&
        !options.dry_run)
      BERTH_TRY(metadata_->remove_snapshot(s.chain_id));

  // Partial downloads: a live lease names the ones in progress; a writer
  // holds the flock of its ingest's lock file while it writes.
  std::string ingest_dir = content_->dir() + "/ingest";
  BERTH_TRY_ASSIGN(ingests, list_dir(ingest_dir));
  for (const auto& name : ingests) {
    std::string path = ingest_dir + "/" + name;
    auto ref = read_file(path + "/ref");
    std::string key = ref ? *ref : name;
    if (keep.ingests.contains(key)) continue;
    if (std::max(mtime_of(path), mtime_of(path + "/data")) >= now - options.ingest_grace_seconds) continue;
    auto lock = open_file(path + "/lock", O_RDWR);
    if (lock && ::flock(lock->get(), LOCK_EX | LOCK_NB) != 0) continue;  // being written
    uint64_t bytes = tree_bytes(path);
    if (!options.dry_run) BERTH_TRY(remove_tree(path));
    report.ingests.push_back(key);
    report.bytes += bytes;
  }
  // Scratch directories of loads/saves/imports that died: a live one is
  // flocked by its owner (and one made this very second may not be yet).
  BERTH_TRY_ASSIGN(tmps, list_dir(tmp_dir()));
  for (const auto& name : tmps) {
    std::string path = tmp_dir() + "/" + name;
    if (mtime_of(path) >= now - options.ingest_grace_seconds) continue;
    auto lock = open_file(path, O_RDONLY | O_DIRECTORY);
    if (lock && ::flock(lock->get(), LOCK_EX | LOCK_NB) != 0) continue;
    if (!options.dry_run) BERTH_TRY(remove_tree(path));
  }
  return report;
}

Result<CheckReport> Store::check(bool repair) {
  BERTH_TRY_ASSIGN(lock, lock_gc());
  CheckReport report;
  auto problem = [&](std::string kind, std::string object, std::string detail) {
    report.problems.push_back({std::move(kind), std::move(object), std::move(detail), false});
    return &report.problems.back();
  };

  // The database file itself.
  {
    BERTH_TRY_ASSIGN(st, sql::Statement::prepare(metadata_->db(), "PRAGMA quick_check", "check database"));
    for (;;) {
      BERTH_TRY_ASSIGN(row, st.step());
      if (!row) break;
      if (st.text(0) != "ok") problem("database", metadata_->path(), st.text(0));
    }
  }

  // Every blob against its digest.
  std::set<std::string> bad_blobs;
  BERTH_TRY_ASSIGN(blobs, content_->list());
  for (const auto& b : blobs) {
    ++report.blobs_checked;
    if (auto v = content_->verify(b.digest); !v) {
      auto* p = problem("blob", b.digest.str(), v.error().what());
      bad_blobs.insert(b.digest.str());
      if (repair) {
        BERTH_TRY(content_->remove(b.digest));
        p->repaired = true;
      }
    }
  }
  std::set<std::string> present;
  for (const auto& b : blobs)
    if (!bad_blobs.contains(b.digest.str())) present.insert(b.digest.str());

  // Every snapshot record against its directory.
  std::set<std::string> bad_snaps;
  BERTH_TRY_ASSIGN(records, metadata_->list_snapshots());
  for (const auto& s : records) {
    ++report.snapshots_checked;
    BERTH_TRY_ASSIGN(id, oci::parse_digest(s.chain_id));
    if (snapshots_->has(id)) continue;
    auto* p = problem("snapshot", s.chain_id,
                      fmt::format("directory \"{}\" is missing", snapshots_->path(id).value_or(s.chain_id)));
    bad_snaps.insert(s.chain_id);
    if (repair) {
      BERTH_TRY(metadata_->remove_snapshot(s.chain_id));
      p->repaired = true;
    }
  }

  // Every image against the blobs and snapshots it needs.
  BERTH_TRY_ASSIGN(images, metadata_->list_images());
  for (const auto& img : images) {
    ++report.images_checked;
    std::vector<std::string> missing;
    for (const auto& d : {img.manifest_digest, img.id})
      if (!present.contains(d)) missing.push_back(fmt::format("blob {}", d));
    for (const auto& l : img.layers) {
      if (!l.digest.empty() && !present.contains(l.digest)) missing.push_back(fmt::format("layer blob {}", l.digest));
      auto id = oci::parse_digest(l.chain_id);
      if (!id || bad_snaps.contains(l.chain_id) || !snapshots_->has(*id))
        missing.push_back(fmt::format("snapshot {}", l.chain_id));
    }
    if (missing.empty()) continue;
    auto* p = problem("image", img.id,
                      fmt::format("{} missing or corrupt: {}", img.names.empty() ? "<none>" : img.names.front(),
                                  fmt::join(missing, ", ")));
    if (repair) {
      BERTH_TRY(metadata_->remove_image(img.id, true, unix_now()));
      report.images_removed.push_back(img.id);
      p->repaired = true;
    }
  }
  return report;
}

Result<DiskUsage> Store::disk_usage() {
  DiskUsage du;
  BERTH_TRY_ASSIGN(summaries, list_images());
  BERTH_TRY_ASSIGN(blobs, content_->list());
  BERTH_TRY_ASSIGN(records, metadata_->list_snapshots());
  std::map<std::string, uint64_t, std::less<>> blob_size, snap_size;
  for (const auto& b : blobs) {
    blob_size[b.digest.str()] = static_cast<uint64_t>(b.size);
    du.content_bytes += static_cast<uint64_t>(b.size);
  }
  du.blobs = blobs.size();
  for (const auto& s : records) {
    snap_size[s.chain_id] = static_cast<uint64_t>(s.size);
    du.snapshot_bytes += static_cast<uint64_t>(s.size);
  }
  du.snapshots = records.size();
  du.ingest_bytes = tree_bytes(content_->dir() + "/ingest");

  // Bytes reachable from a set of images, each blob/snapshot counted once.
  auto bytes_of = [&](bool active_only) {
    std::set<std::string> b, s;
    for (const auto& img : summaries) {
      if (active_only && img.users.empty()) continue;
      add_image_blobs(img.record, b);
      for (const auto& l : img.record.layers) s.insert(l.chain_id);
    }
    uint64_t total = 0;
    for (const auto& d : b)
      if (auto it = blob_size.find(d); it != blob_size.end()) total += it->second;
    for (const auto& c : s)
      if (auto it = snap_size.find(c); it != snap_size.end()) total += it->second;
    return total;
  };
  du.images.total = summaries.size();
  for (const auto& img : summaries) du.images.active += img.users.empty() ? 0 : 1;
  du.images.size = bytes_of(false);
  du.images.reclaimable = du.images.size - bytes_of(true);
  return du;
}

}  // namespace berth::image

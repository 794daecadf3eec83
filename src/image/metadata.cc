#include "image/metadata.h"

#include <cerrno>
#include <ctime>
#include <map>

namespace berth::image {

using sql::Statement;
using sql::Transaction;

int64_t unix_now() { return static_cast<int64_t>(std::time(nullptr)); }

std::string_view to_string(LeaseResource r) {
  switch (r) {
    case LeaseResource::content: return "content";
    case LeaseResource::snapshot: return "snapshot";
    case LeaseResource::image: return "image";
    case LeaseResource::ingest: return "ingest";
  }
  return "content";
}

namespace {

std::optional<LeaseResource> parse_resource(std::string_view s) {
  for (auto r : {LeaseResource::content, LeaseResource::snapshot, LeaseResource::image, LeaseResource::ingest})
    if (to_string(r) == s) return r;
  return std::nullopt;
}

// A busy timeout long enough for another process's pull to record an image
// or a gc to finish its metadata part (gc never holds a transaction across
// file deletion).
constexpr int kBusyTimeoutMs = 30000;

Result<> insert_name(sql::Db& db, std::string_view name, std::string_view id) {
  BERTH_TRY_ASSIGN(st, Statement::prepare(db,
                                          "INSERT INTO image_names (name, image_id) VALUES (?1, ?2) "
                                          "ON CONFLICT(name) DO UPDATE SET image_id = excluded.image_id",
                                          fmt::format("name image {} \"{}\"", id, name)));
  return st.bind(1, name).bind(2, id).run();
}

}  // namespace

Result<Metadata> Metadata::open(const std::string& path) {
  BERTH_TRY_ASSIGN(db, sql::Db::open(path, kBusyTimeoutMs));
  Metadata md(std::move(db));
  BERTH_TRY(md.migrate());
  return md;
}

Result<> Metadata::put_image(const ImageRecord& image) {
  if (image.id.empty() || image.manifest_digest.empty())
    return error("record image: id and manifest digest are required");
  std::string purpose = fmt::format("record image {}", image.id);
  BERTH_TRY_ASSIGN(tx, Transaction::begin(db_, Transaction::Kind::write, purpose));
  // Upsert rather than REPLACE: a REPLACE would delete the row and cascade
  // away the image's names.
  BERTH_TRY_ASSIGN(up, Statement::prepare(db_, R"sql(
INSERT INTO images (id, manifest_digest, manifest_media_type, index_digest, platform, created, added, size)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
ON CONFLICT(id) DO UPDATE SET manifest_digest = excluded.manifest_digest,
  manifest_media_type = excluded.manifest_media_type, index_digest = excluded.index_digest,
  platform = excluded.platform, created = excluded.created, size = excluded.size)sql",
                                          purpose));
  BERTH_TRY(up.bind(1, image.id)
                .bind(2, image.manifest_digest)
                .bind(3, image.manifest_media_type)
                .bind_text_or_null(4, image.index_digest)
                .bind(5, image.platform)
                .bind(6, image.created)
                .bind(7, image.added ? image.added : unix_now())
                .bind(8, image.size)
                .run());
  BERTH_TRY_ASSIGN(del, Statement::prepare(db_, "DELETE FROM image_layers WHERE image_id = ?1", purpose));
  BERTH_TRY(del.bind(1, image.id).run());
  for (size_t i = 0; i < image.layers.size(); ++i) {
    const auto& l = image.layers[i];
    BERTH_TRY_ASSIGN(ins, Statement::prepare(db_, R"sql(
INSERT INTO image_layers (image_id, position, chain_id, diff_id, digest, media_type, size)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7))sql",
                                             purpose));
    BERTH_TRY(ins.bind(1, image.id)
                  .bind(2, static_cast<int64_t>(i))
                  .bind(3, l.chain_id)
                  .bind(4, l.diff_id)
                  .bind(5, l.digest)
                  .bind(6, l.media_type)
                  .bind(7, l.size)
                  .run());
  }
  for (const auto& name : image.names) BERTH_TRY(insert_name(db_, name, image.id));
  return tx.commit();
}

Result<std::vector<ImageRecord>> Metadata::load_images(std::string_view where_id) {
  std::string purpose = where_id.empty() ? "list images" : fmt::format("read image {}", where_id);
  BERTH_TRY_ASSIGN(tx, Transaction::begin(db_, Transaction::Kind::read, purpose));
  std::string filter = where_id.empty() ? "" : " WHERE id = ?1";
  std::string layer_filter = where_id.empty() ? "" : " WHERE image_id = ?1";
  BERTH_TRY_ASSIGN(st, Statement::prepare(db_,
                                          "SELECT id, manifest_digest, manifest_media_type, index_digest, platform, "
                                          "created, added, size FROM images" + filter + " ORDER BY added DESC, id",
                                          purpose));
  if (!where_id.empty()) st.bind(1, where_id);
  std::vector<ImageRecord> out;
  std::map<std::string, size_t, std::less<>> by_id;
  for (;;) {
    BERTH_TRY_ASSIGN(row, st.step());
    if (!row) break;
    ImageRecord r;
    r.id = st.text(0);
    r.manifest_digest = st.text(1);
    r.manifest_media_type = st.text(2);
    r.index_digest = st.text(3);
    r.platform = st.text(4);
    r.created = st.text(5);
    r.added = st.integer(6);
    r.size = st.integer(7);
    by_id[r.id] = out.size();
    out.push_back(std::move(r));
  }
  BERTH_TRY_ASSIGN(layers, Statement::prepare(db_,
                                              "SELECT image_id, chain_id, diff_id, digest, media_type, size FROM "
                                              "image_layers" + layer_filter + " ORDER BY image_id, position",
                                              purpose));
  if (!where_id.empty()) layers.bind(1, where_id);
  for (;;) {
    BERTH_TRY_ASSIGN(row, layers.step());
    if (!row) break;
    auto it = by_id.find(layers.text(0));
    if (it == by_id.end()) continue;
    out[it->second].layers.push_back(
        {layers.text(1), layers.text(2), layers.text(3), layers.text(4), layers.integer(5)});
  }
  BERTH_TRY_ASSIGN(names, Statement::prepare(db_,
                                             "SELECT image_id, name FROM image_names" + layer_filter +
                                                 " ORDER BY image_id, name",
                                             purpose));
  if (!where_id.empty()) names.bind(1, where_id);
  for (;;) {
    BERTH_TRY_ASSIGN(row, names.step());
    if (!row) break;
    auto it = by_id.find(names.text(0));
    if (it != by_id.end()) out[it->second].names.push_back(names.text(1));
  }
  BERTH_TRY(tx.commit());
  return out;
}

Result<std::optional<ImageRecord>> Metadata::get_image(std::string_view id) {
  if (id.empty()) return std::optional<ImageRecord>{};
  BERTH_TRY_ASSIGN(all, load_images(id));
  if (all.empty()) return std::optional<ImageRecord>{};
  return std::optional<ImageRecord>(std::move(all.front()));
}

Result<std::vector<ImageRecord>> Metadata::list_images() { return load_images(""); }

Result<std::optional<std::string>> Metadata::resolve_name(std::string_view name) {
  BERTH_TRY_ASSIGN(st, Statement::prepare(db_, "SELECT image_id FROM image_names WHERE name = ?1",
                                          fmt::format("resolve image name \"{}\"", name)));
  BERTH_TRY_ASSIGN(row, st.bind(1, name).step());
  if (!row) return std::optional<std::string>{};
  return std::optional<std::string>(st.text(0));
}

Result<std::vector<std::string>> Metadata::find_ids(std::string_view hex_prefix) {
  // substr rather than LIKE: a prefix with % or _ must not act as a pattern.
  BERTH_TRY_ASSIGN(st, Statement::prepare(db_,
                                          "SELECT id FROM images WHERE substr(id, instr(id, ':') + 1, length(?1)) "
                                          "= ?1 ORDER BY id",
                                          fmt::format("find image id \"{}\"", hex_prefix)));
  st.bind(1, hex_prefix);
  std::vector<std::string> out;
  for (;;) {
    BERTH_TRY_ASSIGN(row, st.step());
    if (!row) break;
    out.push_back(st.text(0));
  }
  return out;
}

Result<std::vector<std::string>> Metadata::find_by_manifest(std::string_view digest) {
  BERTH_TRY_ASSIGN(st, Statement::prepare(db_,
                                          "SELECT id FROM images WHERE manifest_digest = ?1 OR index_digest = ?1 "
                                          "ORDER BY added DESC, id",
                                          fmt::format("find image by manifest {}", digest)));
  st.bind(1, digest);
  std::vector<std::string> out;
  for (;;) {
    BERTH_TRY_ASSIGN(row, st.step());
    if (!row) break;
    out.push_back(st.text(0));
  }
  return out;
}

Result<> Metadata::add_name(std::string_view name, std::string_view id) {
  std::string purpose = fmt::format("tag image {} as \"{}\"", id, name);
  BERTH_TRY_ASSIGN(tx, Transaction::begin(db_, Transaction::Kind::write, purpose));
  BERTH_TRY_ASSIGN(exists, Statement::prepare(db_, "SELECT 1 FROM images WHERE id = ?1", purpose));
  BERTH_TRY_ASSIGN(found, exists.bind(1, id).step());
  if (!found) return std::unexpected(Error(ENOENT, fmt::format("{}: no such image", purpose)));
  BERTH_TRY(insert_name(db_, name, id));
  return tx.commit();
}

Result<bool> Metadata::remove_name(std::string_view name) {
  BERTH_TRY_ASSIGN(st, Statement::prepare(db_, "DELETE FROM image_names WHERE name = ?1",
                                          fmt::format("untag \"{}\"", name)));
  BERTH_TRY(st.bind(1, name).run());
  return st.changes() > 0;
}

Result<> Metadata::remove_image(std::string_view id, bool force, int64_t now) {
  std::string purpose = fmt::format("remove image {}", id);
  BERTH_TRY_ASSIGN(tx, Transaction::begin(db_, Transaction::Kind::write, purpose));
  if (!force) {
    BERTH_TRY_ASSIGN(users, Statement::prepare(db_, R"sql(
SELECT l.id, l.kind FROM leases l JOIN lease_refs r ON r.lease_id = l.id
WHERE r.type = 'image' AND r.ref = ?1 AND (l.expires = 0 OR l.expires > ?2) ORDER BY l.created LIMIT 1)sql",
                                                 purpose));
    BERTH_TRY_ASSIGN(used, users.bind(1, id).bind(2, now).step());
    if (used)
      return std::unexpected(Error(EBUSY, fmt::format("image {} is in use by {} {}", id,
                                                      users.text(1), users.text(0))));
  }
  BERTH_TRY_ASSIGN(del, Statement::prepare(db_, "DELETE FROM images WHERE id = ?1", purpose));
  BERTH_TRY(del.bind(1, id).run());
  if (del.changes() == 0) return std::unexpected(Error(ENOENT, fmt::format("{}: no such image", purpose)));
  return tx.commit();
}

Result<> Metadata::put_snapshot(const SnapshotRecord& s) {
  BERTH_TRY_ASSIGN(st, Statement::prepare(db_, R"sql(
INSERT INTO snapshots (chain_id, parent, size, created) VALUES (?1, ?2, ?3, ?4)
ON CONFLICT(chain_id) DO UPDATE SET parent = excluded.parent, size = excluded.size)sql",
                                          fmt::format("record snapshot {}", s.chain_id)));
  return st.bind(1, s.chain_id)
      .bind_text_or_null(2, s.parent)
      .bind(3, s.size)
      .bind(4, s.created ? s.created : unix_now())
      .run();
}

Result<std::optional<SnapshotRecord>> Metadata::get_snapshot(std::string_view chain_id) {
  BERTH_TRY_ASSIGN(st, Statement::prepare(db_, "SELECT chain_id, parent, size, created FROM snapshots WHERE chain_id = ?1",
                                          fmt::format("read snapshot {}", chain_id)));
  BERTH_TRY_ASSIGN(row, st.bind(1, chain_id).step());
  if (!row) return std::optional<SnapshotRecord>{};
  return std::optional<SnapshotRecord>(SnapshotRecord{st.text(0), st.text(1), st.integer(2), st.integer(3)});
}

Result<std::vector<SnapshotRecord>> Metadata::list_snapshots() {
  BERTH_TRY_ASSIGN(st, Statement::prepare(db_, "SELECT chain_id, parent, size, created FROM snapshots ORDER BY chain_id",
                                          "list snapshots"));
  std::vector<SnapshotRecord> out;
  for (;;) {
    BERTH_TRY_ASSIGN(row, st.step());
    if (!row) break;
    out.push_back({st.text(0), st.text(1), st.integer(2), st.integer(3)});
  }
  return out;
}

Result<> Metadata::remove_snapshot(std::string_view chain_id) {
  BERTH_TRY_ASSIGN(st, Statement::prepare(db_, "DELETE FROM snapshots WHERE chain_id = ?1",
                                          fmt::format("remove snapshot {}", chain_id)));
  return st.bind(1, chain_id).run();
}

// Leases are written without an fsync of their own (sql::RelaxedSync): a
// power loss drops at most the last commits, in order. A lost new lease goes
// with everything recorded after it (the container that uses it, or the pull
// that stores under it: its image commit is synced, and so the lease before
// it). A lost deletion brings back a lease that holds what it held before,
// until it expires or its container is removed again; no file is deleted on
// the strength of a lease's absence before a synced commit (gc removes rows,
// FULL, then files). `berth run` so costs no fsync for its lease.
Result<LeaseRecord> Metadata::create_lease(std::string_view id, std::string_view kind, int64_t ttl_seconds,
                                           int64_t now) {
  sql::RelaxedSync relaxed(db_);
  LeaseRecord lease{std::string(id), std::string(kind), now, ttl_seconds > 0 ? now + ttl_seconds : 0, {}};
  BERTH_TRY_ASSIGN(st, Statement::prepare(db_, "INSERT INTO leases (id, kind, created, expires) VALUES (?1, ?2, ?3, ?4)",
                                          fmt::format("create lease \"{}\"", id)));
  BERTH_TRY(st.bind(1, lease.id).bind(2, lease.kind).bind(3, lease.created).bind(4, lease.expires).run());
  return lease;
}

Result<> Metadata::add_lease_ref(std::string_view lease_id, LeaseResource type, std::string_view ref) {
  std::string purpose = fmt::format("add {} {} to lease \"{}\"", to_string(type), ref, lease_id);
  BERTH_TRY_ASSIGN(st, Statement::prepare(db_,
                                          "INSERT INTO lease_refs (lease_id, type, ref) VALUES (?1, ?2, ?3) "
                                          "ON CONFLICT DO NOTHING",
                                          purpose));
  auto r = st.bind(1, lease_id).bind(2, to_string(type)).bind(3, ref).run();
  // The foreign key names no lease: say which.
  if (!r && r.error().message().find("FOREIGN KEY") != std::string::npos)
    return std::unexpected(Error(ENOENT, fmt::format("{}: no such lease", purpose)));
  return r;
}

Result<LeaseRecord> Metadata::create_lease_holding(std::string_view id, std::string_view kind, int64_t ttl_seconds,
                                                   int64_t now, LeaseResource type, std::string_view ref) {
  sql::RelaxedSync relaxed(db_);  // outlives tx: its commit is relaxed
  BERTH_TRY_ASSIGN(tx, Transaction::begin(db_, Transaction::Kind::write, fmt::format("create lease \"{}\"", id)));
  BERTH_TRY_ASSIGN(lease, create_lease(id, kind, ttl_seconds, now));
  BERTH_TRY(add_lease_ref(id, type, ref));
  BERTH_TRY(tx.commit());
  lease.refs.push_back({type, std::string(ref)});
  return lease;
}

Result<> Metadata::remove_lease_ref(std::string_view lease_id, LeaseResource type, std::string_view ref) {
  BERTH_TRY_ASSIGN(st, Statement::prepare(db_, "DELETE FROM lease_refs WHERE lease_id = ?1 AND type = ?2 AND ref = ?3",
                                          fmt::format("remove {} {} from lease \"{}\"", to_string(type), ref,
                                                      lease_id)));
  return st.bind(1, lease_id).bind(2, to_string(type)).bind(3, ref).run();
}

Result<> Metadata::delete_lease(std::string_view id) {
  sql::RelaxedSync relaxed(db_);
  BERTH_TRY_ASSIGN(st, Statement::prepare(db_, "DELETE FROM leases WHERE id = ?1",
                                          fmt::format("delete lease \"{}\"", id)));
  return st.bind(1, id).run();
}

Result<std::vector<LeaseRecord>> Metadata::live_leases(int64_t now) {
  BERTH_TRY_ASSIGN(tx, Transaction::begin(db_, Transaction::Kind::read, "list leases"));
  BERTH_TRY_ASSIGN(st, Statement::prepare(db_,
                                          "SELECT id, kind, created, expires FROM leases WHERE expires = 0 OR "
                                          "expires > ?1 ORDER BY created, id",
                                          "list leases"));
  st.bind(1, now);
  std::vector<LeaseRecord> out;
  std::map<std::string, size_t, std::less<>> by_id;
  for (;;) {
    BERTH_TRY_ASSIGN(row, st.step());
    if (!row) break;
    by_id[st.text(0)] = out.size();
    out.push_back({st.text(0), st.text(1), st.integer(2), st.integer(3), {}});
  }
  BERTH_TRY_ASSIGN(refs, Statement::prepare(db_, "SELECT lease_id, type, ref FROM lease_refs ORDER BY lease_id, type, ref",
                                            "list lease refs"));
  for (;;) {
    BERTH_TRY_ASSIGN(row, refs.step());
    if (!row) break;
    auto it = by_id.find(refs.text(0));
    auto type = parse_resource(refs.text(1));
    if (it == by_id.end() || !type) continue;
    out[it->second].refs.push_back({*type, refs.text(2)});
  }
  BERTH_TRY(tx.commit());
  return out;
}

Result<MetadataState> Metadata::read_state(int64_t now) {
  BERTH_TRY_ASSIGN(tx, Transaction::begin(db_, Transaction::Kind::read, "read store state"));
  MetadataState state;
  BERTH_TRY_ASSIGN(images, list_images());
  BERTH_TRY_ASSIGN(leases, live_leases(now));
  BERTH_TRY_ASSIGN(snapshots, list_snapshots());
  state.images = std::move(images);
  state.leases = std::move(leases);
  state.snapshots = std::move(snapshots);
  BERTH_TRY(tx.commit());
  return state;
}

Result<int> Metadata::delete_expired_leases(int64_t now) {
  BERTH_TRY_ASSIGN(st, Statement::prepare(db_, "DELETE FROM leases WHERE expires != 0 AND expires <= ?1",
                                          "delete expired leases"));
  BERTH_TRY(st.bind(1, now).run());
  return st.changes();
}

}  // namespace berth::image

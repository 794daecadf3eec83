// The schema of berth.db and its migrations. Migration i takes the schema
// from version i to i+1; they run in one write transaction at open, so a
// crash mid-migration leaves the old version. Never edit a released step:
// append a new one.
#include <array>
#include <string_view>

#include "image/metadata.h"

namespace berth::image {

namespace {

constexpr std::array<std::string_view, Metadata::kSchemaVersion> kMigrations = {
    // 0 -> 1: images, names, layers, snapshots, leases.
    R"sql(
CREATE TABLE images (
  id TEXT PRIMARY KEY,
  manifest_digest TEXT NOT NULL,
  manifest_media_type TEXT NOT NULL DEFAULT '',
  index_digest TEXT,
  platform TEXT NOT NULL DEFAULT '',
  created TEXT NOT NULL DEFAULT '',
  added INTEGER NOT NULL,
  size INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX images_manifest ON images(manifest_digest);
CREATE TABLE image_names (
  name TEXT PRIMARY KEY,
  image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE
);
CREATE INDEX image_names_image ON image_names(image_id);
CREATE TABLE image_layers (
  image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
  position INTEGER NOT NULL,
  chain_id TEXT NOT NULL,
  diff_id TEXT NOT NULL,
  digest TEXT NOT NULL,
  media_type TEXT NOT NULL DEFAULT '',
  size INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (image_id, position)
);
CREATE INDEX image_layers_chain ON image_layers(chain_id);
CREATE TABLE snapshots (
  chain_id TEXT PRIMARY KEY,
  parent TEXT,
  size INTEGER NOT NULL DEFAULT 0,
  created INTEGER NOT NULL
);
CREATE TABLE leases (
  id TEXT PRIMARY KEY,
  kind TEXT NOT NULL,
  created INTEGER NOT NULL,
  expires INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE lease_refs (
  lease_id TEXT NOT NULL REFERENCES leases(id) ON DELETE CASCADE,
  type TEXT NOT NULL,
  ref TEXT NOT NULL,
  PRIMARY KEY (lease_id, type, ref)
);
CREATE INDEX lease_refs_ref ON lease_refs(type, ref);
)sql",
};

}  // namespace

Result<> Metadata::migrate() {
  BERTH_TRY_ASSIGN(tx, sql::Transaction::begin(db_, sql::Transaction::Kind::write, "migrate schema"));
  BERTH_TRY(db_.exec("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)",
                     "create schema_version"));
  BERTH_TRY_ASSIGN(read, sql::Statement::prepare(db_, "SELECT version FROM schema_version", "read schema version"));
  int version = 0;
  bool have_row = false;
  BERTH_TRY_ASSIGN(row, read.step());
  if (row) {
    version = static_cast<int>(read.integer(0));
    have_row = true;
  }
  if (version > kSchemaVersion)
    return error("database \"{}\" has schema version {}, newer than this berth's {}", db_.path(), version,
                 kSchemaVersion);
  for (int v = version; v < kSchemaVersion; ++v)
    BERTH_TRY(db_.exec(kMigrations[static_cast<size_t>(v)], fmt::format("migrate schema to version {}", v + 1)));
  if (version != kSchemaVersion || !have_row) {
    BERTH_TRY_ASSIGN(write, sql::Statement::prepare(db_,
                                                    have_row ? "UPDATE schema_version SET version = ?1"
                                                             : "INSERT INTO schema_version (version) VALUES (?1)",
                                                    "record schema version"));
    BERTH_TRY(write.bind(1, int64_t{kSchemaVersion}).run());
  }
  return tx.commit();
}

Result<int> Metadata::schema_version() {
  BERTH_TRY_ASSIGN(st, sql::Statement::prepare(db_, "SELECT version FROM schema_version", "read schema version"));
  BERTH_TRY_ASSIGN(row, st.step());
  if (!row) return error("database \"{}\": no schema version", db_.path());
  return static_cast<int>(st.integer(0));
}

}  // namespace berth::image

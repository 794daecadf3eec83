// The engine's tables in berth.db and their migrations, versioned apart from
// the image layer's (engine_schema_version vs schema_version) so the two
// layers migrate independently. Migration i takes version i to i+1; never
// edit a released step, append one.
#include <unistd.h>

#include <array>
#include <filesystem>
#include <string_view>

#include "base/file.h"
#include "engine/engine_db_internal.h"

namespace berth::engine {

namespace {

using namespace db_internal;

constexpr std::array<std::string_view, 1> kMigrations = {
    // 0 -> 1: containers, pods, volumes (and which containers use them), networks.
    // Looked-up columns are columns; the rest of a record is JSON.
    R"sql(
CREATE TABLE containers (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  pod_id TEXT,
  state TEXT NOT NULL,
  created INTEGER NOT NULL DEFAULT 0,
  options TEXT NOT NULL,
  record TEXT NOT NULL
);
CREATE INDEX containers_pod ON containers(pod_id);
CREATE INDEX containers_state ON containers(state);
CREATE TABLE container_volumes (
  container_id TEXT NOT NULL REFERENCES containers(id) ON DELETE CASCADE,
  volume TEXT NOT NULL,
  PRIMARY KEY (container_id, volume)
);
CREATE INDEX container_volumes_volume ON container_volumes(volume);
CREATE TABLE pods (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  created INTEGER NOT NULL DEFAULT 0,
  record TEXT NOT NULL
);
CREATE TABLE volumes (
  name TEXT PRIMARY KEY,
  anonymous INTEGER NOT NULL DEFAULT 0,
  created INTEGER NOT NULL DEFAULT 0,
  record TEXT NOT NULL
);
CREATE TABLE networks (
  name TEXT PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  created INTEGER NOT NULL DEFAULT 0,
  record TEXT NOT NULL
);
)sql",
};
constexpr int kSchemaVersion = static_cast<int>(kMigrations.size());

// The recorded version; 0 when the engine tables were never made.
Result<int> read_version(Db& db) {
  BERTH_TRY_ASSIGN(st, Statement::prepare(db, "SELECT version FROM engine_schema_version", "read engine schema version"));
  BERTH_TRY_ASSIGN(row, st.step());
  return row ? static_cast<int>(st.integer(0)) : 0;
}

Result<> migrate(Db& db) {
  BERTH_TRY_ASSIGN(tx, Transaction::begin(db, Transaction::Kind::write, "migrate engine schema"));
  BERTH_TRY(db.exec("CREATE TABLE IF NOT EXISTS engine_schema_version (version INTEGER NOT NULL)",
                    "create engine_schema_version"));
  // Read again under the write lock: another berth may have migrated meanwhile.
  BERTH_TRY_ASSIGN(version, read_version(db));
  if (version > kSchemaVersion)
    return error("database \"{}\" has engine schema version {}, newer than this berth's {}", db.path(), version,
                 kSchemaVersion);
  if (version == kSchemaVersion) return tx.commit();
  for (int v = version; v < kSchemaVersion; ++v)
    BERTH_TRY(db.exec(kMigrations[static_cast<size_t>(v)], fmt::format("migrate engine schema to version {}", v + 1)));
  BERTH_TRY(db.exec("DELETE FROM engine_schema_version", "record engine schema version"));
  BERTH_TRY_ASSIGN(write, Statement::prepare(db, "INSERT INTO engine_schema_version (version) VALUES (?1)",
                                             "record engine schema version"));
  BERTH_TRY(write.bind(1, int64_t{kSchemaVersion}).run());
  return tx.commit();
}

// Long enough to outwait any other berth's write transaction (they are all
// short: no transaction spans a runtime call or file deletion).
constexpr int kBusyTimeoutMs = 60000;

}  // namespace

EngineDb::EngineDb(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
EngineDb::EngineDb(EngineDb&&) noexcept = default;
EngineDb& EngineDb::operator=(EngineDb&&) noexcept = default;
EngineDb::~EngineDb() = default;

Result<EngineDb> EngineDb::open(const std::string& path) {
  // A fresh --root: make its directory (SQLite makes only the file).
  if (::access(path.c_str(), F_OK) != 0) BERTH_TRY(mkdir_p(std::filesystem::path(path).parent_path().string(), 0700));
  BERTH_TRY_ASSIGN(db, Db::open(path, kBusyTimeoutMs));
  // In WAL mode NORMAL stays consistent after a crash (a power loss may drop
  // the last commits: containers whose processes died with it) and spares
  // `berth run` an fsync per write; the setting is this connection's only.
  BERTH_TRY(db.set_sync(Db::Sync::normal));
  // The common case costs one read: the schema is current. Only a missing
  // table or an older version takes the write lock.
  auto version = read_version(db);
  if (!version || *version != kSchemaVersion) BERTH_TRY(migrate(db));
  auto impl = std::make_unique<Impl>();
  impl->db = std::move(db);
  return EngineDb(std::move(impl));
}

}  // namespace berth::engine

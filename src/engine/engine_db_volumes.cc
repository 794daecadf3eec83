// Volumes in berth.db: the name (the key) as a column, the rest as JSON; the
// containers using one come from container_volumes.
#include <cerrno>

#include "engine/engine_db_internal.h"

namespace berth::engine {

namespace {

using namespace db_internal;

Result<VolumeRecord> read_row(const Statement& st) {
  VolumeRecord v;
  v.name = st.text(0);
  if (auto r = volume_from_json(st.text(1), v); !r) return std::unexpected(bad_row("volume", v.name, "record", r.error()));
  return v;
}

Result<std::vector<std::string>> users(Db& db, std::string_view name) {
  BERTH_TRY_ASSIGN(st, Statement::prepare(db,
                                          "SELECT v.container_id FROM container_volumes v JOIN containers c "
                                          "ON c.id = v.container_id WHERE v.volume = ?1 ORDER BY c.created, c.rowid",
                                          fmt::format("list users of volume \"{}\"", name)));
  st.bind(1, name);
  std::vector<std::string> out;
  for (;;) {
    BERTH_TRY_ASSIGN(row, st.step());
    if (!row) return out;
    out.push_back(st.text(0));
  }
}

Result<> remove(Db& db, std::string_view name, std::string_view purpose) {
  BERTH_TRY_ASSIGN(st, Statement::prepare(db, "DELETE FROM volumes WHERE name = ?1", purpose));
  BERTH_TRY(st.bind(1, name).run());
  if (st.changes() == 0) return std::unexpected(Error(ENOENT, fmt::format("no such volume: {}", name)));
  return {};
}

}  // namespace

Result<> EngineDb::add_volume(const VolumeRecord& v) {
  BERTH_TRY(check_name("volume", v.name));
  auto& db = impl_->db;
  std::string purpose = fmt::format("add volume \"{}\"", v.name);
  BERTH_TRY_ASSIGN(tx, Transaction::begin(db, Transaction::Kind::write, purpose));
  {
    BERTH_TRY_ASSIGN(st, Statement::prepare(db, "SELECT 1 FROM volumes WHERE name = ?1", purpose));
    BERTH_TRY_ASSIGN(row, st.bind(1, v.name).step());
    if (row) return std::unexpected(Error(EEXIST, fmt::format("volume with name \"{}\" already exists", v.name)));
  }
  BERTH_TRY_ASSIGN(st, Statement::prepare(db, "INSERT INTO volumes (name, anonymous, created, record) VALUES (?1, ?2, ?3, ?4)",
                                          purpose));
  BERTH_TRY(st.bind(1, v.name).bind(2, int64_t{v.anonymous}).bind(3, v.created_at).bind(4, volume_json(v)).run());
  return tx.commit();
}

Result<VolumeRecord> EngineDb::volume(std::string_view name) {
  BERTH_TRY_ASSIGN(st, Statement::prepare(impl_->db, "SELECT name, record FROM volumes WHERE name = ?1",
                                          fmt::format("read volume \"{}\"", name)));
  BERTH_TRY_ASSIGN(row, st.bind(1, name).step());
  if (!row) return std::unexpected(Error(ENOENT, fmt::format("no such volume: {}", name)));
  return read_row(st);
}

Result<std::vector<VolumeRecord>> EngineDb::volumes() {
  BERTH_TRY_ASSIGN(st, Statement::prepare(impl_->db, "SELECT name, record FROM volumes ORDER BY name", "list volumes"));
  std::vector<VolumeRecord> out;
  for (;;) {
    BERTH_TRY_ASSIGN(row, st.step());
    if (!row) return out;
    BERTH_TRY_ASSIGN(v, read_row(st));
    out.push_back(std::move(v));
  }
}

Result<> EngineDb::remove_volume(std::string_view name) {
  auto& db = impl_->db;
  std::string purpose = fmt::format("remove volume \"{}\"", name);
  BERTH_TRY_ASSIGN(tx, Transaction::begin(db, Transaction::Kind::write, purpose));
  BERTH_TRY(remove(db, name, purpose));
  return tx.commit();
}

Result<> EngineDb::remove_unused_volume(std::string_view name) {
  auto& db = impl_->db;
  std::string purpose = fmt::format("remove volume \"{}\"", name);
  BERTH_TRY_ASSIGN(tx, Transaction::begin(db, Transaction::Kind::write, purpose));
  BERTH_TRY_ASSIGN(ids, users(db, name));
  if (!ids.empty()) {
    std::string list;
    for (const auto& id : ids) list += (list.empty() ? "" : ", ") + id;
    return std::unexpected(Error(EBUSY, fmt::format("volume \"{}\" is being used by container(s): {}", name, list)));
  }
  BERTH_TRY(remove(db, name, purpose));
  return tx.commit();
}

Result<std::vector<std::string>> EngineDb::volume_users(std::string_view name) { return users(impl_->db, name); }

}  // namespace berth::engine

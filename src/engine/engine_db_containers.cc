// Containers in berth.db: id, name, pod and state as columns, the options
// (RunOptions JSON) and the rest of the record as JSON, and which volumes
// each one uses (container_volumes, for volume_users and volume rm).
#include <cerrno>
#include <set>

#include "engine/engine_db_internal.h"

namespace berth::engine {

namespace {

using namespace db_internal;

constexpr Table kContainers{"containers", "id", "container"};
constexpr std::string_view kColumns = "id, name, pod_id, state, options, record";

// A row of kColumns as a record; a malformed column names the container.
Result<ContainerRecord> read_row(const Statement& st) {
  ContainerRecord c;
  c.id = st.text(0);
  c.name = st.text(1);
  c.pod_id = st.text(2);
  auto state = state_from_name(st.text(3));
  if (!state) return std::unexpected(bad_row("container", c.id, "state", state.error()));
  c.state = *state;
  auto options = run_options_from_json(st.text(4));
  if (!options) return std::unexpected(bad_row("container", c.id, "options", options.error()));
  c.options = std::move(*options);
  if (auto r = container_from_json(st.text(5), c); !r) return std::unexpected(bad_row("container", c.id, "record", r.error()));
  return c;
}

Result<ContainerRecord> load(Db& db, std::string_view id) {
  BERTH_TRY_ASSIGN(st, Statement::prepare(db, fmt::format("SELECT {} FROM containers WHERE id = ?1", kColumns),
                                          fmt::format("read container {}", id)));
  BERTH_TRY_ASSIGN(row, st.bind(1, id).step());
  if (!row) return std::unexpected(Error(ENOENT, fmt::format("no such container: {}", id)));
  return read_row(st);
}

Result<std::vector<ContainerRecord>> load_all(Db& db, std::string_view where, std::string_view arg) {
  BERTH_TRY_ASSIGN(st, Statement::prepare(db,
                                          fmt::format("SELECT {} FROM containers {} ORDER BY created, rowid", kColumns, where),
                                          "list containers"));
  if (!where.empty()) st.bind(1, arg);
  std::vector<ContainerRecord> out;
  for (;;) {
    BERTH_TRY_ASSIGN(row, st.step());
    if (!row) return out;
    BERTH_TRY_ASSIGN(c, read_row(st));
    out.push_back(std::move(c));
  }
}

// EEXIST naming the holder when another container has `name`.
Result<> check_name_free(Db& db, std::string_view name, std::string_view self) {
  BERTH_TRY_ASSIGN(st, Statement::prepare(db, "SELECT id FROM containers WHERE name = ?1 AND id != ?2",
                                          fmt::format("check container name \"{}\"", name)));
  BERTH_TRY_ASSIGN(row, st.bind(1, name).bind(2, self).step());
  if (row)
    return std::unexpected(Error(EEXIST, fmt::format("the container name \"{}\" is already in use by {}", name, st.text(0))));
  return {};
}

// The volumes a container uses: those resolved at create and the named ones
// its options ask for (before create resolved them).
std::set<std::string> used_volumes(const ContainerRecord& c) {
  std::set<std::string> out;
  for (const auto& [dest, name] : c.volumes) out.insert(name);
  for (const auto& m : c.options.mounts)
    if (m.type == MountRequest::Type::volume && !m.source.empty()) out.insert(m.source);
  return out;
}

// Writes every column of `c` (insert or update) and its volume rows.
Result<> write(Db& db, const ContainerRecord& c, bool insert) {
  std::string purpose = fmt::format("record container {}", c.id);
  BERTH_TRY_ASSIGN(options, run_options_to_json(c.options));
  BERTH_TRY_ASSIGN(st, Statement::prepare(db,
                                          insert ? "INSERT INTO containers (id, name, pod_id, state, created, options, record) "
                                                   "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
                                                 : "UPDATE containers SET name = ?2, pod_id = ?3, state = ?4, created = ?5, "
                                                   "options = ?6, record = ?7 WHERE id = ?1",
                                          purpose));
  st.bind(1, c.id).bind(2, c.name).bind_text_or_null(3, c.pod_id).bind(4, std::string_view(state_name(c.state)));
  BERTH_TRY(st.bind(5, c.created_at).bind(6, options).bind(7, container_json(c)).run());
  if (!insert) {
    BERTH_TRY_ASSIGN(del, Statement::prepare(db, "DELETE FROM container_volumes WHERE container_id = ?1", purpose));
    BERTH_TRY(del.bind(1, c.id).run());
  }
  for (const auto& v : used_volumes(c)) {
    BERTH_TRY_ASSIGN(add, Statement::prepare(db, "INSERT INTO container_volumes (container_id, volume) VALUES (?1, ?2)",
                                             purpose));
    BERTH_TRY(add.bind(1, c.id).bind(2, v).run());
  }
  return {};
}

bool valid_id(std::string_view id) {
  if (id.size() != 64) return false;
  for (char c : id)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

}  // namespace

Result<> EngineDb::add_container(const ContainerRecord& c) {
  if (!valid_id(c.id)) return std::unexpected(Error(EINVAL, fmt::format("invalid container id \"{}\": 64 hex digits expected", c.id)));
  BERTH_TRY(check_name("container", c.name));
  auto& db = impl_->db;
  BERTH_TRY_ASSIGN(tx, Transaction::begin(db, Transaction::Kind::write, fmt::format("add container {}", c.id)));
  BERTH_TRY(check_name_free(db, c.name, c.id));
  {
    BERTH_TRY_ASSIGN(st, Statement::prepare(db, "SELECT 1 FROM containers WHERE id = ?1", "check container id"));
    BERTH_TRY_ASSIGN(row, st.bind(1, c.id).step());
    if (row) return std::unexpected(Error(EEXIST, fmt::format("container {} already exists", c.id)));
  }
  BERTH_TRY(write(db, c, true));
  return tx.commit();
}

Result<ContainerRecord> EngineDb::container(std::string_view id_or_name) {
  auto& db = impl_->db;
  BERTH_TRY_ASSIGN(tx, Transaction::begin(db, Transaction::Kind::read, "read container"));
  BERTH_TRY_ASSIGN(id, resolve(db, kContainers, id_or_name));
  return load(db, id);
}

Result<std::vector<ContainerRecord>> EngineDb::containers() { return load_all(impl_->db, "", ""); }

Result<std::vector<ContainerRecord>> EngineDb::pod_containers(std::string_view pod_id) {
  return load_all(impl_->db, "WHERE pod_id = ?1", pod_id);
}

Result<ContainerRecord> EngineDb::update_container(std::string_view id,
                                                   const std::function<Result<>(ContainerRecord&)>& change) {
  auto& db = impl_->db;
  BERTH_TRY_ASSIGN(tx, Transaction::begin(db, Transaction::Kind::write, fmt::format("update container {}", id)));
  BERTH_TRY_ASSIGN(key, resolve(db, kContainers, id));
  BERTH_TRY_ASSIGN(c, load(db, key));
  BERTH_TRY(change(c));
  if (c.id != key) return error("update container {}: the id cannot change (to \"{}\")", key, c.id);
  BERTH_TRY(check_name("container", c.name));
  BERTH_TRY(check_name_free(db, c.name, c.id));
  BERTH_TRY(write(db, c, false));
  BERTH_TRY(tx.commit());
  return c;
}

Result<> EngineDb::rename_container(std::string_view id, std::string_view new_name) {
  BERTH_TRY(check_name("container", new_name));
  BERTH_TRY(update_container(id, [&](ContainerRecord& c) -> Result<> {
    c.name = std::string(new_name);
    return {};
  }));
  return {};
}

Result<> EngineDb::remove_container(std::string_view id) {
  auto& db = impl_->db;
  BERTH_TRY_ASSIGN(tx, Transaction::begin(db, Transaction::Kind::write, fmt::format("remove container {}", id)));
  BERTH_TRY_ASSIGN(key, resolve(db, kContainers, id));
  BERTH_TRY_ASSIGN(st, Statement::prepare(db, "DELETE FROM containers WHERE id = ?1", fmt::format("remove container {}", key)));
  BERTH_TRY(st.bind(1, key).run());
  return tx.commit();
}

}  // namespace berth::engine

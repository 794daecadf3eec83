// Pods in berth.db: id and name as columns, the rest as JSON.
#include <cerrno>

#include "engine/engine_db_internal.h"

namespace berth::engine {

namespace {

using namespace db_internal;

constexpr Table kPods{"pods", "id", "pod"};

Result<PodRecord> read_row(const Statement& st) {
  PodRecord p;
  p.id = st.text(0);
  p.name = st.text(1);
  if (auto r = pod_from_json(st.text(2), p); !r) return std::unexpected(bad_row("pod", p.id, "record", r.error()));
  return p;
}

Result<PodRecord> load(Db& db, std::string_view id) {
  BERTH_TRY_ASSIGN(st, Statement::prepare(db, "SELECT id, name, record FROM pods WHERE id = ?1",
                                          fmt::format("read pod {}", id)));
  BERTH_TRY_ASSIGN(row, st.bind(1, id).step());
  if (!row) return std::unexpected(Error(ENOENT, fmt::format("no such pod: {}", id)));
  return read_row(st);
}

Result<> check_name_free(Db& db, std::string_view name, std::string_view self) {
  BERTH_TRY_ASSIGN(st, Statement::prepare(db, "SELECT id FROM pods WHERE name = ?1 AND id != ?2",
                                          fmt::format("check pod name \"{}\"", name)));
  BERTH_TRY_ASSIGN(row, st.bind(1, name).bind(2, self).step());
  if (row) return std::unexpected(Error(EEXIST, fmt::format("the pod name \"{}\" is already in use by {}", name, st.text(0))));
  return {};
}

}  // namespace

Result<> EngineDb::add_pod(const PodRecord& p) {
  if (p.id.empty()) return std::unexpected(Error(EINVAL, "add pod: the id is empty"));
  BERTH_TRY(check_name("pod", p.name));
  auto& db = impl_->db;
  std::string purpose = fmt::format("add pod {}", p.id);
  BERTH_TRY_ASSIGN(tx, Transaction::begin(db, Transaction::Kind::write, purpose));
  BERTH_TRY(check_name_free(db, p.name, p.id));
  {
    BERTH_TRY_ASSIGN(st, Statement::prepare(db, "SELECT 1 FROM pods WHERE id = ?1", purpose));
    BERTH_TRY_ASSIGN(row, st.bind(1, p.id).step());
    if (row) return std::unexpected(Error(EEXIST, fmt::format("pod {} already exists", p.id)));
  }
  BERTH_TRY_ASSIGN(st, Statement::prepare(db, "INSERT INTO pods (id, name, created, record) VALUES (?1, ?2, ?3, ?4)", purpose));
  BERTH_TRY(st.bind(1, p.id).bind(2, p.name).bind(3, p.created_at).bind(4, pod_json(p)).run());
  return tx.commit();
}

Result<PodRecord> EngineDb::pod(std::string_view id_or_name) {
  auto& db = impl_->db;
  BERTH_TRY_ASSIGN(tx, Transaction::begin(db, Transaction::Kind::read, "read pod"));
  BERTH_TRY_ASSIGN(id, resolve(db, kPods, id_or_name));
  return load(db, id);
}

Result<std::vector<PodRecord>> EngineDb::pods() {
  BERTH_TRY_ASSIGN(st, Statement::prepare(impl_->db, "SELECT id, name, record FROM pods ORDER BY created, rowid", "list pods"));
  std::vector<PodRecord> out;
  for (;;) {
    BERTH_TRY_ASSIGN(row, st.step());
    if (!row) return out;
    BERTH_TRY_ASSIGN(p, read_row(st));
    out.push_back(std::move(p));
  }
}

Result<PodRecord> EngineDb::update_pod(std::string_view id, const std::function<Result<>(PodRecord&)>& change) {
  auto& db = impl_->db;
  std::string purpose = fmt::format("update pod {}", id);
  BERTH_TRY_ASSIGN(tx, Transaction::begin(db, Transaction::Kind::write, purpose));
  BERTH_TRY_ASSIGN(key, resolve(db, kPods, id));
  BERTH_TRY_ASSIGN(p, load(db, key));
  BERTH_TRY(change(p));
  if (p.id != key) return error("update pod {}: the id cannot change (to \"{}\")", key, p.id);
  BERTH_TRY(check_name("pod", p.name));
  BERTH_TRY(check_name_free(db, p.name, p.id));
  BERTH_TRY_ASSIGN(st, Statement::prepare(db, "UPDATE pods SET name = ?2, created = ?3, record = ?4 WHERE id = ?1", purpose));
  BERTH_TRY(st.bind(1, p.id).bind(2, p.name).bind(3, p.created_at).bind(4, pod_json(p)).run());
  BERTH_TRY(tx.commit());
  return p;
}

Result<> EngineDb::remove_pod(std::string_view id) {
  auto& db = impl_->db;
  std::string purpose = fmt::format("remove pod {}", id);
  BERTH_TRY_ASSIGN(tx, Transaction::begin(db, Transaction::Kind::write, purpose));
  BERTH_TRY_ASSIGN(key, resolve(db, kPods, id));
  {
    BERTH_TRY_ASSIGN(st, Statement::prepare(db, "SELECT id FROM containers WHERE pod_id = ?1 ORDER BY created, rowid", purpose));
    st.bind(1, key);
    std::string ids;
    for (;;) {
      BERTH_TRY_ASSIGN(row, st.step());
      if (!row) break;
      ids += (ids.empty() ? "" : ", ") + st.text(0);
    }
    if (!ids.empty())
      return std::unexpected(Error(EBUSY, fmt::format("pod {} still has containers: {}", key, ids)));
  }
  BERTH_TRY_ASSIGN(st, Statement::prepare(db, "DELETE FROM pods WHERE id = ?1", purpose));
  BERTH_TRY(st.bind(1, key).run());
  return tx.commit();
}

}  // namespace berth::engine

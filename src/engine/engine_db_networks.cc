// Networks in berth.db: name (the key) and id as columns, the rest as JSON.
#include <cerrno>

#include "engine/engine_db_internal.h"

namespace berth::engine {

namespace {

using namespace db_internal;

constexpr Table kNetworks{"networks", "name", "network"};

Result<NetworkRecord> read_row(const Statement& st) {
  NetworkRecord n;
  n.name = st.text(0);
  n.id = st.text(1);
  if (auto r = network_from_json(st.text(2), n); !r) return std::unexpected(bad_row("network", n.name, "record", r.error()));
  return n;
}

}  // namespace

Result<> EngineDb::add_network(const NetworkRecord& n) {
  if (n.id.empty()) return std::unexpected(Error(EINVAL, fmt::format("add network \"{}\": the id is empty", n.name)));
  BERTH_TRY(check_name("network", n.name));
  auto& db = impl_->db;
  std::string purpose = fmt::format("add network \"{}\"", n.name);
  BERTH_TRY_ASSIGN(tx, Transaction::begin(db, Transaction::Kind::write, purpose));
  {
    BERTH_TRY_ASSIGN(st, Statement::prepare(db, "SELECT name, id FROM networks WHERE name = ?1 OR id = ?2", purpose));
    BERTH_TRY_ASSIGN(row, st.bind(1, n.name).bind(2, n.id).step());
    if (row)
      return std::unexpected(Error(EEXIST, st.text(0) == n.name
                                               ? fmt::format("network name \"{}\" is already used by {}", n.name, st.text(1))
                                               : fmt::format("network id {} is already used by \"{}\"", n.id, st.text(0))));
  }
  BERTH_TRY_ASSIGN(st, Statement::prepare(db, "INSERT INTO networks (name, id, created, record) VALUES (?1, ?2, ?3, ?4)",
                                          purpose));
  BERTH_TRY(st.bind(1, n.name).bind(2, n.id).bind(3, n.created_at).bind(4, network_json(n)).run());
  return tx.commit();
}

Result<NetworkRecord> EngineDb::network(std::string_view name_or_id) {
  auto& db = impl_->db;
  BERTH_TRY_ASSIGN(tx, Transaction::begin(db, Transaction::Kind::read, "read network"));
  BERTH_TRY_ASSIGN(name, resolve(db, kNetworks, name_or_id));
  BERTH_TRY_ASSIGN(st, Statement::prepare(db, "SELECT name, id, record FROM networks WHERE name = ?1",
                                          fmt::format("read network \"{}\"", name)));
  BERTH_TRY_ASSIGN(row, st.bind(1, name).step());
  if (!row) return std::unexpected(Error(ENOENT, fmt::format("no such network: {}", name_or_id)));
  return read_row(st);
}

Result<std::vector<NetworkRecord>> EngineDb::networks() {
  BERTH_TRY_ASSIGN(st, Statement::prepare(impl_->db, "SELECT name, id, record FROM networks ORDER BY name", "list networks"));
  std::vector<NetworkRecord> out;
  for (;;) {
    BERTH_TRY_ASSIGN(row, st.step());
    if (!row) return out;
    BERTH_TRY_ASSIGN(n, read_row(st));
    out.push_back(std::move(n));
  }
}

Result<> EngineDb::remove_network(std::string_view name) {
  auto& db = impl_->db;
  std::string purpose = fmt::format("remove network \"{}\"", name);
  BERTH_TRY_ASSIGN(tx, Transaction::begin(db, Transaction::Kind::write, purpose));
  BERTH_TRY_ASSIGN(key, resolve(db, kNetworks, name));
  BERTH_TRY_ASSIGN(st, Statement::prepare(db, "DELETE FROM networks WHERE name = ?1", purpose));
  BERTH_TRY(st.bind(1, key).run());
  return tx.commit();
}

}  // namespace berth::engine

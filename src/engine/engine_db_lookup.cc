// Lookups shared by the engine tables: a full id, a name, or a unique id
// prefix (docker's and podman's order), and the rule names follow.
#include <cerrno>

#include "engine/engine_db_internal.h"

namespace berth::engine {

const char* state_name(ContainerState s) {
  switch (s) {
    case ContainerState::created: return "created";
    case ContainerState::running: return "running";
    case ContainerState::paused: return "paused";
    case ContainerState::stopped: return "exited";
    case ContainerState::removing: return "removing";
  }
  return "unknown";
}

Result<ContainerState> state_from_name(std::string_view name) {
  for (auto s : {ContainerState::created, ContainerState::running, ContainerState::paused, ContainerState::stopped,
                 ContainerState::removing})
    if (name == state_name(s)) return s;
  return std::unexpected(Error(EINVAL, fmt::format("unknown container state \"{}\"", name)));
}

namespace db_internal {

namespace {

bool is_hex(std::string_view s) {
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return !s.empty();
}

}  // namespace

Result<std::string> resolve(Db& db, const Table& t, std::string_view wanted) {
  std::string purpose = fmt::format("look up {} \"{}\"", t.kind, wanted);
  {
    // An exact id first, then a name (a name may look like another's id prefix).
    BERTH_TRY_ASSIGN(st, Statement::prepare(db,
                                            fmt::format("SELECT {0} FROM {1} WHERE id = ?1 OR name = ?1 "
                                                        "ORDER BY id = ?1 DESC LIMIT 1",
                                                        t.key, t.table),
                                            purpose));
    BERTH_TRY_ASSIGN(row, st.bind(1, wanted).step());
    if (row) return st.text(0);
  }
  if (is_hex(wanted)) {
    // Hex digits hold no GLOB wildcards; a constant prefix uses the index.
    BERTH_TRY_ASSIGN(st, Statement::prepare(
                             db, fmt::format("SELECT {0}, id FROM {1} WHERE id GLOB ?1 || '*' LIMIT 2", t.key, t.table),
                             purpose));
    st.bind(1, wanted);
    BERTH_TRY_ASSIGN(first, st.step());
    if (first) {
      std::string key = st.text(0), id = st.text(1);
      BERTH_TRY_ASSIGN(second, st.step());
      if (second)
        return std::unexpected(Error(EINVAL, fmt::format("{} id prefix \"{}\" is ambiguous: it matches {}, {} and maybe more",
                                                         t.kind, wanted, id, st.text(1))));
      return key;
    }
  }
  return std::unexpected(Error(ENOENT, fmt::format("no such {}: {}", t.kind, wanted)));
}

Result<> check_name(std::string_view kind, std::string_view name) {
  auto ok_first = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  };
  bool ok = !name.empty() && ok_first(name[0]);
  for (size_t i = 1; ok && i < name.size(); ++i) ok = ok_first(name[i]) || name[i] == '_' || name[i] == '.' || name[i] == '-';
  if (!ok)
    return std::unexpected(Error(
        EINVAL, fmt::format("invalid {} name \"{}\": names must match [a-zA-Z0-9][a-zA-Z0-9_.-]*", kind, name)));
  return {};
}

}  // namespace db_internal
}  // namespace berth::engine

// What the engine_db*.cc files share: the connection, lookups by id, name or
// id prefix, name rules and the JSON of the records' non-indexed fields.
// Private to the engine library.
#pragma once

#include <string>
#include <string_view>

#include "base/error.h"
#include "engine/db.h"
#include "engine/records.h"
#include "image/metadata_db.h"

namespace berth::engine {

struct EngineDb::Impl {
  image::sql::Db db;
};

namespace db_internal {

using image::sql::Db;
using image::sql::Statement;
using image::sql::Transaction;

// One table's lookup columns: `key` is what rows are fetched by (the
// primary key), `id` and `name` what users may type (prefixes of `id` too).
struct Table {
  std::string_view table;  // "containers"
  std::string_view key;    // "id" ("name" for networks)
  std::string_view kind;   // "container": for messages
};

// The key of the row whose id or name is `wanted`, else of the only row
// whose id starts with it: ENOENT "no such <kind>: X", EINVAL when a prefix
// matches several.
Result<std::string> resolve(Db& db, const Table& t, std::string_view wanted);

// Names of containers, pods, volumes, networks: [a-zA-Z0-9][a-zA-Z0-9_.-]*
// (docker's and podman's rule); EINVAL otherwise.
Result<> check_name(std::string_view kind, std::string_view name);

// The JSON kept in a row's `record` column: every field that has no column
// of its own. The *_from_json functions fill those fields of `out`; errors
// name the field.
std::string container_json(const ContainerRecord& c);
Result<> container_from_json(std::string_view json, ContainerRecord& out);
std::string pod_json(const PodRecord& p);
Result<> pod_from_json(std::string_view json, PodRecord& out);
std::string volume_json(const VolumeRecord& v);
Result<> volume_from_json(std::string_view json, VolumeRecord& out);
std::string network_json(const NetworkRecord& n);
Result<> network_from_json(std::string_view json, NetworkRecord& out);

// "container <id>: column \"record\": <what>": a malformed stored row.
Error bad_row(std::string_view kind, std::string_view key, std::string_view column, const Error& why);

}  // namespace db_internal
}  // namespace berth::engine

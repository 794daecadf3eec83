// Thin RAII wrappers over SQLite: a connection, prepared statements and
// transactions. Errors carry SQLite's message and what the statement was for
// ("record image sha256:...: UNIQUE constraint failed: ...").
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/error.h"

struct sqlite3;
struct sqlite3_stmt;

namespace berth::image::sql {

class Db {
 public:
  Db() = default;
  Db(Db&& o) noexcept;
  Db& operator=(Db&& o) noexcept;
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;
  ~Db();

  // Opens (creating) the database file in WAL mode with a busy timeout, so
  // several processes can share it; writers serialise on BEGIN IMMEDIATE.
  // Commits are synchronous=FULL until set_sync says otherwise. The WAL file
  // stays when the connection closes (no checkpoint at close): the next
  // command appends to it instead of creating, syncing and deleting it again;
  // SQLite checkpoints it as it grows (every 1000 pages).
  static Result<Db> open(const std::string& path, int busy_timeout_ms);

  // FULL: a commit is on disk when it returns. NORMAL (WAL mode): no fsync
  // per commit; after a crash or power loss the database is still
  // consistent and holds a prefix of the commits (the last ones may be gone).
  enum class Sync { normal, full };
  Result<> set_sync(Sync level);
  Sync sync() const { return sync_; }

  // Runs one or more statements without results.
  Result<> exec(std::string_view sql, std::string_view purpose);
  sqlite3* get() const { return db_; }
  const std::string& path() const { return path_; }
  // The error of the last failed call, with `purpose` first.
  std::unexpected<Error> fail(std::string_view purpose) const;

 private:
  sqlite3* db_ = nullptr;
  std::string path_;
  Sync sync_ = Sync::full;
};

// While it lives, the connection's commits are synchronous=NORMAL (see
// Db::Sync): for writes whose loss at a power failure harms nothing. Made
// inside an open transaction it changes nothing, so that transaction's other
// writes keep the connection's durability.
class RelaxedSync {
 public:
  explicit RelaxedSync(Db& db);
  RelaxedSync(const RelaxedSync&) = delete;
  RelaxedSync& operator=(const RelaxedSync&) = delete;
  ~RelaxedSync();

 private:
  Db* restore_ = nullptr;
};

// A prepared statement; bind with 1-based indexes, then step() until it
// returns false (done) or an error.
class Statement {
 public:
  Statement(Statement&& o) noexcept;
  Statement& operator=(Statement&&) = delete;
  Statement(const Statement&) = delete;
  ~Statement();

  static Result<Statement> prepare(const Db& db, std::string_view sql, std::string_view purpose);

  Statement& bind(int index, std::string_view value);
  Statement& bind(int index, int64_t value);
  Statement& bind_null(int index);
  // Binds NULL for an empty string (optional text columns).
  Statement& bind_text_or_null(int index, std::string_view value);

  // True when a row is ready, false at the end.
  Result<bool> step();
  // Steps a statement that returns no rows.
  Result<> run();

  std::string text(int column) const;
  int64_t integer(int column) const;
  bool is_null(int column) const;
  // Rows changed by the last run() of this connection.
  int changes() const;

 private:
  Statement(const Db& db, sqlite3_stmt* stmt, std::string purpose);
  const Db* db_;
  sqlite3_stmt* stmt_;
  std::string purpose_;
  std::optional<Error> bind_error_;
};

// BEGIN IMMEDIATE (writes) or BEGIN (consistent reads) at construction;
// ROLLBACK at destruction unless commit() succeeded. Begun inside another
// transaction of the connection, it joins that one (commit and rollback are
// the outer one's).
class Transaction {
 public:
  enum class Kind { read, write };
  static Result<Transaction> begin(Db& db, Kind kind, std::string_view purpose);
  Transaction(Transaction&& o) noexcept;
  Transaction& operator=(Transaction&&) = delete;
  Transaction(const Transaction&) = delete;
  ~Transaction();
  Result<> commit();

 private:
  Transaction(Db& db, std::string purpose) : db_(&db), purpose_(std::move(purpose)) {}
  Db* db_;
  std::string purpose_;
  bool open_ = true;
};

}  // namespace berth::image::sql

#include "image/metadata_db.h"

#include <sqlite3.h>

#include <unistd.h>

#include <cerrno>
#include <utility>

namespace berth::image::sql {

Db::Db(Db&& o) noexcept : db_(std::exchange(o.db_, nullptr)), path_(std::move(o.path_)), sync_(o.sync_) {}

Db& Db::operator=(Db&& o) noexcept {
  if (this != &o) {
    if (db_) sqlite3_close_v2(db_);
    db_ = std::exchange(o.db_, nullptr);
    path_ = std::move(o.path_);
    sync_ = o.sync_;
  }
  return *this;
}

Db::~Db() {
  if (db_) sqlite3_close_v2(db_);
}

std::unexpected<Error> Db::fail(std::string_view purpose) const {
  int code = db_ ? sqlite3_extended_errcode(db_) : SQLITE_CANTOPEN;
  // Busy and locked map to EBUSY so callers can tell contention from breakage.
  int err = (code & 0xff) == SQLITE_BUSY || (code & 0xff) == SQLITE_LOCKED ? EBUSY : 0;
  return std::unexpected(Error(err, fmt::format("{}: database \"{}\": {}", purpose, path_,
                                                db_ ? sqlite3_errmsg(db_) : "out of memory")));
}

Result<Db> Db::open(const std::string& path, int busy_timeout_ms) {
  Db db;
  db.path_ = path;
  int rc = sqlite3_open_v2(path.c_str(), &db.db_,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) return db.fail("open");
  sqlite3_extended_result_codes(db.db_, 1);
  sqlite3_busy_timeout(db.db_, busy_timeout_ms);
  // A checkpoint at close (and the WAL's deletion with the last connection)
  // cost every command two fsyncs and a directory sync, and its first write
  // a new WAL's header and directory syncs.
  sqlite3_db_config(db.db_, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, nullptr);
  // WAL: readers never block the writer; FULL: a committed transaction
  // survives power loss too; foreign keys cascade deletions of rows.
  // Switching a fresh file to WAL takes an exclusive lock, and SQLite answers
  // a process racing for it with SQLITE_BUSY at once, without its busy
  // handler: retry that within the same time budget.
  for (int waited_ms = 0;; waited_ms += 5) {
    auto r = db.exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;", "configure");
    if (r) break;
    if (r.error().code() != EBUSY || waited_ms >= busy_timeout_ms) return std::unexpected(std::move(r).error());
    ::usleep(5000);
  }
  return db;
}

Result<> Db::set_sync(Sync level) {
  if (level == sync_) return {};
  BERTH_TRY(exec(level == Sync::full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL", "set synchronous"));
  sync_ = level;
  return {};
}

RelaxedSync::RelaxedSync(Db& db) {
  if (db.sync() == Db::Sync::normal || !sqlite3_get_autocommit(db.get())) return;
  if (db.set_sync(Db::Sync::normal)) restore_ = &db;
}

RelaxedSync::~RelaxedSync() {
  if (restore_) (void)restore_->set_sync(Db::Sync::full);
}

Result<> Db::exec(std::string_view sql, std::string_view purpose) {
  std::string s(sql);
  char* msg = nullptr;
  int rc = sqlite3_exec(db_, s.c_str(), nullptr, nullptr, &msg);
  if (rc != SQLITE_OK) {
    std::string m = msg ? msg : sqlite3_errstr(rc);
    sqlite3_free(msg);
    int err = (rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED ? EBUSY : 0;
    return std::unexpected(Error(err, fmt::format("{}: database \"{}\": {}", purpose, path_, m)));
  }
  return {};
}

Statement::Statement(const Db& db, sqlite3_stmt* stmt, std::string purpose)
    : db_(&db), stmt_(stmt), purpose_(std::move(purpose)) {}

Statement::Statement(Statement&& o) noexcept
    : db_(o.db_), stmt_(std::exchange(o.stmt_, nullptr)), purpose_(std::move(o.purpose_)),
      bind_error_(std::move(o.bind_error_)) {}

Statement::~Statement() {
  if (stmt_) sqlite3_finalize(stmt_);
}

Result<Statement> Statement::prepare(const Db& db, std::string_view sql, std::string_view purpose) {
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v2(db.get(), sql.data(), static_cast<int>(sql.size()), &stmt, nullptr);
  if (rc != SQLITE_OK) return db.fail(purpose);
  return Statement(db, stmt, std::string(purpose));
}

Statement& Statement::bind(int index, std::string_view value) {
  if (sqlite3_bind_text(stmt_, index, value.data(), static_cast<int>(value.size()), SQLITE_TRANSIENT) !=
          SQLITE_OK &&
      !bind_error_)
    bind_error_ = db_->fail(purpose_).error();
  return *this;
}

Statement& Statement::bind(int index, int64_t value) {
  if (sqlite3_bind_int64(stmt_, index, value) != SQLITE_OK && !bind_error_)
    bind_error_ = db_->fail(purpose_).error();
  return *this;
}

Statement& Statement::bind_null(int index) {
  if (sqlite3_bind_null(stmt_, index) != SQLITE_OK && !bind_error_) bind_error_ = db_->fail(purpose_).error();
  return *this;
}

Statement& Statement::bind_text_or_null(int index, std::string_view value) {
  return value.empty() ? bind_null(index) : bind(index, value);
}

Result<bool> Statement::step() {
  if (bind_error_) return std::unexpected(*bind_error_);
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  auto err = db_->fail(purpose_);
  sqlite3_reset(stmt_);
  return err;
}

Result<> Statement::run() {
  for (;;) {
    BERTH_TRY_ASSIGN(row, step());
    if (!row) return {};
  }
}

std::string Statement::text(int column) const {
  auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, column));
  if (!p) return {};
  return std::string(p, static_cast<size_t>(sqlite3_column_bytes(stmt_, column)));
}

int64_t Statement::integer(int column) const { return sqlite3_column_int64(stmt_, column); }

bool Statement::is_null(int column) const { return sqlite3_column_type(stmt_, column) == SQLITE_NULL; }

int Statement::changes() const { return sqlite3_changes(db_->get()); }

Result<Transaction> Transaction::begin(Db& db, Kind kind, std::string_view purpose) {
  // IMMEDIATE takes the write lock up front (waiting up to the busy timeout),
  // so a writer never fails half-way on a lock upgrade.
  if (!sqlite3_get_autocommit(db.get())) {
    Transaction joined(db, std::string(purpose));
    joined.open_ = false;
    return joined;
  }
  BERTH_TRY(db.exec(kind == Kind::write ? "BEGIN IMMEDIATE" : "BEGIN", purpose));
  return Transaction(db, std::string(purpose));
}

Transaction::Transaction(Transaction&& o) noexcept
    : db_(o.db_), purpose_(std::move(o.purpose_)), open_(std::exchange(o.open_, false)) {}

Transaction::~Transaction() {
  if (open_) (void)db_->exec("ROLLBACK", purpose_);
}

Result<> Transaction::commit() {
  if (!open_) return {};  // joined an outer transaction
  BERTH_TRY(db_->exec("COMMIT", purpose_));
  open_ = false;
  return {};
}

}  // namespace berth::image::sql

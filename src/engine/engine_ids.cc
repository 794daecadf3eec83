// Ids, generated names and the per-object lifecycle lock.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/random.h>

#include <array>
#include <cerrno>
#include <cstdint>
#include <filesystem>
#include <string_view>

#include "engine/db.h"

namespace berth::engine {

namespace {

void random_bytes(void* buf, size_t n) {
  auto* p = static_cast<unsigned char*>(buf);
  while (n > 0) {
    ssize_t got = ::getrandom(p, n, 0);
    if (got < 0) {
      if (errno == EINTR) continue;
      std::abort();  // getrandom cannot fail on a buffer this small once the pool is ready
    }
    p += got;
    n -= static_cast<size_t>(got);
  }
}

// Berth's own word lists for generated names (adjective_noun, as docker's).
constexpr std::array<std::string_view, 50> kAdjectives = {
    "amber",   "bold",    "brave",   "brisk",   "calm",    "clever",  "cosmic",  "crisp",   "daring",  "eager",
    "early",   "fancy",   "fervent", "gentle",  "gifted",  "golden",  "happy",   "hardy",   "hidden",  "humble",
    "jolly",   "keen",    "kind",    "lively",  "lucid",   "lucky",   "mellow",  "merry",   "misty",   "modest",
    "nimble",  "noble",   "patient", "placid",  "plucky",  "proud",   "quiet",   "rapid",   "serene",  "sharp",
    "silent",  "snowy",   "steady",  "sunny",   "swift",   "tender",  "tidy",    "vivid",   "wise",    "witty"};
constexpr std::array<std::string_view, 50> kNouns = {
    "anchor",  "badger",  "beacon",  "birch",   "bison",   "breeze",  "canyon",  "cedar",   "comet",   "coral",
    "crane",   "delta",   "dune",    "ember",   "falcon",  "fern",    "fjord",   "glacier", "harbor",  "heron",
    "island",  "juniper", "kestrel", "lagoon",  "lantern", "maple",   "meadow",  "mesa",    "nebula",  "orca",
    "otter",   "pebble",  "pelican", "pine",    "quarry",  "raven",   "reef",    "ridge",   "river",   "saffron",
    "sparrow", "spruce",  "summit",  "tide",    "tundra",  "valley",  "walrus",  "willow",  "wren",    "zephyr"};

}  // namespace

std::string new_id() {
  std::array<unsigned char, 32> bytes;
  random_bytes(bytes.data(), bytes.size());
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(64);
  for (unsigned char b : bytes) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 0xf]);
  }
  return out;
}

std::string new_name() {
  uint32_t r[2];
  random_bytes(r, sizeof r);
  return std::string(kAdjectives[r[0] % kAdjectives.size()]) + "_" + std::string(kNouns[r[1] % kNouns.size()]);
}

Result<std::string> unique_name(EngineDb& db) {
  // 2,500 combinations; past a few collisions, a numeric suffix keeps it unique.
  for (int attempt = 0; attempt < 64; ++attempt) {
    std::string name = new_name();
    if (attempt >= 8) name += "_" + new_id().substr(0, 4);
    auto found = db.container(name);
    if (!found && found.error().code() == ENOENT) return name;
    if (!found) return std::unexpected(std::move(found).error());
  }
  return error("no free container name after 64 attempts");
}

Result<UniqueFd> lock_object(const std::string& lock_path) {
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(lock_path).parent_path(), ec);
  if (ec) return sys_error(ec.value(), "create the directory of lock \"{}\"", lock_path);
  UniqueFd fd(::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!fd) return sys_error(errno, "open lock \"{}\"", lock_path);
  while (::flock(fd.get(), LOCK_EX) != 0)
    if (errno != EINTR) return sys_error(errno, "lock \"{}\"", lock_path);
  return fd;
}

}  // namespace berth::engine

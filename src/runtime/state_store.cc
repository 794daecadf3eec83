#include "runtime/state_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <nlohmann/json.hpp>

#include "base/file.h"
#include "oci/config.h"

namespace berth::runtime {

using nlohmann::json;

Result<> validate_id(const std::string& id) {
  if (id.empty()) return error("container id must not be empty");
  if (id == "." || id == "..") return error("invalid container id \"{}\"", id);
  if (id.size() > 1024) return error("container id is longer than 1024 characters");
  for (char c : id) {
    if (!(isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '+' || c == '-' || c == '.'))
      return error("invalid container id \"{}\": only letters, digits, '_', '+', '-' and '.' are allowed", id);
  }
  return {};
}

Result<> StateStore::create_dir(const std::string& id) const {
  if (::mkdir(root_.c_str(), 0700) < 0 && errno != EEXIST) {
    BERTH_TRY(mkdir_p(root_, 0700));
  }
  std::string d = dir(id);
  if (::mkdir(d.c_str(), 0700) < 0) {
    if (errno == EEXIST) return sys_error(EEXIST, "container \"{}\"", id);
    return sys_error(errno, "mkdir \"{}\"", d);
  }
  return {};
}

Result<> StateStore::save(const ContainerRecord& r) const {
  json j = {{"version", kStateVersion},
            {"id", r.id},
            {"pid", r.pid},
            {"pid_start_time", r.pid_start_time},
            {"bundle", r.bundle},
            {"rootfs", r.rootfs},
            {"created", r.created},
            {"owner", r.owner},
            {"annotations", r.annotations},
            {"cgroup_paths", r.cgroup_paths}};
  if (r.resources) j["resources"] = json::parse(oci::resources_to_json(*r.resources));
  // Container state dies with the containers at reboot: atomic, not durable.
  return write_file_atomic(dir(r.id) + "/state.json", j.dump(), 0600, Durability::volatile_);
}

Result<ContainerRecord> StateStore::load(const std::string& id) const {
  BERTH_TRY(validate_id(id));
  std::string path = dir(id) + "/state.json";
  auto text = read_file(path);
  if (!text) {
    if (text.error().code() == ENOENT) return sys_error(ENOENT, "container \"{}\" does not exist", id);
    return std::unexpected(text.error());
  }
  json j = json::parse(*text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return error("parse \"{}\": invalid JSON", path);
  if (j.value("version", 0) != kStateVersion)
    return error("\"{}\": unsupported state version {}", path, j.value("version", 0));
  ContainerRecord r;
  try {
    r.id = j.at("id").get<std::string>();
    r.pid = j.at("pid").get<pid_t>();
    r.pid_start_time = j.at("pid_start_time").get<uint64_t>();
    r.bundle = j.at("bundle").get<std::string>();
    r.rootfs = j.at("rootfs").get<std::string>();
    r.created = j.at("created").get<std::string>();
    r.owner = j.at("owner").get<uid_t>();
    r.annotations = j.at("annotations").get<std::map<std::string, std::string>>();
    r.cgroup_paths = j.at("cgroup_paths").get<std::map<std::string, std::string>>();
  } catch (const json::exception& e) {
    return error("parse \"{}\": {}", path, e.what());
  }
  if (auto it = j.find("resources"); it != j.end()) {
    auto res = oci::parse_resources(it->dump());
    if (!res) return std::unexpected(std::move(res.error()).context(fmt::format("\"{}\"", path)));
    r.resources = std::move(*res);
  }
  return r;
}

Result<std::vector<std::string>> StateStore::list_ids() const {
  std::vector<std::string> ids;
  DIR* d = ::opendir(root_.c_str());
  if (!d) {
    if (errno == ENOENT) return ids;
    return sys_error(errno, "open \"{}\"", root_);
  }
  while (struct dirent* e = ::readdir(d)) {
    if (e->d_name[0] == '.') continue;
    std::string state = root_ + "/" + e->d_name + "/state.json";
    if (::access(state.c_str(), F_OK) == 0) ids.emplace_back(e->d_name);
  }
  ::closedir(d);
  std::sort(ids.begin(), ids.end());
  return ids;
}

Result<> StateStore::remove(const std::string& id) const {
  std::string d = dir(id);
  // exec.fifo is gone once started, state.json.tmp only left by a crash: they
  // are looked for only when the directory is not empty without them.
  for (const char* f : {"state.json", "config.json"}) ::unlink((d + "/" + f).c_str());
  if (::rmdir(d.c_str()) == 0 || errno == ENOENT) return {};
  if (errno != ENOTEMPTY && errno != EEXIST) return sys_error(errno, "remove \"{}\"", d);
  for (const char* f : {"exec.fifo", "state.json.tmp"}) ::unlink((d + "/" + f).c_str());
  if (::rmdir(d.c_str()) < 0 && errno != ENOENT) return sys_error(errno, "remove \"{}\"", d);
  return {};
}

Result<UniqueFd> StateStore::lock(const std::string& id) const {
  // flock on the directory itself: no lock file to create and delete.
  auto fd = open_file(dir(id), O_RDONLY | O_DIRECTORY);
  if (!fd) {
    if (fd.error().code() == ENOENT) return sys_error(ENOENT, "container \"{}\" does not exist", id);
    return std::unexpected(std::move(fd).error());
  }
  while (::flock(fd->get(), LOCK_EX) < 0) {
    if (errno != EINTR) return sys_error(errno, "lock container \"{}\"", id);
  }
  return std::move(*fd);
}

uint64_t process_start_time(pid_t pid) {
  if (pid <= 0) return 0;
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  char buf[1024];
  ssize_t n = ::read(fd, buf, sizeof buf - 1);
  ::close(fd);
  if (n <= 0) return 0;
  buf[n] = '\0';
  // comm may contain spaces and parentheses: fields start after the last ')'.
  char* p = strrchr(buf, ')');
  if (!p) return 0;
  char state = 0;
  unsigned long long start = 0;
  // state is field 3, starttime field 22.
  if (sscanf(p + 2, "%c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu",
             &state, &start) != 2)
    return 0;
  if (state == 'Z' || state == 'X') return 0;
  return start;
}

Result<UniqueFd> open_init_pidfd(const ContainerRecord& rec) {
  int fd = static_cast<int>(::syscall(SYS_pidfd_open, rec.pid, 0));
  if (fd < 0) {
    if (errno == ESRCH) return sys_error(ESRCH, "container \"{}\" is not running", rec.id);
    return sys_error(errno, "pidfd_open {}", rec.pid);
  }
  UniqueFd pidfd(fd);
  // The pid may have been reused between reading the state and opening it.
  if (process_start_time(rec.pid) != rec.pid_start_time) return sys_error(ESRCH, "container \"{}\" is not running", rec.id);
  return pidfd;
}

oci::Status container_status(const StateStore& store, const ContainerRecord& rec) {
  if (rec.pid <= 0 || process_start_time(rec.pid) != rec.pid_start_time) return oci::Status::stopped;
  if (::access(store.fifo_path(rec.id).c_str(), F_OK) == 0) return oci::Status::created;
  return oci::Status::running;
}

namespace {

oci::State to_oci_state(const ContainerRecord& rec, oci::Status status) {
  oci::State st;
  st.id = rec.id;
  st.status = status;
  st.pid = status == oci::Status::stopped ? 0 : rec.pid;
  st.bundle = rec.bundle;
  st.annotations = rec.annotations;
  return st;
}

}  // namespace

std::string hook_state_json(const ContainerRecord& rec, oci::Status status) {
  return oci::state_to_json(to_oci_state(rec, status));
}

std::string state_json(const ContainerRecord& rec, oci::Status status, bool pretty) {
  return oci::runtime_state_to_json(to_oci_state(rec, status), {rec.rootfs, rec.created, ""}, pretty);
}

std::string rfc3339_now() {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return oci::rfc3339_nano(ts);
}

}  // namespace berth::runtime

#include <cstdio>

#include "base/file.h"

#include <nlohmann/json.hpp>

#include "commands.h"
#include "oci/state.h"

namespace berth::tool {
namespace {

// The user name of `uid` from /etc/passwd (no NSS in a static binary).
std::string user_name(uid_t uid) {
  auto passwd = read_file("/etc/passwd");
  std::string id = std::to_string(uid);
  size_t pos = 0;
  while (passwd && pos < passwd->size()) {
    size_t end = passwd->find('\n', pos);
    if (end == std::string::npos) end = passwd->size();
    std::string_view line(passwd->data() + pos, end - pos);
    pos = end + 1;
    // name:password:uid:...
    size_t a = line.find(':'), b = line.find(':', a + 1), c = line.find(':', b + 1);
    if (c == std::string_view::npos) continue;
    if (line.substr(b + 1, c - b - 1) == id) return std::string(line.substr(0, a));
  }
  return id;
}

}  // namespace

void add_list(CLI::App& app, Globals& g) {
  auto* cmd = app.add_subcommand("list", "list the containers of this root");
  cmd->alias("ls");
  auto format = std::make_shared<std::string>("table");
  auto quiet = std::make_shared<bool>(false);
  cmd->add_option("-f,--format", *format, "table or json")->check(CLI::IsMember({"table", "json"}));
  cmd->add_flag("-q,--quiet", *quiet, "print only the ids");
  cmd->callback([&g, format, quiet]() {
    auto list = runtime::Runtime(g.root).list();
    if (!list) {
      g.exit_code = report(list.error());
      return;
    }
    if (*quiet) {
      for (const auto& c : *list) std::printf("%s\n", c.record.id.c_str());
      return;
    }
    if (*format == "json") {
      auto arr = nlohmann::json::array();
      for (const auto& c : *list) {
        auto obj = nlohmann::json::parse(runtime::state_json(c.record, c.status, false));
        obj["owner"] = user_name(c.record.owner);  // runc names the owner in list, not in state
        arr.push_back(std::move(obj));
      }
      std::printf("%s\n", arr.dump().c_str());
      return;
    }
    std::printf("%-12s %-8s %-10s %-40s %-31s %s\n", "ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER");
    for (const auto& c : *list) {
      int pid = c.status == oci::Status::stopped ? 0 : c.record.pid;
      std::printf("%-12s %-8d %-10s %-40s %-31s %s\n", c.record.id.c_str(), pid, oci::status_name(c.status),
                  c.record.bundle.c_str(), c.record.created.c_str(),
                  user_name(c.record.owner).c_str());
    }
  });
}

}  // namespace berth::tool

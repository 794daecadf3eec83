// berth ps [-a] [-q] [--no-trunc] [--format json] [--filter K=V]...
#include <cstdio>

#include "base/file.h"
#include "commands.h"
#include "format.h"

namespace berth::tool {
namespace {

struct Opts {
  bool all = false, quiet = false, no_trunc = false;
  std::string format;
  std::vector<std::string> filters;
};

// The container's command as its config.json has it.
std::vector<std::string> command_of(engine::Engine& e, const engine::ContainerRecord& c) {
  auto text = read_file(e.paths().bundle(c.id) + "/config.json");
  if (text) {
    auto doc = nlohmann::json::parse(*text, nullptr, false);
    if (doc.is_object() && doc.contains("process") && doc["process"].contains("args"))
      return doc["process"]["args"].get<std::vector<std::string>>();
  }
  std::vector<std::string> cmd = c.options.entrypoint.value_or(std::vector<std::string>{});
  cmd.insert(cmd.end(), c.options.command.begin(), c.options.command.end());
  return cmd;
}

std::string ports_text(const engine::ContainerRecord& c) {
  std::string out;
  for (const auto& p : c.ports) {
    if (!out.empty()) out += ", ";
    std::string ip = p.host_ip.empty() ? "0.0.0.0" : p.host_ip;
    if (p.range > 1)
      out += fmt::format("{}:{}-{}->{}-{}/{}", ip, p.host_port, p.host_port + p.range - 1, p.container_port,
                         p.container_port + p.range - 1, p.protocol);
    else
      out += fmt::format("{}:{}->{}/{}", ip, p.host_port, p.container_port, p.protocol);
  }
  return out;
}

Result<> run(Globals& g, const Opts& o) {
  if (!o.format.empty() && o.format != "json" && o.format != "table")
    return error("unsupported --format \"{}\" (json, table)", o.format);
  BERTH_TRY_ASSIGN(filter, engine::parse_container_filter(o.filters));
  BERTH_TRY_ASSIGN(e, open_engine(g));
  BERTH_TRY_ASSIGN(list, e.list(o.all, filter));
  int64_t now = 0;
  {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    now = static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
  }
  if (o.quiet) {
    for (const auto& c : list) std::printf("%s\n", o.no_trunc ? c.id.c_str() : c.id.substr(0, 12).c_str());
    return {};
  }
  if (o.format == "json") {
    nlohmann::ordered_json out = nlohmann::ordered_json::array();
    for (const auto& c : list) {
      nlohmann::ordered_json labels = nlohmann::ordered_json::object();
      for (const auto& [k, v] : c.options.labels) labels[k] = v;
      nlohmann::ordered_json ports = nlohmann::ordered_json::array();
      for (const auto& p : c.ports)
        ports.push_back({{"host_ip", p.host_ip}, {"host_port", p.host_port}, {"container_port", p.container_port},
                         {"protocol", p.protocol}, {"range", p.range}});
      out.push_back({{"Id", c.id},
                     {"Names", {c.name}},
                     {"Image", c.image_name},
                     {"ImageID", hex_of(c.image_id)},
                     {"Command", command_of(e, c)},
                     {"Created", c.created_at / 1000000000},
                     {"State", engine::state_name(c.state)},
                     {"Status", engine::status_text(c, now)},
                     {"ExitCode", c.exit_code},
                     {"Exited", c.state == engine::ContainerState::stopped},
                     {"Pid", c.pid},
                     {"Ports", ports},
                     {"Labels", labels},
                     {"Pod", c.pod_id},
                     {"Restarts", c.restart_count}});
    }
    std::puts(out.dump(4).c_str());
    return {};
  }
  std::vector<std::vector<std::string>> rows = {
      {"CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"}};
  for (const auto& c : list) {
    std::string cmd;
    for (const auto& a : command_of(e, c)) cmd += (cmd.empty() ? "" : " ") + a;
    if (!o.no_trunc && cmd.size() > 20) cmd = cmd.substr(0, 17) + "...";
    rows.push_back({o.no_trunc ? c.id : c.id.substr(0, 12), c.image_name, cmd,
                    human_age(c.created_at / 1000000000, now / 1000000000), engine::status_text(c, now),
                    ports_text(c), c.name});
  }
  print_table(rows);
  return {};
}

}  // namespace

void add_ps(CLI::App& app, Globals& g) {
  auto o = std::make_shared<Opts>();
  auto setup = [&g, o](CLI::App* cmd) {
    cmd->add_flag("-a,--all", o->all, "all containers (default: running ones)");
    cmd->add_flag("-q,--quiet", o->quiet, "print only the ids");
    cmd->add_flag("--no-trunc", o->no_trunc, "do not truncate ids and commands");
    cmd->add_option("--format", o->format, "json or table");
    cmd->add_option("-f,--filter", o->filters, "id=, name=, status=, label=K[=V], ancestor=, exited=")
        ->allow_extra_args(false)
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
    cmd->callback([&g, o]() { g.exit_code = check(run(g, *o)); });
  };
  setup(app.add_subcommand("ps", "list containers"));
  setup(group(app, "container", "manage containers")->add_subcommand("ls", "list containers"));
  setup(group(app, "container", "manage containers")->add_subcommand("list", "list containers"));
}

}  // namespace berth::tool

// berth pod create|ls|inspect|start|stop|rm (and the infra's exit command,
// `pod cleanup`): pods as podman's, on engine::Pods.
#include <cstdio>
#include <ctime>
#include <functional>
#include <memory>

#include <nlohmann/json.hpp>

#include "commands.h"
#include "engine/engine.h"
#include "engine/flags.h"
#include "engine/pods.h"
#include "format.h"

namespace berth::tool {

namespace {

// The Engine stays at one address: the Pods' member operations call it.
struct PodVerb {
  std::unique_ptr<engine::Engine> engine;
  engine::Pods pods{engine::PodContext{}};
};

Result<PodVerb> open_pods(const Globals& g) {
  BERTH_TRY_ASSIGN(e, open_engine(g));
  PodVerb v;
  v.engine = std::make_unique<engine::Engine>(std::move(e));
  v.pods = v.engine->pods();
  return v;
}

// Each pod named, in order; the first failure is reported, the rest still tried
// (as podman does for several names).
int for_each(const std::vector<std::string>& names, const std::function<Result<std::string>(const std::string&)>& fn) {
  int status = 0;
  for (const auto& name : names) {
    auto r = fn(name);
    if (!r) {
      status = report(r.error());
      continue;
    }
    std::printf("%s\n", r->c_str());
  }
  return status;
}

void pod_create(CLI::App& pod, Globals& g) {
  struct Options {
    std::string name, hostname, network, share;
    std::vector<std::string> publish, labels;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = pod.add_subcommand("create", "create a new, empty pod");
  cmd->add_option("-n,--name", o->name, "the pod's name");
  cmd->add_option("-p,--publish", o->publish, "publish a port of the pod: [ip:]host:ctr[/proto]");
  cmd->add_option("--hostname", o->hostname, "the pod's hostname (default: its name)");
  cmd->add_option("--share", o->share, "namespaces shared: ipc,net,uts[,pid], or +pid to add one")->default_str("ipc,net,uts");
  cmd->add_option("--network", o->network, "none, host or a network name (default: berth)");
  cmd->add_option("-l,--label", o->labels, "a label key=value");
  cmd->callback([&g, o]() {
    g.exit_code = check([&]() -> Result<> {
      engine::PodCreateOptions c;
      c.name = o->name;
      c.hostname = o->hostname;
      c.network = o->network;
      if (!o->share.empty()) {
        BERTH_TRY_ASSIGN(pid, engine::parse_pod_share(o->share));
        c.share_pid = pid;
      }
      for (const auto& p : o->publish) {
        BERTH_TRY_ASSIGN(ports, engine::parse_publish(p));
        c.ports.insert(c.ports.end(), ports.begin(), ports.end());
      }
      for (const auto& l : o->labels) {
        auto eq = l.find('=');
        c.labels[l.substr(0, eq)] = eq == std::string::npos ? "" : l.substr(eq + 1);
      }
      BERTH_TRY_ASSIGN(v, open_pods(g));
      BERTH_TRY_ASSIGN(pod, v.pods.create(c));
      std::printf("%s\n", pod.id.c_str());
      return {};
    }());
  });
}

void pod_ls(CLI::App& pod, Globals& g) {
  struct Options {
    bool quiet = false, no_trunc = false;
    std::string format;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = pod.add_subcommand("ls", "list pods");
  cmd->alias("ps");
  cmd->alias("list");
  cmd->add_flag("-q,--quiet", o->quiet, "print the ids only");
  cmd->add_flag("--no-trunc", o->no_trunc, "full ids");
  cmd->add_option("--format", o->format, "json")->check(CLI::IsMember({"json", "table"}));
  cmd->callback([&g, o]() {
    g.exit_code = check([&]() -> Result<> {
      BERTH_TRY_ASSIGN(v, open_pods(g));
      BERTH_TRY_ASSIGN(pods, v.pods.list());
      nlohmann::ordered_json out = nlohmann::ordered_json::array();
      std::vector<std::vector<std::string>> rows = {{"POD ID", "NAME", "STATUS", "CREATED", "INFRA ID", "# OF CONTAINERS"}};
      int64_t now = ::time(nullptr);
      for (const auto& p : pods) {
        BERTH_TRY_ASSIGN(members, v.engine->db().pod_containers(p.id));
        BERTH_TRY_ASSIGN(infra, v.pods.infra(p));
        std::vector<engine::ContainerRecord> others;
        nlohmann::ordered_json containers = nlohmann::ordered_json::array();
        for (const auto& m : members) {
          if (!m.infra) others.push_back(m);
          containers.push_back({{"Id", m.id}, {"Names", m.name}, {"Status", engine::state_name(m.state)}});
        }
        std::string state = engine::pod_state(infra, others);
        if (o->quiet) {
          std::printf("%s\n", o->no_trunc ? p.id.c_str() : p.id.substr(0, 12).c_str());
          continue;
        }
        out.push_back({{"Id", p.id},
                       {"Name", p.name},
                       {"Status", state},
                       {"Created", p.created_at / 1'000'000'000},
                       {"InfraId", p.infra_id},
                       {"NumberOfContainers", members.size()},
                       {"Containers", containers},
                       {"Labels", p.labels},
                       {"Networks", nlohmann::json::array({p.network.empty() ? v.engine->config().network : p.network})}});
        rows.push_back({o->no_trunc ? p.id : p.id.substr(0, 12), p.name, state,
                        human_age(p.created_at / 1'000'000'000, now),
                        o->no_trunc ? p.infra_id : p.infra_id.substr(0, 12), std::to_string(members.size())});
      }
      if (o->quiet) return {};
      if (o->format == "json") std::printf("%s\n", out.dump(4).c_str());
      else print_table(rows);
      return {};
    }());
  });
}

void pod_inspect(CLI::App& pod, Globals& g) {
  auto names = std::make_shared<std::vector<std::string>>();
  auto* cmd = pod.add_subcommand("inspect", "a pod's configuration and state as JSON");
  cmd->add_option("pods", *names, "pod names or ids")->required();
  cmd->callback([&g, names]() {
    g.exit_code = check([&]() -> Result<> {
      BERTH_TRY_ASSIGN(v, open_pods(g));
      std::vector<std::string> docs;
      for (const auto& name : *names) {
        BERTH_TRY_ASSIGN(p, v.pods.inspect(name));
        BERTH_TRY_ASSIGN(infra, v.pods.infra(p));
        BERTH_TRY_ASSIGN(members, v.engine->db().pod_containers(p.id));
        docs.push_back(engine::pod_to_json(p, infra, members));
      }
      // One pod: its object, as podman 4 prints it; several: an array.
      if (docs.size() == 1) {
        std::printf("%s\n", docs[0].c_str());
      } else {
        nlohmann::json all = nlohmann::json::array();
        for (const auto& d : docs) all.push_back(nlohmann::json::parse(d));
        std::printf("%s\n", all.dump(4).c_str());
      }
      return {};
    }());
  });
}

void pod_start(CLI::App& pod, Globals& g) {
  auto names = std::make_shared<std::vector<std::string>>();
  auto* cmd = pod.add_subcommand("start", "start pods: the infra, then every container");
  cmd->add_option("pods", *names, "pod names or ids")->required();
  cmd->callback([&g, names]() {
    auto v = open_pods(g);
    if (!v) {
      g.exit_code = report(v.error());
      return;
    }
    g.exit_code = for_each(*names, [&](const std::string& name) -> Result<std::string> {
      BERTH_TRY_ASSIGN(p, v->pods.start(name));
      return p.id;
    });
  });
}

void pod_stop(CLI::App& pod, Globals& g) {
  auto names = std::make_shared<std::vector<std::string>>();
  auto timeout = std::make_shared<int>(-1);
  auto* cmd = pod.add_subcommand("stop", "stop pods: every container, then the infra");
  cmd->add_option("-t,--time", *timeout, "seconds to wait before killing (default: each container's)");
  cmd->add_option("pods", *names, "pod names or ids")->required();
  cmd->callback([&g, names, timeout]() {
    auto v = open_pods(g);
    if (!v) {
      g.exit_code = report(v.error());
      return;
    }
    std::optional<int> t = *timeout >= 0 ? std::optional(*timeout) : std::nullopt;
    g.exit_code = for_each(*names, [&](const std::string& name) -> Result<std::string> {
      BERTH_TRY_ASSIGN(p, v->pods.stop(name, t));
      return p.id;
    });
  });
}

void pod_rm(CLI::App& pod, Globals& g) {
  auto names = std::make_shared<std::vector<std::string>>();
  auto force = std::make_shared<bool>(false);
  auto* cmd = pod.add_subcommand("rm", "remove pods (running containers in them only with -f)");
  cmd->add_flag("-f,--force", *force, "stop and remove running containers first");
  cmd->add_option("pods", *names, "pod names or ids")->required();
  cmd->callback([&g, names, force]() {
    auto v = open_pods(g);
    if (!v) {
      g.exit_code = report(v.error());
      return;
    }
    g.exit_code = for_each(*names, [&](const std::string& name) -> Result<std::string> {
      BERTH_TRY_ASSIGN(p, v->pods.inspect(name));
      BERTH_TRY(v->pods.remove(p.id, *force));
      return p.id;
    });
  });
}

// The infra's exit command, run by its berth-monitor (as `container cleanup`).
void pod_cleanup(CLI::App& pod, Globals& g) {
  auto id = std::make_shared<std::string>();
  auto* cmd = pod.add_subcommand("cleanup", "");  // hidden: an empty description
  cmd->group("");
  cmd->add_option("pod", *id)->required();
  cmd->callback([&g, id]() {
    g.exit_code = check([&]() -> Result<> {
      BERTH_TRY_ASSIGN(v, open_pods(g));
      return v.pods.cleanup_infra(*id);
    }());
  });
}

}  // namespace

void add_pod(CLI::App& app, Globals& g) {
  CLI::App* pod = group(app, "pod", "manage pods: containers sharing network, IPC and UTS namespaces");
  pod->require_subcommand(1);
  pod_create(*pod, g);
  pod_ls(*pod, g);
  pod_inspect(*pod, g);
  pod_start(*pod, g);
  pod_stop(*pod, g);
  pod_rm(*pod, g);
  pod_cleanup(*pod, g);
}

}  // namespace berth::tool

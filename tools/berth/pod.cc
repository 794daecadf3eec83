// berth pod create|ls|inspect|start|stop|restart|kill|pause|unpause|rm|prune|top
// (logs: pod_logs.cc, stats: pod_stats.cc)
// (and the infra's exit command, `pod cleanup`): pods as podman's, on
// engine::Pods.
#include <cstdio>
#include <ctime>
#include <functional>
#include <memory>

#include <nlohmann/json.hpp>

#include "commands.h"
#include "engine/engine.h"
#include "engine/flags.h"
#include "engine/pod_top.h"
#include "engine/pods.h"
#include "format.h"
#include "go_template.h"

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

// The pods named (or every pod with --all), in order; the first failure is
// reported, the rest still tried (as podman does for several names); each
// done pod's id printed.
struct PodTargets {
  std::vector<std::string> names;
  bool all = false;
};

void add_targets(CLI::App& cmd, PodTargets& t, const std::string& verb) {
  cmd.add_flag("-a,--all", t.all, verb + " all pods");
  cmd.add_option("pods", t.names, "pod names or ids");
}

void for_each_pod(Globals& g, const PodTargets& t,
                  const std::function<Result<engine::PodRecord>(engine::Pods&, const std::string&)>& op) {
  auto v = open_pods(g);
  if (!v) {
    g.exit_code = report(v.error());
    return;
  }
  std::vector<std::string> names = t.names;
  if (t.all) {
    auto pods = v->pods.list();
    if (!pods) {
      g.exit_code = report(pods.error());
      return;
    }
    names.clear();
    for (const auto& p : *pods) names.push_back(p.id);
  } else if (names.empty()) {
    g.exit_code = report(Error(EINVAL, "name at least one pod, or use --all"));
    return;
  }
  for (const auto& name : names) {
    auto r = op(v->pods, name);
    if (!r) {
      g.exit_code = report(r.error());
      continue;
    }
    std::printf("%s\n", r->id.c_str());
  }
}

void pod_create(CLI::App& pod, Globals& g) {
  struct Options {
    std::string name, positional_name, hostname, network, share, shm_size, infra_name, exit_policy;
    std::vector<std::string> publish, labels, add_hosts, dns, dns_search, dns_options;
    bool infra = true;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = pod.add_subcommand("create", "create a new, empty pod");
  cmd->add_option("-n,--name", o->name, "the pod's name");
  cmd->add_option("name", o->positional_name, "the pod's name (as --name)");
  cmd->add_option("-p,--publish", o->publish, "publish a port of the pod: [ip:]host:ctr[/proto]");
  cmd->add_option("--hostname", o->hostname, "the pod's hostname (default: its name)");
  auto* share = cmd->add_option("--share", o->share,
                                "namespaces shared: cgroup,ipc,net,pid,uts; +KIND adds to the default; none "
                                "(then no infra unless --infra=true)")
                    ->default_str("ipc,net,uts");
  auto* infra = cmd->add_flag("--infra", o->infra,
                              "an infra container holding the shared namespaces (--infra=false: none, nothing shared)");
  cmd->add_option("--network", o->network, "none, host or a network name (default: berth)");
  cmd->add_option("-l,--label", o->labels, "a label key=value");
  cmd->add_option("--add-host", o->add_hosts, "a host:ip line in the members' shared /etc/hosts");
  cmd->add_option("--dns", o->dns, "a nameserver of the members' shared /etc/resolv.conf");
  cmd->add_option("--dns-search", o->dns_search, "a search domain of the shared /etc/resolv.conf");
  cmd->add_option("--dns-option,--dns-opt", o->dns_options, "an option of the shared /etc/resolv.conf");
  cmd->add_option("--shm-size", o->shm_size, "size of the members' shared /dev/shm (default 64m)");
  cmd->add_option("--infra-name", o->infra_name, "the infra container's name (default: <pod id>-infra)");
  cmd->add_option("--exit-policy", o->exit_policy,
                  "continue (default) or stop: stop the pod when its last container exits");
  cmd->callback([&g, o, share, infra]() {
    g.exit_code = check([&]() -> Result<> {
      engine::PodCreateOptions c;
      if (!o->name.empty() && !o->positional_name.empty() && o->name != o->positional_name)
        return error("pod create: two names, --name {} and {}", o->name, o->positional_name);
      c.name = o->name.empty() ? o->positional_name : o->name;
      c.hostname = o->hostname;
      c.network = o->network;
      if (share->count() > 0) {
        BERTH_TRY_ASSIGN(share, engine::parse_pod_share(o->share));
        c.share = share;
      }
      if (infra->count() > 0) c.infra = o->infra;
      for (const auto& p : o->publish) {
        BERTH_TRY_ASSIGN(ports, engine::parse_publish(p));
        c.ports.insert(c.ports.end(), ports.begin(), ports.end());
      }
      for (const auto& l : o->labels) {
        auto eq = l.find('=');
        c.labels[l.substr(0, eq)] = eq == std::string::npos ? "" : l.substr(eq + 1);
      }
      c.add_hosts = o->add_hosts;
      c.dns = o->dns;
      c.dns_search = o->dns_search;
      c.dns_options = o->dns_options;
      c.shm_size = o->shm_size;
      c.infra_name = o->infra_name;
      c.exit_policy = o->exit_policy;
      BERTH_TRY_ASSIGN(v, open_pods(g));
      BERTH_TRY_ASSIGN(pod, v.pods.create(c));
      std::printf("%s\n", pod.id.c_str());
      return {};
    }());
  });
}

// The fields of `pod ls --format` (podman's placeholders) with their headers.
const std::map<std::string, std::string> kLsFields = {
    {"ID", "POD ID"},         {"Id", "POD ID"},           {"Name", "NAME"},         {"Status", "STATUS"},
    {"Created", "CREATED"},   {"InfraID", "INFRA ID"},    {"InfraId", "INFRA ID"},  {"Labels", "LABELS"},
    {"NumberOfContainers", "# OF CONTAINERS"},            {"Networks", "NETWORKS"}, {"ContainerNames", "NAMES"},
    {"ContainerIds", "IDS"},  {"ContainerStatuses", "STATUS"}};

void pod_ls(CLI::App& pod, Globals& g) {
  struct Options {
    bool quiet = false, no_trunc = false, noheading = false, ctr_names = false, ctr_ids = false, ctr_status = false;
    std::string format;
    std::vector<std::string> filters;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = pod.add_subcommand("ls", "list pods");
  cmd->alias("ps");
  cmd->alias("list");
  cmd->add_flag("-q,--quiet", o->quiet, "print the ids only");
  cmd->add_flag("--no-trunc", o->no_trunc, "full ids");
  cmd->add_flag("--noheading,-n", o->noheading, "no header row");
  cmd->add_flag("--ctr-names", o->ctr_names, "a column with the containers' names");
  cmd->add_flag("--ctr-ids", o->ctr_ids, "a column with the containers' ids");
  cmd->add_flag("--ctr-status", o->ctr_status, "a column with the containers' states");
  cmd->add_option("-f,--filter", o->filters,
                  "KEY=VALUE: id, name, status, label, label!, network, ctr-names, ctr-ids, ctr-status, ctr-number");
  cmd->add_option("--format", o->format, "json, table, or a Go template ({{.Name}} {{.Status}}...)");
  cmd->callback([&g, o]() {
    g.exit_code = check([&]() -> Result<> {
      BERTH_TRY_ASSIGN(filter, engine::parse_pod_filter(o->filters));
      std::optional<GoTemplate> tmpl;
      if (!o->format.empty() && o->format != "json" && o->format != "table") {
        BERTH_TRY_ASSIGN(t, GoTemplate::parse(o->format, kLsFields));
        tmpl = std::move(t);
      }
      BERTH_TRY_ASSIGN(v, open_pods(g));
      BERTH_TRY_ASSIGN(pods, v.pods.list());
      std::string default_network = v.engine->config().network;
      auto id = [&](const std::string& full) { return o->no_trunc ? full : full.substr(0, 12); };
      nlohmann::ordered_json out = nlohmann::ordered_json::array();
      std::vector<std::string> header = {"POD ID", "NAME", "STATUS", "CREATED", "INFRA ID", "# OF CONTAINERS"};
      if (o->ctr_names) header.emplace_back("NAMES");
      if (o->ctr_ids) header.emplace_back("IDS");
      if (o->ctr_status) header.emplace_back("STATUS");
      std::vector<std::vector<std::string>> rows;
      if (!o->noheading) rows.push_back(header);
      std::vector<std::string> rendered;
      int64_t now = ::time(nullptr);
      for (const auto& p : pods) {
        auto all = v.pods.containers(p);
        if (!all) {
          if (all.error().code() == ENOENT) continue;  // removed meanwhile
          return std::unexpected(std::move(all).error());
        }
        if (!engine::pod_matches(filter, p, *all, default_network)) continue;
        if (o->quiet) {
          std::printf("%s\n", id(p.id).c_str());
          continue;
        }
        std::string state = engine::pod_state(*all);
        std::string network = p.share_net ? (p.network.empty() ? default_network : p.network) : "";
        std::vector<std::string> names, ids, states;
        nlohmann::ordered_json containers = nlohmann::ordered_json::array();
        for (const auto& c : *all) {
          containers.push_back({{"Id", c.id}, {"Names", c.name}, {"Status", engine::state_name(c.state)}});
          names.push_back(c.name);
          ids.push_back(id(c.id));
          states.emplace_back(engine::state_name(c.state));
        }
        std::string labels;
        for (const auto& [k, val] : p.labels) labels += (labels.empty() ? "" : ",") + k + "=" + val;
        out.push_back({{"Id", p.id},
                       {"Name", p.name},
                       {"Status", state},
                       {"Created", p.created_at / 1'000'000'000},
                       {"InfraId", p.infra_id},
                       {"NumberOfContainers", all->size()},
                       {"Containers", containers},
                       {"Labels", p.labels},
                       {"Networks", network.empty() ? nlohmann::json::array() : nlohmann::json::array({network})}});
        std::string created = human_age(p.created_at / 1'000'000'000, now);
        std::map<std::string, std::string> fields = {
            {"ID", id(p.id)},
            {"Id", id(p.id)},
            {"Name", p.name},
            {"Status", state},
            {"Created", created},
            {"InfraID", id(p.infra_id)},
            {"InfraId", id(p.infra_id)},
            {"Labels", labels},
            {"NumberOfContainers", std::to_string(all->size())},
            {"Networks", network},
            {"ContainerNames", fmt::format("{}", fmt::join(names, ","))},
            {"ContainerIds", fmt::format("{}", fmt::join(ids, ","))},
            {"ContainerStatuses", fmt::format("{}", fmt::join(states, ","))}};
        if (tmpl) {
          rendered.push_back(tmpl->render([&](const std::string& f) { return fields[f]; }));
          continue;
        }
        std::vector<std::string> row = {id(p.id), p.name, state, created, id(p.infra_id),
                                        std::to_string(all->size())};
        if (o->ctr_names) row.push_back(fields["ContainerNames"]);
        if (o->ctr_ids) row.push_back(fields["ContainerIds"]);
        if (o->ctr_status) row.push_back(fields["ContainerStatuses"]);
        rows.push_back(std::move(row));
      }
      if (o->quiet) return {};
      if (o->format == "json") std::printf("%s\n", out.dump(4).c_str());
      else if (tmpl) tmpl->print(rendered);
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
        BERTH_TRY_ASSIGN(all, v.pods.containers(p));
        docs.push_back(engine::pod_to_json(p, all));
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
  auto t = std::make_shared<PodTargets>();
  auto* cmd = pod.add_subcommand("start", "start pods: the infra, then every container");
  add_targets(*cmd, *t, "start");
  cmd->callback([&g, t]() {
    for_each_pod(g, *t, [](engine::Pods& pods, const std::string& name) { return pods.start(name); });
  });
}

void pod_stop(CLI::App& pod, Globals& g) {
  auto t = std::make_shared<PodTargets>();
  auto timeout = std::make_shared<int>(-1);
  auto* cmd = pod.add_subcommand("stop", "stop pods: every container, then the infra");
  cmd->add_option("-t,--time", *timeout, "seconds to wait before killing (default: each container's)");
  add_targets(*cmd, *t, "stop");
  cmd->callback([&g, t, timeout]() {
    std::optional<int> s = *timeout >= 0 ? std::optional(*timeout) : std::nullopt;
    for_each_pod(g, *t, [s](engine::Pods& pods, const std::string& name) { return pods.stop(name, s); });
  });
}

void pod_restart(CLI::App& pod, Globals& g) {
  auto t = std::make_shared<PodTargets>();
  auto* cmd = pod.add_subcommand("restart", "restart pods: running containers stopped, then all started");
  add_targets(*cmd, *t, "restart");
  cmd->callback([&g, t]() {
    for_each_pod(g, *t, [](engine::Pods& pods, const std::string& name) { return pods.restart(name, std::nullopt); });
  });
}

void pod_kill(CLI::App& pod, Globals& g) {
  auto t = std::make_shared<PodTargets>();
  auto signal = std::make_shared<std::string>("KILL");
  auto* cmd = pod.add_subcommand("kill", "send a signal to every container of pods");
  cmd->add_option("-s,--signal", *signal, "the signal (default KILL)");
  add_targets(*cmd, *t, "kill");
  cmd->callback([&g, t, signal]() {
    for_each_pod(g, *t, [signal](engine::Pods& pods, const std::string& name) { return pods.kill(name, *signal); });
  });
}

void pod_pause(CLI::App& pod, Globals& g, bool pause) {
  auto t = std::make_shared<PodTargets>();
  auto* cmd = pod.add_subcommand(pause ? "pause" : "unpause",
                                 pause ? "freeze every container of pods" : "thaw every container of pods");
  add_targets(*cmd, *t, pause ? "pause" : "unpause");
  cmd->callback([&g, t, pause]() {
    for_each_pod(g, *t, [pause](engine::Pods& pods, const std::string& name) {
      return pause ? pods.pause(name) : pods.unpause(name);
    });
  });
}

void pod_rm(CLI::App& pod, Globals& g) {
  auto t = std::make_shared<PodTargets>();
  auto force = std::make_shared<bool>(false);
  auto ignore = std::make_shared<bool>(false);
  auto* cmd = pod.add_subcommand("rm", "remove pods (running containers in them only with -f)");
  cmd->add_flag("-f,--force", *force, "stop and remove running containers first");
  cmd->add_flag("-i,--ignore", *ignore, "no error for pods that do not exist");
  add_targets(*cmd, *t, "remove");
  cmd->callback([&g, t, force, ignore]() {
    for_each_pod(g, *t, [&](engine::Pods& pods, const std::string& name) -> Result<engine::PodRecord> {
      auto p = pods.inspect(name);
      if (!p && *ignore && p.error().code() == ENOENT) return engine::PodRecord{.id = name};
      if (!p) return p;
      BERTH_TRY(pods.remove(p->id, *force));
      return p;
    });
  });
}

void pod_prune(CLI::App& pod, Globals& g) {
  auto force = std::make_shared<bool>(false);
  auto* cmd = pod.add_subcommand("prune", "remove every pod none of whose containers runs");
  cmd->add_flag("-f,--force", *force, "do not ask (berth never asks)");
  cmd->callback([&g]() {
    g.exit_code = check([&]() -> Result<> {
      BERTH_TRY_ASSIGN(v, open_pods(g));
      BERTH_TRY_ASSIGN(removed, v.pods.prune());
      for (const auto& id : removed) std::printf("%s\n", id.c_str());
      return {};
    }());
  });
}

// POD [ps options]: what follows the pod goes to ps as it is (as `berth top`).
void pod_top(CLI::App& pod, Globals& g) {
  auto* cmd = pod.add_subcommand("top", "show the processes of every container of a pod");
  cmd->prefix_command();
  cmd->fallthrough(false);
  cmd->footer("Arguments: POD [ps options]");
  cmd->callback([&g, cmd]() {
    g.exit_code = check([&]() -> Result<> {
      auto args = cmd->remaining();
      if (args.empty()) return error("pod top: a pod is required");
      BERTH_TRY_ASSIGN(engine, open_engine(g));
      BERTH_TRY_ASSIGN(text, engine::pod_top(engine, args[0], std::vector<std::string>(args.begin() + 1, args.end())));
      std::fputs(text.c_str(), stdout);
      return {};
    }());
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
  pod_restart(*pod, g);
  pod_kill(*pod, g);
  pod_pause(*pod, g, true);
  pod_pause(*pod, g, false);
  pod_rm(*pod, g);
  pod_prune(*pod, g);
  pod_top(*pod, g);
  add_pod_logs(*pod, g);
  add_pod_stats(*pod, g);
  pod_cleanup(*pod, g);
}

}  // namespace berth::tool

// berth network create | ls | inspect | rm | prune, with podman's flags.
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <iostream>
#include <memory>

#include <nlohmann/json.hpp>

#include "base/file.h"
#include "commands.h"
#include "engine/db.h"
#include "engine/network.h"
#include "format.h"

namespace berth::tool {

namespace {

struct Context {
  engine::Paths paths;
  engine::EngineDb db;
  std::unique_ptr<engine::Networks> networks;
};

Result<std::unique_ptr<Context>> open_networks(const Globals& g) {
  engine::Paths paths{g.root, g.runroot};
  BERTH_TRY(mkdir_p(g.root, 0700));
  BERTH_TRY_ASSIGN(db, engine::EngineDb::open(paths.db()));
  auto ctx = std::unique_ptr<Context>(new Context{paths, std::move(db), nullptr});
  ctx->networks = std::make_unique<engine::Networks>(ctx->paths, ctx->db, engine::NetworkConfig{});
  return ctx;
}

std::string created_text(int64_t ns) {
  time_t secs = static_cast<time_t>(ns / 1000000000);
  tm t{};
  ::gmtime_r(&secs, &t);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &t);
  return buf;
}

// podman's `network inspect` object.
nlohmann::ordered_json to_json(const engine::NetworkRecord& n) {
  nlohmann::ordered_json subnets = nlohmann::ordered_json::array();
  for (const auto& s : engine::subnets_of(n)) {
    nlohmann::ordered_json subnet = {{"subnet", s.subnet}, {"gateway", s.gateway}};
    if (!s.range_start.empty()) subnet["lease_range"] = {{"start_ip", s.range_start}, {"end_ip", s.range_end}};
    subnets.push_back(std::move(subnet));
  }
  nlohmann::ordered_json j = {{"name", n.name},
                              {"id", n.id},
                              {"driver", n.driver},
                              {"network_interface", n.interface},
                              {"created", created_text(n.created_at)},
                              {"subnets", subnets},
                              {"ipv6_enabled", engine::has_ipv6(n)},
                              {"internal", n.internal},
                              {"dns_enabled", n.dns_enabled},
                              {"labels", n.labels}};
  if (!n.options.empty()) j["options"] = n.options;  // omitted when empty, as podman's
  j["ipam_options"] = {{"driver", "host-local"}};
  j["conflist"] = n.conflist_path;
  return j;
}

Result<std::map<std::string, std::string>> parse_labels(const std::vector<std::string>& labels) {
  std::map<std::string, std::string> out;
  for (const auto& l : labels) {
    auto eq = l.find('=');
    if (eq == 0) return error("invalid label \"{}\": want key=value", l);
    if (eq == std::string::npos) out[l] = "";
    else out[l.substr(0, eq)] = l.substr(eq + 1);
  }
  return out;
}

Result<std::map<std::string, std::string>> parse_driver_options(const std::vector<std::string>& opts) {
  std::map<std::string, std::string> out;
  for (const auto& o : opts) {
    auto eq = o.find('=');
    if (eq == 0 || eq == std::string::npos) return error("invalid --opt \"{}\": want key=value", o);
    out[o.substr(0, eq)] = o.substr(eq + 1);
  }
  return out;
}

void add_create(CLI::App* net, Globals& g) {
  auto o = std::make_shared<engine::NetworkCreateOptions>();
  auto labels = std::make_shared<std::vector<std::string>>();
  auto opts = std::make_shared<std::vector<std::string>>();
  auto* cmd = net->add_subcommand("create", "create a network");
  cmd->add_option("name", o->name, "network name")->required();
  cmd->add_option("-d,--driver", o->driver, "bridge, macvlan or ipvlan")->capture_default_str();
  cmd->add_option("--subnet", o->subnets, "subnet in CIDR form, IPv4 or IPv6; repeatable (default: the next free 10.89.N.0/24)")
      ->allow_extra_args(false);
  cmd->add_option("--gateway", o->gateways, "gateway address of the --subnet of the same position (default: its first)")
      ->allow_extra_args(false);
  cmd->add_option("--ip-range", o->ip_ranges, "give containers addresses from this CIDR inside the --subnet of the same position only")
      ->allow_extra_args(false);
  cmd->add_flag("--ipv6", o->ipv6, "dual stack: add a free IPv6 ULA /64 (and IPv4) subnet where --subnet gives none");
  cmd->add_option("-o,--opt", *opts, "driver option key=value: mtu=N; mode=M (macvlan, ipvlan); vlan=N (bridge)")
      ->allow_extra_args(false);
  cmd->add_option("--interface-name", o->interface, "bridge name, or parent interface of macvlan/ipvlan");
  cmd->add_flag("--internal", o->internal, "no masquerade, no default route: no traffic out of the network");
  cmd->add_flag("--disable-dns", o->disable_dns, "no name resolution between the network's containers");
  cmd->add_option("--label", *labels, "label key=value");
  cmd->callback([&g, o, labels, opts] {
    g.exit_code = check([&]() -> Result<> {
      BERTH_TRY_ASSIGN(parsed, parse_labels(*labels));
      o->labels = std::move(parsed);
      BERTH_TRY_ASSIGN(driver_options, parse_driver_options(*opts));
      o->options = std::move(driver_options);
      BERTH_TRY_ASSIGN(ctx, open_networks(g));
      BERTH_TRY_ASSIGN(n, ctx->networks->create(*o));
      std::puts(n.name.c_str());
      return {};
    }());
  });
}

void add_ls(CLI::App* net, Globals& g) {
  struct Options {
    std::string format;
    bool quiet = false, no_trunc = false;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = net->add_subcommand("ls", "list networks");
  cmd->alias("list");
  cmd->add_option("--format", o->format, "json");
  cmd->add_flag("-q,--quiet", o->quiet, "names only");
  cmd->add_flag("--no-trunc", o->no_trunc, "full ids");
  cmd->callback([&g, o] {
    g.exit_code = check([&]() -> Result<> {
      BERTH_TRY_ASSIGN(ctx, open_networks(g));
      BERTH_TRY_ASSIGN(all, ctx->networks->list());
      if (o->format == "json") {
        nlohmann::ordered_json out = nlohmann::ordered_json::array();
        for (const auto& n : all) out.push_back(to_json(n));
        std::puts(out.dump(4).c_str());
        return {};
      }
      if (!o->format.empty()) return error("unsupported --format \"{}\" (json)", o->format);
      if (o->quiet) {
        for (const auto& n : all) std::puts(n.name.c_str());
        return {};
      }
      std::vector<std::vector<std::string>> rows = {{"NETWORK ID", "NAME", "DRIVER", "SUBNET"}};
      for (const auto& n : all) {
        std::string subnets;
        for (const auto& s : engine::subnets_of(n)) subnets += (subnets.empty() ? "" : ",") + s.subnet;
        rows.push_back({o->no_trunc ? n.id : n.id.substr(0, 12), n.name, n.driver, subnets});
      }
      print_table(rows);
      return {};
    }());
  });
}

void add_inspect(CLI::App* net, Globals& g) {
  auto names = std::make_shared<std::vector<std::string>>();
  auto format = std::make_shared<std::string>("json");
  auto* cmd = net->add_subcommand("inspect", "show networks in JSON");
  cmd->add_option("names", *names, "networks")->required();
  cmd->add_option("-f,--format", *format, "json")->capture_default_str();
  cmd->callback([&g, names, format] {
    g.exit_code = check([&]() -> Result<> {
      if (*format != "json") return error("unsupported --format \"{}\" (json)", *format);
      BERTH_TRY_ASSIGN(ctx, open_networks(g));
      nlohmann::ordered_json out = nlohmann::ordered_json::array();
      for (const auto& name : *names) {
        BERTH_TRY_ASSIGN(n, ctx->networks->inspect(name));
        out.push_back(to_json(n));
      }
      std::puts(out.dump(4).c_str());
      return {};
    }());
  });
}

void add_rm(CLI::App* net, Globals& g) {
  auto names = std::make_shared<std::vector<std::string>>();
  auto force = std::make_shared<bool>(false);
  auto* cmd = net->add_subcommand("rm", "remove networks");
  cmd->alias("remove");
  cmd->add_option("names", *names, "networks")->required();
  cmd->add_flag("-f,--force", *force, "also when containers use it (they are detached from it first)");
  cmd->callback([&g, names, force] {
    auto ctx = open_networks(g);
    if (!ctx) {
      g.exit_code = report(ctx.error());
      return;
    }
    for (const auto& name : *names) {
      auto r = (*ctx)->networks->remove(name, *force);
      if (r) {
        std::puts(name.c_str());
      } else {
        // podman's statuses: 1 no such network, 2 in use, 125 other.
        report(r.error());
        int code = r.error().code() == ENOENT ? 1 : r.error().code() == EBUSY ? 2 : 125;
        if (g.exit_code == 0) g.exit_code = code;
      }
    }
  });
}

void add_prune(CLI::App* net, Globals& g) {
  auto force = std::make_shared<bool>(false);
  auto* cmd = net->add_subcommand("prune", "remove networks no container uses");
  cmd->add_flag("-f,--force", *force, "do not ask");
  cmd->callback([&g, force] {
    g.exit_code = check([&]() -> Result<> {
      if (!*force && ::isatty(STDIN_FILENO)) {
        std::printf("WARNING! This will remove all networks not used by at least one container.\n"
                    "Are you sure you want to continue? [y/N] ");
        std::fflush(stdout);
        std::string answer;
        std::getline(std::cin, answer);
        if (answer != "y" && answer != "Y" && answer != "yes") return {};
      }
      BERTH_TRY_ASSIGN(ctx, open_networks(g));
      BERTH_TRY_ASSIGN(removed, ctx->networks->prune());
      for (const auto& name : removed) std::puts(name.c_str());
      return {};
    }());
  });
}

}  // namespace

void add_network(CLI::App& app, Globals& g) {
  auto* net = app.add_subcommand("network", "manage networks");
  net->require_subcommand(1);
  add_create(net, g);
  add_ls(net, g);
  add_inspect(net, g);
  add_rm(net, g);
  add_prune(net, g);
}

}  // namespace berth::tool

#include <cstdio>

#include "commands.h"
#include "runtime/ps.h"

namespace berth::tool {
namespace {

struct PsArgs {
  std::string format = "table";
  std::string id;
  std::vector<std::string> ps_args;
};

// runc stops parsing ps's own flags at the container id: what follows goes to
// ps untouched, "-f" included, with a leading "--" dropped. CLI11 cannot say
// that, so the verb takes its arguments unparsed and reads them here:
// [-f|--format table|json] ID [--] [PS-OPTIONS...].
Result<PsArgs> parse_ps_args(const std::vector<std::string>& args) {
  PsArgs out;
  size_t i = 0;
  for (; i < args.size(); ++i) {
    std::string_view a = args[i];
    if (a == "-f" || a == "--format") {
      if (++i >= args.size()) return error("ps: {} needs a value", a);
      out.format = args[i];
    } else if (a.starts_with("--format=")) {
      out.format = a.substr(9);
    } else if (a.starts_with("-f") && a.size() > 2 && a[2] != '-') {
      out.format = a.substr(2);
    } else if (a == "--") {
      continue;
    } else if (a.starts_with("-")) {
      return error("ps: unknown option \"{}\"", a);
    } else {
      out.id = a;
      ++i;
      break;
    }
  }
  if (out.id.empty()) return error("ps: missing container id");
  if (i < args.size() && args[i] == "--") ++i;
  out.ps_args.assign(args.begin() + static_cast<std::ptrdiff_t>(i), args.end());
  return out;
}

}  // namespace

void add_ps(CLI::App& app, Globals& g) {
  auto* cmd = app.add_subcommand("ps", "print the processes of a container");
  cmd->footer("Usage: ps [-f|--format table|json] ID [PS-OPTIONS...]   (table runs `ps PS-OPTIONS`, default -ef)");
  cmd->prefix_command();
  cmd->allow_extras();
  cmd->fallthrough(false);
  cmd->callback([&g, cmd]() {
    auto args = parse_ps_args(cmd->remaining());
    if (!args) {
      g.exit_code = report(args.error());
      return;
    }
    if (args->format != "table" && args->format != "json") {
      g.exit_code = report(Error(0, "invalid format option"));
      return;
    }
    auto format = args->format == "json" ? runtime::PsFormat::json : runtime::PsFormat::table;
    auto out = runtime::ps(runtime::Runtime(g.root), args->id, format, args->ps_args);
    if (!out) {
      g.exit_code = report(out.error());
      return;
    }
    std::fwrite(out->data(), 1, out->size(), stdout);
  });
}

}  // namespace berth::tool

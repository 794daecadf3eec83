// berth cp [-a] [-L] SRC DST: files between a container and the host, one of
// SRC and DST being CONTAINER:PATH, the other a host path or "-" (a tar
// stream on stdin or stdout), with docker's rules (engine/copy.h).
#include <unistd.h>

#include "commands.h"
#include "engine/container_root.h"
#include "engine/copy.h"
#include "engine/db.h"
#include "engine/paths.h"

namespace berth::tool {

namespace {

struct CpFlags {
  std::string src, dst;
  engine::CopyOptions options;
};

Result<> run_cp(const Globals& g, const CpFlags& f) {
  BERTH_TRY_ASSIGN(src, engine::parse_copy_arg(f.src));
  BERTH_TRY_ASSIGN(dst, engine::parse_copy_arg(f.dst));
  if (src.container && dst.container) return error("copying between containers is not supported");
  if (!src.container && !dst.container) return error("one of the paths must be CONTAINER:PATH");
  engine::Paths paths{g.root, g.runroot};
  BERTH_TRY_ASSIGN(db, engine::EngineDb::open(paths.db()));
  BERTH_TRY_ASSIGN(c, db.container(src.container ? *src.container : *dst.container));
  BERTH_TRY_ASSIGN(store, open_store(g));
  BERTH_TRY_ASSIGN(container_root, engine::open_container_root(paths, store, c));
  const UniqueFd& root = container_root.root;
  if (src.container) {
    engine::CopySide from{&root, src.path};
    if (dst.stream()) return engine::copy_to_stream(from, STDOUT_FILENO, f.options);
    return engine::copy_path(from, engine::CopySide{nullptr, dst.path}, f.options);
  }
  engine::CopySide to{&root, dst.path};
  if (src.stream()) return engine::copy_from_stream(STDIN_FILENO, to, f.options);
  return engine::copy_path(engine::CopySide{nullptr, src.path}, to, f.options);
}

}  // namespace

void add_cp(CLI::App& app, Globals& g) {
  auto* cmd = app.add_subcommand("cp", "copy files between a container and the host");
  auto f = std::make_shared<CpFlags>();
  cmd->add_flag("-a,--archive", f->options.archive, "keep uid/gid of the source");
  cmd->add_flag("-L,--follow-link", f->options.follow_link, "follow a symlink named as the source");
  cmd->add_option("src", f->src, "CONTAINER:PATH, a host path, or - (a tar stream on stdin)")->required();
  cmd->add_option("dst", f->dst, "CONTAINER:PATH, a host path, or - (a tar stream on stdout)")->required();
  cmd->callback([&g, f]() { g.exit_code = check(run_cp(g, *f)); });
}

}  // namespace berth::tool

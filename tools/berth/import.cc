// berth import [-c INSTR]... [-m MSG] [--platform P] TARBALL [NAME]
#include <cstdio>

#include "commands.h"
#include "format.h"
#include "image/archive.h"

namespace berth::tool {

void add_import(CLI::App& app, Globals& g) {
  auto* cmd = app.add_subcommand("import", "make an image from a rootfs tarball");
  struct Options {
    std::string tarball;
    image::ImportOptions import;
    bool quiet = false;
  };
  auto o = std::make_shared<Options>();
  cmd->add_option("tarball", o->tarball, "rootfs tarball (plain or compressed; - for stdin)")->required();
  cmd->add_option("name", o->import.name, "image name");
  cmd->add_option("-c,--change", o->import.changes, "Dockerfile instruction: CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, "
                                                    "STOPSIGNAL, USER, VOLUME, WORKDIR");
  cmd->add_option("-m,--message", o->import.message, "history comment");
  cmd->add_option("--platform", o->import.platform, "os/arch[/variant] (default: this machine's)");
  cmd->add_flag("-q,--quiet", o->quiet, "print nothing but errors");
  cmd->callback([&g, o]() {
    g.exit_code = check([&]() -> Result<> {
      BERTH_TRY_ASSIGN(store, open_store(g));
      BERTH_TRY_ASSIGN(img, image::import_rootfs(store, o->tarball, o->import));
      if (!o->quiet) std::printf("%s\n", hex_of(img.id).c_str());
      return {};
    }());
  });
}

}  // namespace berth::tool

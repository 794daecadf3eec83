// berth save [-o FILE] [--format oci-archive|docker-archive] IMAGE...
#include <unistd.h>

#include "commands.h"
#include "image/archive.h"

namespace berth::tool {

void add_save(CLI::App& app, Globals& g) {
  auto* cmd = app.add_subcommand("save", "write images to an archive");
  struct Options {
    std::vector<std::string> refs;
    std::string output = "-";
    std::string format = "docker-archive";
  };
  auto o = std::make_shared<Options>();
  cmd->add_option("image", o->refs, "image names or ids")->required();
  cmd->add_option("-o,--output", o->output, "archive file (default: stdout)");
  cmd->add_option("--format", o->format, "oci-archive or docker-archive")->capture_default_str();
  cmd->callback([&g, o]() {
    g.exit_code = check([&]() -> Result<> {
      BERTH_TRY_ASSIGN(format, image::parse_archive_format(o->format));
      if (o->output == "-" && ::isatty(STDOUT_FILENO))
        return error("refusing to write an archive to a terminal: use -o FILE or redirect stdout");
      BERTH_TRY_ASSIGN(store, open_store(g));
      return image::save_images(store, o->refs, format, o->output);
    }());
  });
}

}  // namespace berth::tool

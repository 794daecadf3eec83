// berth load [-i FILE]: images from an oci-archive or docker-archive.
#include <unistd.h>

#include <cstdio>

#include "commands.h"
#include "format.h"
#include "image/archive.h"

namespace berth::tool {

void add_load(CLI::App& app, Globals& g) {
  auto* cmd = app.add_subcommand("load", "load images from an archive");
  auto input = std::make_shared<std::string>("-");
  auto quiet = std::make_shared<bool>(false);
  cmd->add_option("-i,--input", *input, "archive file (default: stdin)");
  cmd->add_flag("-q,--quiet", *quiet, "print nothing but errors");
  cmd->callback([&g, input, quiet]() {
    g.exit_code = check([&]() -> Result<> {
      if (*input == "-" && ::isatty(STDIN_FILENO))
        return error("no archive: use -i FILE or redirect stdin");
      BERTH_TRY_ASSIGN(store, open_store(g));
      BERTH_TRY_ASSIGN(loaded, image::load_images(store, *input));
      if (*quiet) return {};
      for (const auto& img : loaded) {
        if (img.names.empty()) std::printf("Loaded image: %s\n", img.id.c_str());
        for (const auto& n : img.names) std::printf("Loaded image: %s\n", n.c_str());
      }
      return {};
    }());
  });
}

}  // namespace berth::tool

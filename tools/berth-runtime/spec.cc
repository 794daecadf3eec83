#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "base/file.h"
#include "commands.h"
#include "oci/config.h"

namespace berth::tool {

void add_spec(CLI::App& app, Globals& g) {
  auto* cmd = app.add_subcommand("spec", "write a default config.json to the bundle");
  auto bundle = std::make_shared<std::string>(".");
  auto rootless = std::make_shared<bool>(false);
  cmd->add_option("-b,--bundle", *bundle, "bundle directory")->capture_default_str();
  cmd->add_flag("--rootless", *rootless, "a config for a rootless container");
  cmd->callback([&g, bundle, rootless]() {
    std::string path = *bundle + "/config.json";
    if (access(path.c_str(), F_OK) == 0) {
      g.exit_code = report(Error(EEXIST, "\"" + path + "\" exists; remove it first"));
      return;
    }
    auto fd = open_file(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
    if (!fd) {
      g.exit_code = report(fd.error());
      return;
    }
    g.exit_code = check(write_all(fd->get(), oci::default_config_json(*rootless), path));
  });
}

}  // namespace berth::tool

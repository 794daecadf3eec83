// What the container verbs share: the Engine under --root/--runroot.
#include <limits.h>
#include <unistd.h>

#include <cstdio>

#include "commands.h"

namespace berth::tool {

Result<engine::Engine> open_engine(const Globals& g) {
  char buf[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n < 0) return sys_error(errno, "readlink /proc/self/exe");
  std::string self(buf, static_cast<size_t>(n));
  std::string dir = self.substr(0, self.rfind('/'));
  std::optional<std::string> explicit_path;
  if (!g.config_path.empty()) explicit_path = g.config_path;
  engine::EngineSetup setup;
  BERTH_TRY_ASSIGN(config, engine::load_engine_config_default(explicit_path, dir));
  BERTH_TRY_ASSIGN(image_config, load_config(g));
  setup.paths.root = g.root;
  setup.paths.runroot = g.runroot;
  setup.config = std::move(config);
  setup.image_config = std::move(image_config);
  setup.berth_binary = self;
  setup.config_path = g.config_path;
  return engine::Engine::open(std::move(setup));
}

void for_each_container(Globals& g, const std::vector<std::string>& ids,
                        const std::function<Result<>(engine::Engine&, const std::string&)>& op) {
  auto engine = open_engine(g);
  if (!engine) return void(g.exit_code = report(engine.error()));
  for (const auto& id : ids) {
    if (auto r = op(*engine, id); !r)
      g.exit_code = report(r.error());
    else
      std::printf("%s\n", id.c_str());
  }
}

}  // namespace berth::tool

#include <cstdio>

#include "commands.h"
#include "runtime/features.h"

namespace berth::tool {

void add_features(CLI::App& app, Globals&) {
  auto* cmd = app.add_subcommand("features", "show the enabled features (runtime-spec features document)");
  cmd->callback([]() {
    std::string doc = runtime::features_json();
    std::fwrite(doc.data(), 1, doc.size(), stdout);
  });
}

}  // namespace berth::tool

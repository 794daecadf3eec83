#include <cstdio>

#include "commands.h"
#include "image/pull.h"
#include "progress.h"

namespace berth::tool {

void add_pull(CLI::App& app, Globals& g) {
  auto* cmd = app.add_subcommand("pull", "pull an image from a registry");
  struct Opts {
    std::string reference;
    std::string platform;
    std::string creds;
    std::optional<bool> tls_verify;
    bool quiet = false;
  };
  auto o = std::make_shared<Opts>();
  cmd->add_option("reference", o->reference, "image reference (name[:tag][@digest])")->required();
  cmd->add_option("--platform", o->platform, "os/arch[/variant] (default: this machine's)");
  cmd->add_option("--creds", o->creds, "user:password for the registry");
  cmd->add_option("--tls-verify", o->tls_verify, "require HTTPS and verify certificates (default true)");
  cmd->add_flag("-q,--quiet", o->quiet, "print only the image ID");
  cmd->callback([&g, o]() {
    auto config = load_config(g);
    if (!config) {
      g.exit_code = report(config.error());
      return;
    }
    image::PullOptions opts;
    opts.root = g.root;
    opts.registry.config = std::move(*config);
    opts.registry.tls_verify = o->tls_verify;
    if (!o->creds.empty()) {
      auto colon = o->creds.find(':');
      opts.registry.credentials = image::Credentials{o->creds.substr(0, colon),
                                                     colon == std::string::npos ? "" : o->creds.substr(colon + 1), {}};
    }
    if (!o->platform.empty()) {
      auto p = oci::parse_platform(o->platform);
      if (!p) {
        g.exit_code = report(p.error());
        return;
      }
      opts.platform = *p;
    }
    PullProgressView view(stderr, o->quiet);
    opts.progress = [&view](const image::PullEvent& e) { view(e); };
    auto r = image::pull(o->reference, opts);
    view.finish();
    if (!r) {
      g.exit_code = report(r.error());
      return;
    }
    std::printf("%s\n", r->image_id.str().c_str());
  });
}

}  // namespace berth::tool

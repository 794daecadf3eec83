#include <cstdio>

#include "commands.h"
#include "image/push.h"

namespace berth::tool {

void add_push(CLI::App& app, Globals& g) {
  auto* cmd = app.add_subcommand("push", "push an image to a registry");
  struct Opts {
    std::string source, destination, creds;
    std::optional<bool> tls_verify;
    int64_t chunk_size = 0;
    bool quiet = false;
  };
  auto o = std::make_shared<Opts>();
  cmd->add_option("image", o->source, "the stored image")->required();
  cmd->add_option("destination", o->destination, "reference to push to (default: the image's name)");
  cmd->add_option("--creds", o->creds, "user:password for the registry");
  cmd->add_option("--tls-verify", o->tls_verify, "require HTTPS and verify certificates (default true)");
  cmd->add_option("--chunk-size", o->chunk_size, "upload blobs in chunks of this many bytes (0: one request)");
  cmd->add_flag("-q,--quiet", o->quiet, "print nothing but errors");
  cmd->callback([&g, o]() {
    auto config = load_config(g);
    if (!config) {
      g.exit_code = report(config.error());
      return;
    }
    image::PushOptions opts;
    opts.root = g.root;
    opts.registry.config = std::move(*config);
    opts.registry.tls_verify = o->tls_verify;
    opts.chunk_size = o->chunk_size;
    if (!o->creds.empty()) {
      auto colon = o->creds.find(':');
      opts.registry.credentials = image::Credentials{o->creds.substr(0, colon),
                                                     colon == std::string::npos ? "" : o->creds.substr(colon + 1), {}};
    }
    bool quiet = o->quiet;
    opts.progress = [quiet](const image::PushEvent& e) {
      using K = image::PushEvent::Kind;
      if (quiet || e.kind == K::progress) return;
      const char* what = e.kind == K::exists ? "Blob exists" : e.kind == K::mounted ? "Mounted blob"
                         : e.kind == K::uploaded ? "Uploaded blob" : "Wrote manifest";
      std::fprintf(stderr, "%s %s\n", what, e.digest.str().c_str());
    };
    auto r = image::push(o->source, o->destination, opts);
    if (!r) {
      g.exit_code = report(r.error());
      return;
    }
    if (!quiet) std::printf("%s@%s\n", r->destination.c_str(), r->manifest_digest.str().c_str());
  });
}

}  // namespace berth::tool

// Where the engine keeps each thing, under --root (persistent, default
// /var/lib/berth; the image store lives there too) and --runroot (run state,
// default /run/berth, gone at reboot):
//
//   <root>/berth.db                     images (image layer) + engine tables
//   <root>/containers/<id>/upper|work   the container's writable overlay layer
//   <root>/containers/<id>/userdata/    config.json (the bundle), hosts,
//                                       hostname, resolv.conf, ctr.log (+ .1 ...)
//   <root>/volumes/<name>/_data         a named volume
//   <root>/networks/<name>.conflist     a network's CNI configuration list
//   <root>/cni/ipam/                    host-local IPAM's dataDir
//   <runroot>/containers/<id>/rootfs    the overlay mount point (root.path)
//   <runroot>/containers/<id>/          monitor files: attach.sock, exit,
//                                       monitor.pid, ctl
//   <runroot>/netns/<id>                a container's or pod's network namespace (bind mount)
//   <runroot>/cni/results/              cached CNI ADD results, for DEL and CHECK
//   <runroot>/locks/<id>                flock serialising lifecycle changes of one container/pod
//   <runroot>/runtime/                  the builtin handler's runtime state root
//   <runroot>/runtimes/<handler>/       an oci handler's --root
#pragma once

#include <string>
#include <string_view>

namespace berth::engine {

struct Paths {
  std::string root = "/var/lib/berth";
  std::string runroot = "/run/berth";

  std::string db() const { return root + "/berth.db"; }
  std::string container_dir(std::string_view id) const { return root + "/containers/" + std::string(id); }
  std::string userdata(std::string_view id) const { return container_dir(id) + "/userdata"; }
  std::string bundle(std::string_view id) const { return userdata(id); }
  std::string log_file(std::string_view id) const { return userdata(id) + "/ctr.log"; }
  std::string upper(std::string_view id) const { return container_dir(id) + "/upper"; }
  std::string work(std::string_view id) const { return container_dir(id) + "/work"; }
  std::string run_dir(std::string_view id) const { return runroot + "/containers/" + std::string(id); }
  std::string rootfs(std::string_view id) const { return run_dir(id) + "/rootfs"; }
  std::string volumes() const { return root + "/volumes"; }
  std::string volume_data(std::string_view name) const { return volumes() + "/" + std::string(name) + "/_data"; }
  std::string networks() const { return root + "/networks"; }
  std::string ipam_dir() const { return root + "/cni/ipam"; }
  std::string netns(std::string_view id) const { return runroot + "/netns/" + std::string(id); }
  std::string cni_results() const { return runroot + "/cni/results"; }
  std::string lock(std::string_view id) const { return runroot + "/locks/" + std::string(id); }
  std::string builtin_runtime_root() const { return runroot + "/runtime"; }
  std::string oci_runtime_root(std::string_view handler) const {
    return runroot + "/runtimes/" + std::string(handler);
  }
};

}  // namespace berth::engine

// The run/create flag parsers (docker's and podman's syntax, errors naming
// flag and value) and the JSON round trip of RunOptions.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "engine/flags.h"
#include "engine/options.h"

namespace berth::engine {
namespace {

std::string err(const auto& r) { return r ? std::string("<ok>") : r.error().what(); }

TEST(Publish, Forms) {
  auto p = parse_publish("80");
  ASSERT_TRUE(p) << err(p);
  EXPECT_EQ((*p)[0], (PortMapping{"", 0, 80, 1, "tcp"}));
  p = parse_publish("8080:80");
  ASSERT_TRUE(p);
  EXPECT_EQ((*p)[0], (PortMapping{"", 8080, 80, 1, "tcp"}));
  p = parse_publish("127.0.0.1:8080:80/udp");
  ASSERT_TRUE(p);
  EXPECT_EQ((*p)[0], (PortMapping{"127.0.0.1", 8080, 80, 1, "udp"}));
  p = parse_publish("127.0.0.1::80");
  ASSERT_TRUE(p);
  EXPECT_EQ((*p)[0], (PortMapping{"127.0.0.1", 0, 80, 1, "tcp"}));
  p = parse_publish("[::1]:8080:80/SCTP");
  ASSERT_TRUE(p) << err(p);
  EXPECT_EQ((*p)[0], (PortMapping{"::1", 8080, 80, 1, "sctp"}));
  p = parse_publish("8000-8001:80-81");
  ASSERT_TRUE(p);
  EXPECT_EQ((*p)[0], (PortMapping{"", 8000, 80, 2, "tcp"}));
  p = parse_publish("80-82");
  ASSERT_TRUE(p);
  EXPECT_EQ((*p)[0], (PortMapping{"", 0, 80, 3, "tcp"}));
}

TEST(Publish, Errors) {
  EXPECT_EQ(err(parse_publish("80:x")), "-p 80:x: invalid container port \"x\"");
  EXPECT_EQ(err(parse_publish("x:80")), "-p x:80: invalid host port \"x\"");
  EXPECT_EQ(err(parse_publish("0")), "-p 0: invalid container port \"0\"");
  EXPECT_EQ(err(parse_publish("70000")), "-p 70000: invalid container port \"70000\"");
  EXPECT_EQ(err(parse_publish("80/icmp")), "-p 80/icmp: invalid protocol \"icmp\" (tcp, udp or sctp)");
  EXPECT_EQ(err(parse_publish("1:2:3:4")), "-p 1:2:3:4: too many colons (want [ip:][host:]container[/protocol])");
  EXPECT_EQ(err(parse_publish("8000-8002:80-81")),
            "-p 8000-8002:80-81: host range of 3 ports and container range of 2 differ");
  EXPECT_EQ(err(parse_publish("81-80")), "-p 81-80: invalid container port \"81-80\"");
  EXPECT_EQ(err(parse_publish("no host:1:80")), "-p no host:1:80: invalid host address \"no host\"");
  EXPECT_EQ(err(parse_publish("[::1:80")), "-p [::1:80: invalid IPv6 address");
}

TEST(Volume, Forms) {
  auto v = parse_volume("/data");
  ASSERT_TRUE(v) << err(v);
  EXPECT_EQ(v->type, MountRequest::Type::volume);
  EXPECT_EQ(v->source, "");
  EXPECT_EQ(v->destination, "/data");
  v = parse_volume("/host:/ctr:ro");
  ASSERT_TRUE(v);
  EXPECT_EQ(*v, (MountRequest{MountRequest::Type::bind, "/host", "/ctr", true, {}}));
  v = parse_volume("cache:/var/cache:rw,z,rshared");
  ASSERT_TRUE(v);
  EXPECT_EQ(*v, (MountRequest{MountRequest::Type::volume, "cache", "/var/cache", false, {"z", "rshared"}}));
  v = parse_volume("./rel:/x");
  ASSERT_TRUE(v);
  EXPECT_EQ(v->type, MountRequest::Type::bind);
  EXPECT_TRUE(v->source.starts_with('/')) << v->source;
  EXPECT_TRUE(v->source.ends_with("/./rel")) << v->source;
}

TEST(Volume, Errors) {
  EXPECT_EQ(err(parse_volume("/a:b")), "-v /a:b: destination \"b\" is not an absolute path");
  EXPECT_EQ(err(parse_volume("rel")), "-v rel: destination \"rel\" is not an absolute path");
  EXPECT_EQ(err(parse_volume("/a:/")), "-v /a:/: destination cannot be \"/\"");
  EXPECT_EQ(err(parse_volume("/a:/b:fast")), "-v /a:/b:fast: unknown option \"fast\"");
  EXPECT_EQ(err(parse_volume("/a:/b:ro:x")), "-v /a:/b:ro:x: too many colons (want [source:]destination[:options])");
  EXPECT_EQ(err(parse_volume("-bad:/b")),
            "-v -bad:/b: invalid volume name \"-bad\" (want [a-zA-Z0-9][a-zA-Z0-9_.-]* or an absolute path)");
  EXPECT_EQ(err(parse_volume(":/b")), "-v :/b: empty source");
}

TEST(Mount, Forms) {
  auto m = parse_mount("type=bind,source=/h,target=/c,readonly,bind-propagation=rslave");
  ASSERT_TRUE(m) << err(m);
  EXPECT_EQ(*m, (MountRequest{MountRequest::Type::bind, "/h", "/c", true, {"rslave"}}));
  m = parse_mount("target=/c,src=vol");  // docker's default type is volume
  ASSERT_TRUE(m) << err(m);
  EXPECT_EQ(*m, (MountRequest{MountRequest::Type::volume, "vol", "/c", false, {}}));
  m = parse_mount("type=tmpfs,dst=/t,tmpfs-size=64m,tmpfs-mode=1777");
  ASSERT_TRUE(m) << err(m);
  EXPECT_EQ(*m, (MountRequest{MountRequest::Type::tmpfs, "", "/t", false, {"size=67108864", "mode=1777"}}));
  m = parse_mount("type=bind,src=/h,dst=/c,ro=false,bind-nonrecursive");
  ASSERT_TRUE(m) << err(m);
  EXPECT_EQ(*m, (MountRequest{MountRequest::Type::bind, "/h", "/c", false, {"bind"}}));
}

TEST(Mount, Errors) {
  EXPECT_EQ(err(parse_mount("type=nfs,dst=/x")), "--mount type=nfs,dst=/x: unknown type \"nfs\" (bind, volume or tmpfs)");
  EXPECT_EQ(err(parse_mount("type=bind,src=/a")), "--mount type=bind,src=/a: no target");
  EXPECT_EQ(err(parse_mount("type=bind,dst=/a")), "--mount type=bind,dst=/a: a bind mount needs a source");
  EXPECT_EQ(err(parse_mount("type=bind,src=a,dst=/a")), "--mount type=bind,src=a,dst=/a: source \"a\" is not an absolute path");
  EXPECT_EQ(err(parse_mount("type=bind,src=/a,dst=/a,speed=1")),
            "--mount type=bind,src=/a,dst=/a,speed=1: unknown key \"speed\" for type bind");
  EXPECT_EQ(err(parse_mount("type=bind,src=/a,dst=/a,ro=maybe")),
            "--mount type=bind,src=/a,dst=/a,ro=maybe: ro takes true or false, not \"maybe\"");
  EXPECT_EQ(err(parse_mount("type=tmpfs,dst=/t,tmpfs-mode=99")),
            "--mount type=tmpfs,dst=/t,tmpfs-mode=99: invalid tmpfs-mode \"99\" (octal)");
  EXPECT_EQ(err(parse_mount("type=tmpfs,src=x,dst=/t")), "--mount type=tmpfs,src=x,dst=/t: a tmpfs has no source");
  EXPECT_EQ(err(parse_mount("type=volume,dst=rel")), "--mount type=volume,dst=rel: destination \"rel\" is not an absolute path");
}

TEST(Tmpfs, FormsAndErrors) {
  auto t = parse_tmpfs("/run:rw,size=1m,mode=700");
  ASSERT_TRUE(t) << err(t);
  EXPECT_EQ(*t, (MountRequest{MountRequest::Type::tmpfs, "", "/run", false, {"size=1m", "mode=700"}}));
  t = parse_tmpfs("/cache");
  ASSERT_TRUE(t);
  EXPECT_TRUE(t->options.empty());
  EXPECT_EQ(err(parse_tmpfs("cache")), "--tmpfs cache: destination \"cache\" is not an absolute path");
  EXPECT_EQ(err(parse_tmpfs("/c:size=1m,,")), "--tmpfs /c:size=1m,,: empty option");
}

TEST(Ulimit, FormsAndErrors) {
  auto u = parse_ulimit("nofile=1024:2048");
  ASSERT_TRUE(u) << err(u);
  EXPECT_EQ(*u, (Ulimit{"nofile", 1024, 2048}));
  u = parse_ulimit("nproc=512");
  ASSERT_TRUE(u);
  EXPECT_EQ(*u, (Ulimit{"nproc", 512, 512}));
  u = parse_ulimit("core=-1");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->soft, uint64_t(RLIM_INFINITY));
  EXPECT_EQ(err(parse_ulimit("nofile")), "--ulimit nofile: want name=soft[:hard]");
  EXPECT_EQ(err(parse_ulimit("files=1")), "--ulimit files=1: unknown limit \"files\"");
  EXPECT_EQ(err(parse_ulimit("nofile=x")), "--ulimit nofile=x: invalid limit \"x\"");
  EXPECT_EQ(err(parse_ulimit("nofile=2048:1024")), "--ulimit nofile=2048:1024: soft limit 2048 is above the hard limit 1024");
}

TEST(Restart, FormsAndErrors) {
  EXPECT_EQ(*parse_restart("no"), (Restart{RestartPolicy::no, 0}));
  EXPECT_EQ(*parse_restart("always"), (Restart{RestartPolicy::always, 0}));
  EXPECT_EQ(*parse_restart("on-failure:3"), (Restart{RestartPolicy::on_failure, 3}));
  EXPECT_EQ(*parse_restart("unless-stopped"), (Restart{RestartPolicy::unless_stopped, 0}));
  EXPECT_EQ(err(parse_restart("sometimes")),
            "--restart sometimes: unknown policy \"sometimes\" (no, always, on-failure[:N], unless-stopped)");
  EXPECT_EQ(err(parse_restart("always:3")), "--restart always:3: only on-failure takes a retry count");
  EXPECT_EQ(err(parse_restart("on-failure:x")), "--restart on-failure:x: invalid retry count \"x\"");
  EXPECT_EQ(err(parse_restart("on-failure:-1")), "--restart on-failure:-1: invalid retry count \"-1\"");
}

TEST(Bytes, Units) {
  EXPECT_EQ(*parse_bytes("--memory", "1024"), 1024);
  EXPECT_EQ(*parse_bytes("--memory", "100k"), 100 * 1024);
  EXPECT_EQ(*parse_bytes("--memory", "512m"), 512LL << 20);
  EXPECT_EQ(*parse_bytes("--memory", "512MB"), 512LL << 20);
  EXPECT_EQ(*parse_bytes("--memory", "1g"), 1LL << 30);
  EXPECT_EQ(*parse_bytes("--memory", "1.5GiB"), 3LL << 29);
  EXPECT_EQ(*parse_bytes("--memory", "10b"), 10);
  EXPECT_EQ(*parse_bytes("--memory-swap", "-1"), -1);
  EXPECT_EQ(err(parse_bytes("--memory", "lots")),
            "--memory lots: invalid size (want a number with an optional b, k, m, g, t or p)");
  EXPECT_EQ(err(parse_bytes("--memory", "1x")), "--memory 1x: unknown unit \"x\"");
  EXPECT_EQ(err(parse_bytes("--memory", "1bb")), "--memory 1bb: unknown unit \"bb\"");
  EXPECT_EQ(err(parse_bytes("--shm-size", "")),
            "--shm-size : invalid size (want a number with an optional b, k, m, g, t or p)");
  EXPECT_EQ(err(parse_bytes("--memory", "99999p")), "--memory 99999p: too large");
}

TEST(Cpus, FormsAndErrors) {
  EXPECT_DOUBLE_EQ(*parse_cpus("1.5"), 1.5);
  EXPECT_DOUBLE_EQ(*parse_cpus("2"), 2.0);
  EXPECT_EQ(err(parse_cpus("-1")), "--cpus -1: invalid number of CPUs");
  EXPECT_EQ(err(parse_cpus("two")), "--cpus two: invalid number of CPUs");
  EXPECT_EQ(err(parse_cpus("inf")), "--cpus inf: invalid number of CPUs");
}

TEST(Env, FileAndFlags) {
  auto dir = std::filesystem::temp_directory_path() / ("berth-test-env-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto file = (dir / "env").string();
  ::setenv("BERTH_TEST_PASS", "from-env", 1);
  ::unsetenv("BERTH_TEST_UNSET");
  {
    std::ofstream f(file);
    f << "\xEF\xBB\xBF# comment\n\n  A=1\nB= spaced value \nBERTH_TEST_PASS\nBERTH_TEST_UNSET\nC=x=y\r\n";
  }
  auto env = read_env_file(file);
  ASSERT_TRUE(env) << err(env);
  EXPECT_EQ(*env, (std::vector<std::string>{"A=1", "B= spaced value ", "BERTH_TEST_PASS=from-env", "C=x=y"}));
  {
    std::ofstream f(file);
    f << "OK=1\n=nokey\n";
  }
  EXPECT_EQ(err(read_env_file(file)), "--env-file " + file + ": line 2: no variable name");
  {
    std::ofstream f(file);
    f << "BAD KEY=1\n";
  }
  EXPECT_EQ(err(read_env_file(file)), "--env-file " + file + ": line 1: variable \"BAD KEY\" contains whitespace");
  EXPECT_EQ(err(read_env_file((dir / "missing").string())),
            "--env-file " + (dir / "missing").string() + ": No such file or directory");
  std::filesystem::remove_all(dir);

  EXPECT_EQ(resolve_env_flags({"X=1", "BERTH_TEST_PASS", "BERTH_TEST_UNSET", "Y="}),
            (std::vector<std::string>{"X=1", "BERTH_TEST_PASS=from-env", "Y="}));
}

TEST(RunOptionsJson, RoundTrip) {
  RunOptions o;
  o.image = "busybox";
  o.command = {"sh", "-c", "echo \"hi\""};
  o.entrypoint = std::vector<std::string>{};
  o.name = "web";
  o.env = {"A=1", "B=\xff"};
  o.env_files = {"/e"};
  o.mounts = {MountRequest{MountRequest::Type::bind, "/h", "/c", true, {"rslave"}},
              MountRequest{MountRequest::Type::tmpfs, "", "/t", false, {"size=1m"}},
              MountRequest{MountRequest::Type::volume, "", "/anon", false, {}}};
  o.workdir = "/w";
  o.user = "1000:1000";
  o.hostname = "h";
  o.ports = {PortMapping{"127.0.0.1", 8080, 80, 2, "udp"}};
  o.publish_all = true;
  o.network = "none";
  o.dns = {"1.1.1.1"};
  o.dns_search = {"example.com"};
  o.dns_options = {"ndots:2"};
  o.add_hosts = {"db:10.0.0.2"};
  o.detach = o.interactive = o.tty = o.remove = o.read_only = o.privileged = o.init = o.no_new_privileges = true;
  o.cap_add = {"NET_ADMIN"};
  o.cap_drop = {"ALL"};
  o.seccomp = "unconfined";
  o.memory = 1 << 30;
  o.memory_swap = -1;
  o.cpus = 1.5;
  o.pids_limit = 100;
  o.ulimits = {Ulimit{"nofile", 1024, 2048}};
  o.restart = Restart{RestartPolicy::on_failure, 5};
  o.runtime = "runc";
  o.pod = "p";
  o.labels = {{"a", "b"}};
  o.annotations = {{"c", "d"}};
  o.stop_signal = "SIGINT";
  o.stop_timeout = 3;
  o.cgroup_parent = "/x";
  o.devices = {"/dev/fuse"};
  o.sysctls = {"net.ipv4.ip_forward=1"};
  o.shm_size = "128m";
  auto j = run_options_to_json(o);
  ASSERT_TRUE(j) << err(j);
  auto back = run_options_from_json(*j);
  ASSERT_TRUE(back) << err(back);
  o.env[1] = "B=\xEF\xBF\xBD";  // invalid UTF-8 is stored replaced
  EXPECT_EQ(*back, o);

  RunOptions empty;
  auto je = run_options_to_json(empty);
  ASSERT_TRUE(je);
  auto be = run_options_from_json(*je);
  ASSERT_TRUE(be);
  EXPECT_EQ(*be, empty);
  EXPECT_FALSE(be->entrypoint.has_value());

  // Missing keys keep defaults; wrong types and unknown enum values are errors.
  auto partial = run_options_from_json(R"({"image":"alpine"})");
  ASSERT_TRUE(partial);
  EXPECT_EQ(partial->image, "alpine");
  EXPECT_EQ(err(run_options_from_json("[1]")), "run options: not a JSON object");
  EXPECT_EQ(err(run_options_from_json(R"({"restart":{"policy":"sometimes"}})")),
            "restart: unknown policy \"sometimes\"");
  EXPECT_EQ(err(run_options_from_json(R"({"mounts":[{"type":"nfs"}]})")), "mounts: unknown type \"nfs\"");
  EXPECT_TRUE(err(run_options_from_json(R"({"tty":"yes"})")).starts_with("run options: ")) ;
}

}  // namespace
}  // namespace berth::engine

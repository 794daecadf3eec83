// The image verbs of the `berth` tool, run as a user would, on a temp --root.
#include <filesystem>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "temp_root.h"
#include "test_util.h"

#ifndef BERTH_BINARY
#error "BERTH_BINARY is the path of the built berth tool"
#endif

namespace berth::image {
namespace {

using testing::Cmd;
using testing::sh;
using testing::TempRoot;

class Cli : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(std::string(testing::kFixtures) + "/oci-busybox.tar"))
      GTEST_SKIP() << "fixtures missing";
  }
  Cmd berth(const std::string& args) {
    return sh(std::string(BERTH_BINARY) + " --root " + (tmp_ / "root") + " " + args + " </dev/null");
  }
  std::string load_fixture(const std::string& name) {
    auto l = berth(std::string("load -q -i ") + testing::kFixtures + "/oci-busybox.tar");
    EXPECT_EQ(l.status, 0) << l.out;
    auto t = berth("tag localhost/latest:latest " + name);
    EXPECT_EQ(t.status, 0) << t.out;
    auto q = berth("images -q --no-trunc --filter reference=" + name);
    EXPECT_EQ(q.status, 0) << q.out;
    return q.out.substr(0, q.out.find('\n'));
  }
  TempRoot tmp_{"cli"};
};

TEST_F(Cli, ImagesTableQuietAndJson) {
  std::string id = load_fixture("docker.io/library/busybox:cli");
  ASSERT_EQ(id.size(), 71u) << id;  // sha256:<64 hex>
  auto table = berth("images");
  ASSERT_EQ(table.status, 0) << table.out;
  EXPECT_EQ(table.out.find("REPOSITORY"), 0u) << table.out;
  for (auto col : {"TAG", "IMAGE ID", "CREATED", "SIZE", "docker.io/library/busybox", "cli", "localhost/latest"})
    EXPECT_NE(table.out.find(col), std::string::npos) << col << "\n" << table.out;
  EXPECT_NE(table.out.find(id.substr(7, 12)), std::string::npos);
  EXPECT_NE(table.out.find(" MB"), std::string::npos) << table.out;
  auto digests = berth("images --digests");
  EXPECT_NE(digests.out.find("DIGEST"), std::string::npos);
  EXPECT_NE(digests.out.find("sha256:"), std::string::npos);

  auto quiet = berth("images -q");
  EXPECT_EQ(quiet.out, id.substr(7, 12) + "\n");  // one id though two names

  auto json = berth("images --format json");
  ASSERT_EQ(json.status, 0) << json.out;
  auto j = nlohmann::json::parse(json.out);
  ASSERT_EQ(j.size(), 1u);
  EXPECT_EQ(j[0]["Id"], id.substr(7));
  EXPECT_EQ(j[0]["Names"].size(), 2u);
  EXPECT_GT(j[0]["Size"].get<int64_t>(), 1000000);

  EXPECT_EQ(berth("images -q --filter dangling=true").out, "");
  EXPECT_EQ(berth("images -q --filter reference=busybox").out, id.substr(7, 12) + "\n");
  EXPECT_EQ(berth("images -q --filter reference=nomatch*").out, "");
  auto bad = berth("images --filter color=red");
  EXPECT_NE(bad.status, 0);
  EXPECT_NE(bad.out.find("unknown key \"color\""), std::string::npos) << bad.out;
}

TEST_F(Cli, ImagesLabelFilterAndGoTemplates) {
  std::string id = load_fixture("docker.io/library/busybox:cli");
  // A small tarball: the label tests need only a config with labels.
  std::string tar = tmp_ / "small.tar";
  ASSERT_EQ(sh("mkdir -p " + (tmp_ / "small/etc") + " && echo x > " + (tmp_ / "small/etc/x") + " && tar -C " +
               (tmp_ / "small") + " -cf " + tar + " .")
                .status,
            0);
  auto imported = berth("import -c 'LABEL tier=web owner=berth-test' -m labels " + tar + " labelled:1");
  ASSERT_EQ(imported.status, 0) << imported.out;
  std::string labelled = "sha256:" + imported.out.substr(0, 64);

  EXPECT_EQ(berth("images -q --no-trunc --filter label=tier").out, labelled + "\n");
  EXPECT_EQ(berth("images -q --no-trunc --filter label=tier=web").out, labelled + "\n");
  EXPECT_EQ(berth("images -q --filter label=tier=db").out, "");
  // Several label filters must all match.
  EXPECT_EQ(berth("images -q --no-trunc -f label=tier=web -f label=owner=berth-test").out, labelled + "\n");
  EXPECT_EQ(berth("images -q -f label=tier=web -f label=owner=nobody").out, "");
  EXPECT_EQ(berth("images -q --no-trunc -f label=tier -f reference=labelled").out, labelled + "\n");
  EXPECT_NE(berth("images -f label=").status, 0);

  auto line = berth("images --filter reference=busybox --format '{{.Repository}}:{{.Tag}} {{.ID}}'");
  ASSERT_EQ(line.status, 0) << line.out;
  // One line per name of the matching image (podman's rows).
  EXPECT_EQ(line.out, "docker.io/library/busybox:cli " + id.substr(7, 12) + "\nlocalhost/latest:latest " +
                          id.substr(7, 12) + "\n");
  auto spaced = berth("images -f reference=labelled --no-trunc --format '{{ .ID }} {{.Digest}} {{.Names}}'");
  ASSERT_EQ(spaced.status, 0) << spaced.out;
  EXPECT_EQ(spaced.out.find(labelled + " sha256:"), 0u) << spaced.out;
  EXPECT_NE(spaced.out.find(" [localhost/labelled:1]\n"), std::string::npos) << spaced.out;
  auto ages = berth("images -f reference=labelled --format '{{.Created}}|{{.CreatedSince}}|{{.Size}}'");
  EXPECT_NE(ages.out.find(" ago|"), std::string::npos) << ages.out;
  EXPECT_TRUE(ages.out.ends_with("B\n")) << ages.out;
  // "table": a header row, columns aligned at the tabs (written as \t).
  auto table = berth("images --format 'table {{.Repository}}\\t{{.Tag}}\\t{{.Size}}'");
  ASSERT_EQ(table.status, 0) << table.out;
  std::istringstream rows(table.out);
  std::string head, first, second;
  std::getline(rows, head);
  std::getline(rows, first);
  std::getline(rows, second);
  EXPECT_EQ(head.find("REPOSITORY"), 0u) << table.out;
  EXPECT_NE(head.find("TAG"), std::string::npos) << table.out;
  EXPECT_EQ(head.find("TAG"), first.find(first.find("labelled") != std::string::npos ? "1" : "cli")) << table.out;
  EXPECT_EQ(head.find("SIZE"), second.find_first_of("0123456789", head.find("SIZE"))) << table.out;

  auto unknown = berth("images --format '{{.Repository}} {{.Colour}}'");
  EXPECT_NE(unknown.status, 0);
  EXPECT_NE(unknown.out.find("unknown field \"Colour\""), std::string::npos) << unknown.out;
  auto action = berth("images --format '{{range .Names}}x{{end}}'");
  EXPECT_NE(action.status, 0);
  EXPECT_NE(action.out.find("unsupported template action"), std::string::npos) << action.out;
}

TEST_F(Cli, InspectTagRmi) {
  std::string id = load_fixture("busybox");
  auto inspect = berth("image inspect busybox");
  ASSERT_EQ(inspect.status, 0) << inspect.out;
  auto j = nlohmann::json::parse(inspect.out);
  ASSERT_EQ(j.size(), 1u);
  EXPECT_EQ(j[0]["Id"], id.substr(7));
  EXPECT_EQ(j[0]["Os"], "linux");
  EXPECT_EQ(j[0]["RootFS"]["Layers"].size(), 1u);
  EXPECT_FALSE(j[0]["Digest"].get<std::string>().empty());
  EXPECT_EQ(j[0]["RepoDigests"].size(), 2u);

  auto missing = berth("image inspect nothing-here");
  EXPECT_NE(missing.status, 0);
  EXPECT_NE(missing.out.find("nothing-here"), std::string::npos);

  ASSERT_EQ(berth("tag busybox mine:1 mine:2").status, 0);
  auto rmi = berth("rmi mine:1");
  ASSERT_EQ(rmi.status, 0) << rmi.out;
  EXPECT_EQ(rmi.out, "Untagged: localhost/mine:1\n");
  auto by_id = berth("rmi " + id.substr(7, 12));
  EXPECT_EQ(by_id.status, 2) << by_id.out;  // several names: refused
  EXPECT_NE(by_id.out.find("more than one name"), std::string::npos) << by_id.out;
  auto gone = berth("rmi nothing-here");
  EXPECT_EQ(gone.status, 1) << gone.out;
  auto forced = berth("rmi -f " + id.substr(7, 12));
  ASSERT_EQ(forced.status, 0) << forced.out;
  EXPECT_NE(forced.out.find("Deleted: " + id.substr(7)), std::string::npos) << forced.out;
  EXPECT_EQ(berth("images -q").out, "");
  // rmi collected the content.
  EXPECT_TRUE(std::filesystem::is_empty(tmp_ / "root/content/blobs/sha256"));
}

TEST_F(Cli, SaveLoadImport) {
  load_fixture("busybox");
  std::string out = tmp_ / "saved.tar";
  auto save = berth("save --format oci-archive -o " + out + " busybox");
  ASSERT_EQ(save.status, 0) << save.out;
  ASSERT_EQ(berth("rmi -a").status, 0);
  auto load = sh(std::string(BERTH_BINARY) + " --root " + (tmp_ / "root") + " load < " + out);
  ASSERT_EQ(load.status, 0) << load.out;
  EXPECT_EQ(load.out, "Loaded image: localhost/busybox:latest\n");
  auto docker = sh(std::string(BERTH_BINARY) + " --root " + (tmp_ / "root") + " save busybox > " + (tmp_ / "d.tar"));
  ASSERT_EQ(docker.status, 0) << docker.out;
  EXPECT_EQ(sh("tar tf " + (tmp_ / "d.tar") + " manifest.json").status, 0);
  EXPECT_NE(berth("save --format zip -o x busybox").status, 0);

  std::string tar = tmp_ / "rootfs.tar";
  ASSERT_EQ(sh(std::string("tar -C ") + testing::kFixtures + "/busybox-rootfs -cf " + tar + " .").status, 0);
  auto import = berth("import -c 'CMD [\"/bin/sh\"]' -c 'ENV A=b' -m hello " + tar + " imported:1");
  ASSERT_EQ(import.status, 0) << import.out;
  EXPECT_EQ(import.out.size(), 65u) << import.out;
  auto j = nlohmann::json::parse(berth("image inspect imported:1").out);
  EXPECT_EQ(j[0]["Config"]["Cmd"][0], "/bin/sh");
  EXPECT_EQ(j[0]["Config"]["Env"][0], "A=b");
  EXPECT_EQ(j[0]["RepoTags"][0], "localhost/imported:1");
}

// An image a container lease holds (written as the engine will) survives
// rmi -a, rmi -a -f (names only) and system prune -a.
TEST_F(Cli, ImagesInUseAreKept) {
  if (!testing::has_tool("sqlite3")) GTEST_SKIP() << "no sqlite3";
  std::string id = load_fixture("busybox");
  auto lease = sh("sqlite3 " + (tmp_ / "root/berth.db") +
                  " \"INSERT INTO leases (id, kind, created, expires) VALUES ('ctr-1', 'container', 1, 0); "
                  "INSERT INTO lease_refs (lease_id, type, ref) VALUES ('ctr-1', 'image', '" + id + "');\"");
  ASSERT_EQ(lease.status, 0) << lease.out;
  auto rmi = berth("rmi -a");
  EXPECT_EQ(rmi.status, 2) << rmi.out;
  EXPECT_NE(rmi.out.find("in use by a container"), std::string::npos) << rmi.out;
  auto single = berth("rmi busybox localhost/latest");
  EXPECT_EQ(single.status, 2) << single.out;  // the last name of an image in use
  EXPECT_EQ(berth("system prune -a -f").status, 0);
  EXPECT_EQ(berth("images -q").out, id.substr(7, 12) + "\n");
  auto forced = berth("rmi -a -f");
  ASSERT_EQ(forced.status, 0) << forced.out;
  EXPECT_EQ(forced.out.find("Deleted:"), std::string::npos) << forced.out;
  auto dangling = berth("images -q --filter dangling=true");
  EXPECT_EQ(dangling.out, id.substr(7, 12) + "\n");
  EXPECT_EQ(berth("system check").status, 0);
}

TEST_F(Cli, SystemDfPruneCheck) {
  std::string id = load_fixture("busybox");
  std::string tar = tmp_ / "rootfs.tar";
  ASSERT_EQ(sh(std::string("tar -C ") + testing::kFixtures + "/busybox-rootfs/etc -cf " + tar + " .").status, 0);
  ASSERT_EQ(berth("import -q " + tar).status, 0);  // dangling

  auto df = berth("system df");
  ASSERT_EQ(df.status, 0) << df.out;
  EXPECT_NE(df.out.find("Images"), std::string::npos);
  EXPECT_NE(df.out.find("RECLAIMABLE"), std::string::npos);
  auto dfj = nlohmann::json::parse(berth("system df --format json").out);
  EXPECT_EQ(dfj["Images"]["Total"], 2);

  auto check = berth("system check");
  EXPECT_EQ(check.status, 0) << check.out;
  EXPECT_NE(check.out.find("0 problems"), std::string::npos) << check.out;

  auto prune = berth("system prune -f");
  ASSERT_EQ(prune.status, 0) << prune.out;
  EXPECT_NE(prune.out.find("Deleted Images"), std::string::npos) << prune.out;
  EXPECT_NE(prune.out.find("Total reclaimed space"), std::string::npos);
  EXPECT_EQ(berth("images -q").out, id.substr(7, 12) + "\n");  // the named one stays

  // Corrupt the layer blob: check reports it, --repair removes it.
  auto j = nlohmann::json::parse(berth("images --format json").out);
  auto inspect = nlohmann::json::parse(berth("image inspect busybox").out);
  std::string digest = inspect[0]["Digest"];
  auto manifest = nlohmann::json::parse(testing::slurp(tmp_ / ("root/content/blobs/sha256/" + digest.substr(7))));
  std::string layer = manifest["layers"][0]["digest"];
  std::string blob = tmp_ / ("root/content/blobs/sha256/" + layer.substr(7));
  std::filesystem::permissions(blob, std::filesystem::perms::owner_write, std::filesystem::perm_options::add);
  testing::spit(blob, "corrupt");
  check = berth("system check");
  EXPECT_EQ(check.status, 1) << check.out;
  EXPECT_NE(check.out.find("blob " + layer), std::string::npos) << check.out;
  auto repair = berth("system check --repair");
  EXPECT_EQ(repair.status, 0) << repair.out;
  EXPECT_NE(repair.out.find("(removed)"), std::string::npos) << repair.out;
  EXPECT_EQ(berth("images -q").out, "");
  EXPECT_EQ(berth("system check").status, 0);

  load_fixture("busybox");
  auto prune_all = berth("system prune -a -f");
  ASSERT_EQ(prune_all.status, 0) << prune_all.out;
  EXPECT_EQ(berth("images -q").out, "");
}

}  // namespace
}  // namespace berth::image

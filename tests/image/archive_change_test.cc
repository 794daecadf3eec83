#include <gtest/gtest.h>

#include "image/archive.h"

namespace berth::image {
namespace {

TEST(ImportChange, CommandForms) {
  oci::ContainerConfig c;
  ASSERT_TRUE(apply_change(R"(CMD ["/bin/sh", "-c", "echo hi"])", c));
  EXPECT_EQ(c.cmd, (std::vector<std::string>{"/bin/sh", "-c", "echo hi"}));
  ASSERT_TRUE(apply_change("cmd echo hello world", c));
  EXPECT_EQ(c.cmd, (std::vector<std::string>{"/bin/sh", "-c", "echo hello world"}));
  ASSERT_TRUE(apply_change(R"(ENTRYPOINT ["/init"])", c));
  EXPECT_EQ(c.entrypoint, std::vector<std::string>{"/init"});
  // Not an array of strings: shell form, as Docker does.
  ASSERT_TRUE(apply_change("ENTRYPOINT [1, 2]", c));
  EXPECT_EQ(c.entrypoint, (std::vector<std::string>{"/bin/sh", "-c", "[1, 2]"}));
}

TEST(ImportChange, EnvLabelsAndTheRest) {
  oci::ContainerConfig c;
  ASSERT_TRUE(apply_change("ENV A=1 B=\"two words\"", c));
  ASSERT_TRUE(apply_change("ENV C three four", c));
  ASSERT_TRUE(apply_change("ENV A=override", c));
  EXPECT_EQ(c.env, (std::vector<std::string>{"A=override", "B=two words", "C=three four"}));
  ASSERT_TRUE(apply_change("LABEL org.x=y version=1", c));
  EXPECT_EQ(c.labels.at("org.x"), "y");
  EXPECT_EQ(c.labels.at("version"), "1");
  ASSERT_TRUE(apply_change("WORKDIR /srv", c));
  ASSERT_TRUE(apply_change("USER 1000:1000", c));
  ASSERT_TRUE(apply_change("STOPSIGNAL SIGINT", c));
  ASSERT_TRUE(apply_change("EXPOSE 80 53/udp 80/tcp", c));
  ASSERT_TRUE(apply_change(R"(VOLUME ["/data", "/logs"])", c));
  ASSERT_TRUE(apply_change("VOLUME /data /cache", c));
  EXPECT_EQ(c.working_dir, "/srv");
  EXPECT_EQ(c.user, "1000:1000");
  EXPECT_EQ(c.stop_signal, "SIGINT");
  EXPECT_EQ(c.exposed_ports, (std::vector<std::string>{"80/tcp", "53/udp"}));
  EXPECT_EQ(c.volumes, (std::vector<std::string>{"/data", "/logs", "/cache"}));
}

TEST(ImportChange, ErrorsNameTheInstruction) {
  oci::ContainerConfig c;
  auto r = apply_change("RUN make", c);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().what().find("unsupported instruction \"RUN\""), std::string::npos) << r.error().what();
  r = apply_change("CMD", c);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().what().find("missing arguments"), std::string::npos);
  r = apply_change("EXPOSE http", c);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().what().find("invalid port \"http/tcp\""), std::string::npos) << r.error().what();
  r = apply_change("ENV =x", c);
  ASSERT_FALSE(r);
}

TEST(ArchiveFormat, Names) {
  EXPECT_EQ(*parse_archive_format("oci-archive"), ArchiveFormat::oci_archive);
  EXPECT_EQ(*parse_archive_format("docker-archive"), ArchiveFormat::docker_archive);
  auto r = parse_archive_format("oci-dir");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().what().find("\"oci-dir\""), std::string::npos);
}

}  // namespace
}  // namespace berth::image

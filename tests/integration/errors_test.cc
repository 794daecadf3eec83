// Each error of the runtime is written once (runc's way): to stderr, or with
// --log FILE once to the file and once, plain, to stderr; in the log's format
// (--log-format json gives a JSON line, on stderr too when there is no --log).
// Verbs with bad inputs: a missing bundle, a bad config.json field, an
// unknown container, and (berth-runtime: runc's command line library prints
// its usage) a bad command line.
#include <algorithm>
#include <filesystem>
#include <sstream>

#include "harness.h"

namespace berth::test {
namespace {

size_t lines_with(const std::string& text, const std::string& needle) {
  size_t n = 0;
  std::istringstream s(text);
  for (std::string line; std::getline(s, line);)
    if (line.find(needle) != std::string::npos) ++n;
  return n;
}

struct BadInput {
  std::string name;
  std::vector<std::string> args;  // after the global options
  std::string needle;             // a part of the error's message
};

class ErrorsOnce : public ::testing::Test {
 protected:
  // Runs each case with each log setting and counts the error's lines.
  void expect_once(Bundle& b, const std::vector<BadInput>& cases) {
    std::string log = b.dir + "/runtime.log";
    struct Mode {
      std::vector<std::string> globals;
      bool to_file, json;
    };
    for (const auto& mode : {Mode{{}, false, false}, Mode{{"--log-format", "json"}, false, true},
                             Mode{{"--log", log}, true, false}, Mode{{"--log", log, "--log-format", "json"}, true, true}}) {
      for (const auto& c : cases) {
        bool sets_format = std::find(c.args.begin(), c.args.end(), "--log-format") != c.args.end();
        if (sets_format && mode.json) continue;  // given twice: another error
        std::filesystem::remove(log);
        std::vector<std::string> args = mode.globals;
        args.insert(args.end(), c.args.begin(), c.args.end());
        auto r = b.rt(args);
        std::string what = c.name + " with";
        for (const auto& g : mode.globals) what += " " + g;
        EXPECT_NE(r.status, 0) << what << ": " << r.describe();
        EXPECT_EQ(lines_with(r.err, c.needle), 1u) << what << ": " << r.describe();
        if (mode.to_file) {
          std::string content = std::filesystem::exists(log) ? read_file(log) : "";
          EXPECT_EQ(lines_with(content, c.needle), 1u) << what << ": log: " << content;
          if (mode.json) {
            auto j = json::parse(content.substr(0, content.find('\n')), nullptr, false);
            EXPECT_TRUE(j.is_object() && j.value("level", "") == "error") << what << ": log: " << content;
          }
        } else if (mode.json) {
          std::istringstream s(r.err);
          for (std::string line; std::getline(s, line);) {
            if (line.find(c.needle) == std::string::npos) continue;
            auto j = json::parse(line, nullptr, false);
            EXPECT_TRUE(j.is_object() && j.value("level", "") == "error" &&
                        j.value("msg", "").find(c.needle) != std::string::npos)
                << what << ": not a JSON error line: " << line;
          }
        }
      }
    }
  }
};

TEST_F(ErrorsOnce, BadInputs) {
  Bundle b;
  // A bundle whose config.json has a field of the wrong type.
  std::string bad = b.dir + "/bad";
  std::filesystem::create_directories(bad);
  json config = b.config;
  config["process"]["user"]["uid"] = "zero";
  write_file(bad + "/config.json", config.dump());
  std::string missing = b.dir + "/no-such-bundle";
  std::string nope = b.id + "-nope";
  std::vector<BadInput> cases = {
      {"create of a missing bundle", {"create", "--bundle", missing, b.id}, "no-such-bundle"},
      {"run of a missing bundle", {"run", "--bundle", missing, b.id}, "no-such-bundle"},
      {"create with a bad field", {"create", "--bundle", bad, b.id}, "uid"},
      {"state of an unknown container", {"state", nope}, "does not exist"},
      {"start of an unknown container", {"start", nope}, "does not exist"},
      {"kill of an unknown container", {"kill", nope, "KILL"}, "does not exist"},
      {"delete of an unknown container", {"delete", nope}, "does not exist"},
      {"exec in an unknown container", {"exec", nope, "true"}, "does not exist"},
  };
  if (runtime_is_berth()) {
    cases.push_back({"an unknown option", {"--berth-test-bogus", "state", nope}, "--berth-test-bogus"});
    cases.push_back({"a missing id", {"state"}, "id is required"});
    cases.push_back({"a bad --log-format", {"--log-format", "berth-test-xml", "state", nope}, "berth-test-xml"});
  }
  expect_once(b, cases);
  EXPECT_FALSE(b.state().has_value()) << "a failed create left a container";
}

}  // namespace
}  // namespace berth::test

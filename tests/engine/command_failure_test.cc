// docker's 127/126 from each runtime's words for a container command that
// could not be run (pure): runc's and berth-runtime's `exec: "CMD"...` and
// crun's own (as crun 1.8 prints them), which the oci handler passes on.
#include <cerrno>

#include <gtest/gtest.h>

#include "engine/command_failure.h"

namespace berth::engine {
namespace {

TEST(RuntimeCommandError, RuncWordsKeepTheirText) {
  struct Case {
    const char* message;
    int code, status;
  };
  for (const auto& c : {
           Case{"runc create failed: unable to start container process: exec: \"/x\": stat /x: no such file or directory", ENOENT, 127},
           Case{"exec failed: unable to start container process: exec: \"x\": executable file not found in $PATH", ENOENT, 127},
           Case{"exec: \"/etc/passwd\": permission denied", EACCES, 126},
           Case{"exec: \"/tmp\": is a directory: permission denied", EACCES, 126},
           Case{"exec: \"/x\": exec format error", ENOEXEC, 126},
           Case{"exec failed: exec \"/x\": Exec format error", ENOEXEC, 126},
       }) {
    Error err = runtime_command_error(c.message, "ignored");
    EXPECT_EQ(err.code(), c.code) << c.message;
    EXPECT_EQ(err.message(), c.message);
    EXPECT_EQ(command_failure_status(err), c.status) << c.message;
  }
}

TEST(RuntimeCommandError, CrunWordsNameTheCommandAsRuncDoes) {
  struct Case {
    const char* command;
    const char* message;
    int code, status;
  };
  for (const auto& c : {
           Case{"/nonexistent", "executable file `/nonexistent` not found in $PATH: No such file or directory", ENOENT, 127},
           Case{"nonexistent", "executable file `nonexistent` not found in $PATH: No such file or directory", ENOENT, 127},
           Case{"/etc/passwd", "open executable: Permission denied", EACCES, 126},
           Case{"/tmp", "open executable: Operation not permitted", EACCES, 126},
       }) {
    Error err = runtime_command_error(c.message, c.command);
    EXPECT_EQ(err.code(), c.code) << c.message;
    EXPECT_EQ(err.message(), std::string("exec: \"") + c.command + "\": " + c.message);
    EXPECT_EQ(command_failure_status(err), c.status) << c.message;
  }
}

TEST(RuntimeCommandError, OtherFailuresAreBerths) {
  // Not about the command: berth's 125 (errno 0, the text as it is), even
  // when the words mention a missing file.
  for (const char* message : {"container \"x\" does not exist", "mount /a to /b: no such file or directory",
                              "unknown version specified", "open executable: Input/output error"}) {
    Error err = runtime_command_error(message, "/bin/sh");
    EXPECT_EQ(err.code(), 0) << message;
    EXPECT_EQ(err.message(), message);
    EXPECT_EQ(command_failure_status(err), 0) << message;
  }
}

}  // namespace
}  // namespace berth::engine

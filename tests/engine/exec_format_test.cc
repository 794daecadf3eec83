// The look at a command's format (exec_format.h) and docker's statuses for a
// command that cannot run (command_failure.h): pure logic, no containers.
#include <elf.h>

#include <cerrno>
#include <string>

#include <gtest/gtest.h>

#include "engine/command_failure.h"
#include "engine/exec_format.h"

namespace berth::engine {
namespace {

// An ELF header's first 20 bytes: class, byte order, e_type and e_machine.
std::string elf(unsigned char cls, unsigned char data, uint16_t type, uint16_t machine) {
  std::string h(64, '\0');
  h.replace(0, 4, ELFMAG);
  h[EI_CLASS] = static_cast<char>(cls);
  h[EI_DATA] = static_cast<char>(data);
  auto put = [&](size_t at, uint16_t v) {
    h[at] = static_cast<char>(data == ELFDATA2MSB ? v >> 8 : v & 0xff);
    h[at + 1] = static_cast<char>(data == ELFDATA2MSB ? v & 0xff : v >> 8);
  };
  put(16, type);
  put(18, machine);
  return h;
}

TEST(ExecFormat, ScriptsAndNativeElfRun) {
  EXPECT_FALSE(exec_format_refused("#!/bin/sh\necho hi\n"));
  EXPECT_FALSE(exec_format_refused("#!"));
#if defined(__x86_64__)
  EXPECT_FALSE(exec_format_refused(elf(ELFCLASS64, ELFDATA2LSB, ET_EXEC, EM_X86_64)));
  EXPECT_FALSE(exec_format_refused(elf(ELFCLASS64, ELFDATA2LSB, ET_DYN, EM_X86_64)));  // PIE
  EXPECT_FALSE(exec_format_refused(elf(ELFCLASS32, ELFDATA2LSB, ET_EXEC, EM_386)));    // 32-bit sibling
#endif
}

TEST(ExecFormat, WhatTheKernelRefuses) {
  EXPECT_TRUE(exec_format_refused(""));  // an empty file
  EXPECT_TRUE(exec_format_refused("garbage"));
  EXPECT_TRUE(exec_format_refused("#"));
  EXPECT_TRUE(exec_format_refused(" #!/bin/sh"));
  EXPECT_TRUE(exec_format_refused(std::string(ELFMAG) + "\2\1"));  // truncated
#if defined(__x86_64__)
  EXPECT_TRUE(exec_format_refused(elf(ELFCLASS64, ELFDATA2LSB, ET_EXEC, EM_AARCH64)));  // another machine
  EXPECT_TRUE(exec_format_refused(elf(ELFCLASS64, ELFDATA2MSB, ET_EXEC, EM_S390)));
  EXPECT_TRUE(exec_format_refused(elf(ELFCLASS64, ELFDATA2LSB, ET_REL, EM_X86_64)));  // an object file
  EXPECT_TRUE(exec_format_refused(elf(0, ELFDATA2LSB, ET_EXEC, EM_X86_64)));          // no class
#endif
}

TEST(CommandFailure, DockersStatuses) {
  EXPECT_EQ(command_failure_status(Error(ENOENT, "exec: \"/x\": stat /x")), 127);
  EXPECT_EQ(command_failure_status(Error(EACCES, "exec: \"/etc\": is a directory")), 126);
  EXPECT_EQ(command_failure_status(Error(ENOEXEC, "exec \"/x\"")), 126);
  EXPECT_EQ(command_failure_status(Error(ENOENT, "mount source \"/nope\"")), 0);  // not the command
  EXPECT_EQ(command_failure_status(Error(0, "exec: \"/x\": something else")), 0);
}

TEST(CommandFailure, ExecFormatErrnoFromText) {
  Error e = with_exec_format_errno(Error(0, "cannot start container \"c\": exec \"/x\": Exec format error"));
  EXPECT_EQ(e.code(), ENOEXEC);
  EXPECT_EQ(e.what(), "cannot start container \"c\": exec \"/x\": Exec format error");  // the errno's text once
  EXPECT_EQ(command_failure_status(e), 126);
  Error other = with_exec_format_errno(Error(0, "cannot start container \"c\": its init exited"));
  EXPECT_EQ(other.code(), 0);
  EXPECT_EQ(command_failure_status(other), 0);
  Error coded = with_exec_format_errno(Error(EPERM, "exec format error in a hook"));
  EXPECT_EQ(coded.code(), EPERM);  // an errno already there is kept
}

}  // namespace
}  // namespace berth::engine

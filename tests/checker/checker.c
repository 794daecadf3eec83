// checker: reports what a container sees, as one JSON document on stdout.
// Built static (it runs in a busybox rootfs with no libc) and copied into the
// rootfs of every integration-test bundle.
//
//   checker all            uid, gids, umask, cwd, env, hostname, namespaces, caps,
//                          rlimits, mounts, devices, fds, personality, cgroup, tty...
//   checker stat PATH      lstat of PATH           checker readlink PATH
//   checker write PATH     tries to write PATH     checker cat PATH
//   checker ls DIR         names in DIR            checker sleep N
//   checker exit N         exits with N            checker trap N
//   (trap: waits up to N seconds for a signal, prints {"signal":S} and exits 0)
//   checker seccomp-mode   {"seccomp":M,"filters":N,"no_new_privs":B} from /proc/self/status
//   checker syscall NAME|NR [ARG...]  calls NAME (a table below) or NR with up to 6 args:
//                          numbers (0x.., negative ok) or s:STRING (a pointer to it);
//                          prints {"name","ret","errno","error"}; a SIGSYS (seccomp
//                          TRAP) prints {"name","sigsys":true,"nr":N} and exits 0
//   checker syscall32 NR [ARG...]     the same through int 0x80 (the i386 ABI, 5 args)
//   checker open PATH [r|w|rw]   opens PATH (a device node), reports errno
//   checker fork N         forks up to N children that wait; reports how many
//                          forks succeeded and the errno of the first failure
//   checker tick N         prints {"tick":I} every 10 ms for N seconds (pause tests)
//   checker alloc MB       allocates and touches MB MiB, printing {"mb":I}, then
//                          sleeps 30 s (OOM tests: killed at the memory limit)
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char** environ;

// ---------------------------------------------------------------- JSON output
static int first = 1;  // no comma before the next member/element

static void sep(void) {
  if (!first) putchar(',');
  first = 0;
}

static void str(const char* s) {
  putchar('"');
  for (const unsigned char* p = (const unsigned char*)s; *p; p++) {
    switch (*p) {
      case '"': fputs("\\\"", stdout); break;
      case '\\': fputs("\\\\", stdout); break;
      case '\n': fputs("\\n", stdout); break;
      case '\t': fputs("\\t", stdout); break;
      default:
        if (*p < 0x20 || *p >= 0x7f) printf("\\u%04x", *p);
        else putchar(*p);
    }
  }
  putchar('"');
}

static void key(const char* k) { sep(); str(k); putchar(':'); first = 1; }
static void obj_begin(void) { putchar('{'); first = 1; }
static void obj_end(void) { putchar('}'); first = 0; }
static void arr_begin(void) { putchar('['); first = 1; }
static void arr_end(void) { putchar(']'); first = 0; }
static void kstr(const char* k, const char* v) { key(k); str(v); first = 0; }
static void kint(const char* k, long long v) { key(k); printf("%lld", v); first = 0; }
static void kbool(const char* k, int v) { key(k); fputs(v ? "true" : "false", stdout); first = 0; }
static void eint(long long v) { sep(); printf("%lld", v); }
static void estr(const char* v) { sep(); str(v); }

// ---------------------------------------------------------------- helpers
static char* slurp(const char* path, int* err) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) { if (err) *err = errno; return NULL; }
  size_t cap = 4096, len = 0;
  char* buf = malloc(cap);
  for (;;) {
    if (len + 1024 > cap) buf = realloc(buf, cap *= 2);
    ssize_t n = read(fd, buf + len, cap - len - 1);
    if (n < 0) { if (errno == EINTR) continue; if (err) *err = errno; close(fd); free(buf); return NULL; }
    if (n == 0) break;
    len += (size_t)n;
  }
  close(fd);
  buf[len] = 0;
  if (err) *err = 0;
  return buf;
}

// Value of "Field:" in /proc/self/status, trimmed, or "".
static void status_field(const char* status, const char* field, char* out, size_t outlen) {
  out[0] = 0;
  if (!status) return;
  size_t fl = strlen(field);
  for (const char* line = status; line && *line; ) {
    if (!strncmp(line, field, fl) && line[fl] == ':') {
      const char* v = line + fl + 1;
      while (*v == ' ' || *v == '\t') v++;
      size_t i = 0;
      while (v[i] && v[i] != '\n' && i + 1 < outlen) { out[i] = v[i]; i++; }
      out[i] = 0;
      return;
    }
    line = strchr(line, '\n');
    if (line) line++;
  }
}

static void kerrno(int e) {
  kint("errno", e);
  kstr("error", e ? strerror(e) : "");
}

// Unescapes mountinfo's octal escapes (\040 for space) in place.
static void unoctal(char* s) {
  char* w = s;
  for (char* r = s; *r; ) {
    if (r[0] == '\\' && r[1] >= '0' && r[1] <= '7' && r[2] && r[3]) {
      *w++ = (char)(((r[1] - '0') << 6) | ((r[2] - '0') << 3) | (r[3] - '0'));
      r += 4;
    } else {
      *w++ = *r++;
    }
  }
  *w = 0;
}

// ---------------------------------------------------------------- sections of "all"
static void emit_ids(void) {
  kint("uid", getuid());
  kint("gid", getgid());
  kint("euid", geteuid());
  kint("egid", getegid());
  gid_t groups[256];
  int n = getgroups(256, groups);
  key("groups"); arr_begin();
  for (int i = 0; i < n; i++) eint(groups[i]);
  arr_end();
  mode_t m = umask(0);
  umask(m);
  kint("umask", m);
  char cwd[PATH_MAX];
  kstr("cwd", getcwd(cwd, sizeof cwd) ? cwd : "");
  key("env"); arr_begin();
  for (char** e = environ; e && *e; e++) estr(*e);
  arr_end();
  struct utsname u;
  uname(&u);
  kstr("hostname", u.nodename);
  kstr("domainname", u.domainname);
  kint("pid", getpid());
  kint("ppid", getppid());
}

static void emit_namespaces(void) {
  static const char* names[] = {"cgroup", "ipc", "mnt", "net", "pid", "pid_for_children",
                                "time", "time_for_children", "user", "uts"};
  key("namespaces"); obj_begin();
  for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
    char p[64], t[256];
    snprintf(p, sizeof p, "/proc/self/ns/%s", names[i]);
    ssize_t n = readlink(p, t, sizeof t - 1);
    if (n < 0) continue;
    t[n] = 0;
    kstr(names[i], t);
  }
  obj_end();
}

static void emit_status(void) {
  char* status = slurp("/proc/self/status", NULL);
  char v[128];
  key("caps"); obj_begin();
  static const char* caps[][2] = {{"eff", "CapEff"}, {"prm", "CapPrm"}, {"inh", "CapInh"},
                                  {"bnd", "CapBnd"}, {"amb", "CapAmb"}};
  for (int i = 0; i < 5; i++) { status_field(status, caps[i][1], v, sizeof v); kstr(caps[i][0], v); }
  obj_end();
  kint("no_new_privs", prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));
  status_field(status, "Seccomp", v, sizeof v);
  kint("seccomp", atoi(v));
  free(status);
}

static void emit_rlimits(void) {
  static const struct { const char* name; int res; } lims[] = {
      {"RLIMIT_CPU", RLIMIT_CPU}, {"RLIMIT_FSIZE", RLIMIT_FSIZE}, {"RLIMIT_DATA", RLIMIT_DATA},
      {"RLIMIT_STACK", RLIMIT_STACK}, {"RLIMIT_CORE", RLIMIT_CORE}, {"RLIMIT_RSS", RLIMIT_RSS},
      {"RLIMIT_NPROC", RLIMIT_NPROC}, {"RLIMIT_NOFILE", RLIMIT_NOFILE},
      {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK}, {"RLIMIT_AS", RLIMIT_AS}, {"RLIMIT_LOCKS", RLIMIT_LOCKS},
      {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING}, {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE},
      {"RLIMIT_NICE", RLIMIT_NICE}, {"RLIMIT_RTPRIO", RLIMIT_RTPRIO}, {"RLIMIT_RTTIME", RLIMIT_RTTIME}};
  key("rlimits"); obj_begin();
  for (size_t i = 0; i < sizeof lims / sizeof *lims; i++) {
    struct rlimit r;
    if (getrlimit(lims[i].res, &r)) continue;
    // RLIM_INFINITY is reported as -1 (it does not fit a JSON-safe integer otherwise)
    key(lims[i].name); arr_begin();
    eint(r.rlim_cur == RLIM_INFINITY ? -1 : (long long)r.rlim_cur);
    eint(r.rlim_max == RLIM_INFINITY ? -1 : (long long)r.rlim_max);
    arr_end();
  }
  obj_end();
}

static void emit_proc_misc(void) {
  char* s = slurp("/proc/self/oom_score_adj", NULL);
  kint("oom_score_adj", s ? atoi(s) : 0);
  free(s);
  kint("personality", personality(0xffffffff));
  s = slurp("/proc/self/cgroup", NULL);
  kstr("cgroup", s ? s : "");
  free(s);
  s = slurp("/proc/self/timens_offsets", NULL);
  kstr("timens_offsets", s ? s : "");
  free(s);
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  kint("monotonic", ts.tv_sec);
  clock_gettime(CLOCK_BOOTTIME, &ts);
  kint("boottime", ts.tv_sec);
  key("tty"); arr_begin();
  for (int i = 0; i < 3; i++) { sep(); fputs(isatty(i) ? "true" : "false", stdout); }
  arr_end();
  char t[PATH_MAX];
  ssize_t n = readlink("/proc/self/fd/0", t, sizeof t - 1);
  kstr("stdin", n < 0 ? "" : (t[n] = 0, t));
}

// mountinfo: id parent maj:min root target options [optional...] - fstype source superopts
static void emit_mounts(void) {
  char* mi = slurp("/proc/self/mountinfo", NULL);
  key("mounts"); arr_begin();
  for (char* line = mi ? strtok(mi, "\n") : NULL; line; line = strtok(NULL, "\n")) {
    char* f[64];
    int nf = 0;
    for (char* save = NULL, *tok = strtok_r(line, " ", &save); tok && nf < 64; tok = strtok_r(NULL, " ", &save))
      f[nf++] = tok;
    int dash = -1;
    for (int i = 6; i < nf; i++) if (!strcmp(f[i], "-")) { dash = i; break; }
    if (nf < 6 || dash < 0 || dash + 3 > nf) continue;
    unoctal(f[3]); unoctal(f[4]); unoctal(f[dash + 2]);
    sep(); obj_begin();
    kstr("target", f[4]);
    kstr("root", f[3]);
    kstr("fstype", f[dash + 1]);
    kstr("source", f[dash + 2]);
    kstr("options", f[5]);
    kstr("super_options", dash + 3 < nf ? f[dash + 3] : "");
    // optional fields: shared:N, master:N, propagate_from:N, unbindable
    char prop[256] = "";
    for (int i = 6; i < dash; i++) {
      if (prop[0]) strncat(prop, " ", sizeof prop - strlen(prop) - 1);
      strncat(prop, f[i], sizeof prop - strlen(prop) - 1);
    }
    kstr("propagation", prop);
    obj_end();
  }
  arr_end();
  free(mi);
}

static void emit_device(const char* path) {
  struct stat st;
  if (lstat(path, &st)) return;
  const char* type = S_ISCHR(st.st_mode) ? "c" : S_ISBLK(st.st_mode) ? "b" : S_ISLNK(st.st_mode) ? "l"
                   : S_ISDIR(st.st_mode) ? "d" : S_ISFIFO(st.st_mode) ? "p" : S_ISSOCK(st.st_mode) ? "s" : "f";
  sep(); obj_begin();
  kstr("path", path);
  kstr("type", type);
  kint("major", major(st.st_rdev));
  kint("minor", minor(st.st_rdev));
  kint("mode", st.st_mode & 07777);
  kint("uid", st.st_uid);
  kint("gid", st.st_gid);
  if (S_ISLNK(st.st_mode)) {
    char t[PATH_MAX];
    ssize_t n = readlink(path, t, sizeof t - 1);
    if (n >= 0) { t[n] = 0; kstr("target", t); }
  }
  obj_end();
}

// /dev and one level below it (/dev/pts, /dev/shm, /dev/mqueue...).
static void emit_devices(void) {
  key("devices"); arr_begin();
  DIR* d = opendir("/dev");
  struct dirent* e;
  while (d && (e = readdir(d))) {
    if (e->d_name[0] == '.' && (!e->d_name[1] || (e->d_name[1] == '.' && !e->d_name[2]))) continue;
    char p[PATH_MAX];
    snprintf(p, sizeof p, "/dev/%s", e->d_name);
    emit_device(p);
    struct stat st;
    if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode)) {
      DIR* s = opendir(p);
      struct dirent* se;
      while (s && (se = readdir(s))) {
        if (se->d_name[0] == '.') continue;
        char q[PATH_MAX + 512];
        snprintf(q, sizeof q, "%s/%s", p, se->d_name);
        emit_device(q);
      }
      if (s) closedir(s);
    }
  }
  if (d) closedir(d);
  arr_end();
}

static void emit_fds(void) {
  key("fds"); arr_begin();
  DIR* d = opendir("/proc/self/fd");
  int self = d ? dirfd(d) : -1;
  struct dirent* e;
  while (d && (e = readdir(d))) {
    if (e->d_name[0] == '.') continue;
    int fd = atoi(e->d_name);
    if (fd == self) continue;
    char p[64], t[PATH_MAX];
    snprintf(p, sizeof p, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(p, t, sizeof t - 1);
    t[n < 0 ? 0 : n] = 0;
    sep(); obj_begin();
    kint("fd", fd);
    kstr("target", t);
    obj_end();
  }
  if (d) closedir(d);
  arr_end();
}

// ---------------------------------------------------------------- verbs
static int cmd_all(void) {
  obj_begin();
  emit_ids();
  emit_namespaces();
  emit_status();
  emit_rlimits();
  emit_proc_misc();
  emit_mounts();
  emit_devices();
  emit_fds();
  obj_end();
  putchar('\n');
  return 0;
}

static int cmd_stat(const char* path) {
  struct stat st;
  int rc = lstat(path, &st);
  int e = rc ? errno : 0;
  obj_begin();
  kstr("path", path);
  kbool("exists", rc == 0);
  kerrno(e);
  if (rc == 0) {
    const char* type = S_ISCHR(st.st_mode) ? "c" : S_ISBLK(st.st_mode) ? "b" : S_ISLNK(st.st_mode) ? "l"
                     : S_ISDIR(st.st_mode) ? "d" : S_ISFIFO(st.st_mode) ? "p" : S_ISSOCK(st.st_mode) ? "s" : "f";
    kstr("type", type);
    kint("mode", st.st_mode & 07777);
    kint("uid", st.st_uid);
    kint("gid", st.st_gid);
    kint("major", major(st.st_rdev));
    kint("minor", minor(st.st_rdev));
    kint("size", st.st_size);
    kint("ino", st.st_ino);
    kint("dev", st.st_dev);
  }
  obj_end();
  putchar('\n');
  return 0;
}

static int cmd_write(const char* path) {
  int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  int e = 0;
  if (fd < 0) {
    e = errno;
  } else {
    if (write(fd, "berth-checker\n", 14) < 0) e = errno;
    close(fd);
  }
  obj_begin();
  kstr("path", path);
  kbool("ok", e == 0);
  kerrno(e);
  obj_end();
  putchar('\n');
  return 0;
}

static int cmd_readlink(const char* path) {
  char t[PATH_MAX];
  ssize_t n = readlink(path, t, sizeof t - 1);
  int e = n < 0 ? errno : 0;
  t[n < 0 ? 0 : n] = 0;
  obj_begin();
  kstr("path", path);
  kstr("target", t);
  kerrno(e);
  obj_end();
  putchar('\n');
  return 0;
}

static int cmd_cat(const char* path) {
  int e;
  char* s = slurp(path, &e);
  obj_begin();
  kstr("path", path);
  kstr("content", s ? s : "");
  kerrno(e);
  obj_end();
  putchar('\n');
  free(s);
  return 0;
}

static int cmd_ls(const char* path) {
  DIR* d = opendir(path);
  int e = d ? 0 : errno;
  obj_begin();
  kstr("path", path);
  kerrno(e);
  key("names"); arr_begin();
  struct dirent* de;
  while (d && (de = readdir(d)))
    if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) estr(de->d_name);
  arr_end();
  obj_end();
  putchar('\n');
  if (d) closedir(d);
  return 0;
}

static int cmd_open(const char* path, const char* mode) {
  int flags = !strcmp(mode, "w") ? O_WRONLY : !strcmp(mode, "rw") ? O_RDWR : O_RDONLY;
  int fd = open(path, flags | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  int e = fd < 0 ? errno : 0;
  if (fd >= 0) close(fd);
  obj_begin();
  kstr("path", path);
  kbool("ok", fd >= 0);
  kerrno(e);
  obj_end();
  putchar('\n');
  return 0;
}

// Children block on a pipe until the parent has counted, then all exit.
static int cmd_fork(int n) {
  int p[2];
  if (pipe(p) < 0) return 1;
  int forked = 0, e = 0;
  for (int i = 0; i < n; i++) {
    pid_t pid = fork();
    if (pid < 0) {
      e = errno;
      break;
    }
    if (pid == 0) {
      char c;
      close(p[1]);
      while (read(p[0], &c, 1) < 0 && errno == EINTR) {
      }
      _exit(0);
    }
    forked++;
  }
  close(p[1]);
  while (wait(NULL) > 0 || errno == EINTR) {
  }
  obj_begin();
  kint("forked", forked);
  kerrno(e);
  obj_end();
  putchar('\n');
  return 0;
}

static volatile sig_atomic_t got_signal;
static void on_signal(int s) { got_signal = s; }

// PID 1 of a pid namespace ignores signals that have no handler: install one
// for every catchable signal, so `kill` of the container is observable.
static int cmd_trap(int seconds) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  for (int s = 1; s < 32; s++)
    if (s != SIGKILL && s != SIGSTOP && s != SIGCHLD) sigaction(s, &sa, NULL);
  printf("{\"ready\":true}\n");
  fflush(stdout);
  for (int i = 0; i < seconds * 10 && !got_signal; i++) usleep(100000);
  printf("{\"signal\":%d}\n", (int)got_signal);
  return 0;
}

// ---------------------------------------------------------------- seccomp
static int cmd_seccomp_mode(void) {
  char* st = slurp("/proc/self/status", NULL);
  char mode[32], filters[32], nnp[32];
  status_field(st, "Seccomp", mode, sizeof mode);
  status_field(st, "Seccomp_filters", filters, sizeof filters);
  status_field(st, "NoNewPrivs", nnp, sizeof nnp);
  obj_begin();
  kint("seccomp", atoll(mode));
  kint("filters", atoll(filters));
  kbool("no_new_privs", atoi(nnp));
  obj_end();
  putchar('\n');
  free(st);
  return 0;
}

static const struct { const char* name; long nr; } kSyscalls[] = {
    {"getpid", SYS_getpid},         {"getppid", SYS_getppid},     {"gettid", SYS_gettid},
    {"getuid", SYS_getuid},         {"personality", SYS_personality}, {"mkdirat", SYS_mkdirat},
    {"mkdir", SYS_mkdir},           {"unshare", SYS_unshare},     {"keyctl", SYS_keyctl},
    {"uname", SYS_uname},           {"chdir", SYS_chdir},         {"sethostname", SYS_sethostname},
    {"setns", SYS_setns},           {"mount", SYS_mount},         {"umask", SYS_umask},
    {"socket", SYS_socket},         {"kcmp", SYS_kcmp},           {"sync", SYS_sync},
    {"getpriority", SYS_getpriority}, {"setpriority", SYS_setpriority}, {"getcwd", SYS_getcwd},
    {"add_key", SYS_add_key},       {"acct", SYS_acct},           {"swapon", SYS_swapon},
    {"reboot", SYS_reboot},         {"clock_settime", SYS_clock_settime}, {"ptrace", SYS_ptrace},
};

static const char* sys_name = "";
static void on_sigsys(int sig, siginfo_t* si, void* uc) {
  (void)sig; (void)uc;
  printf("{\"name\":\"%s\",\"sigsys\":true,\"nr\":%d}\n", sys_name, si->si_syscall);
  fflush(stdout);
  _exit(0);
}

static long parse_arg(const char* a) {
  if (!strncmp(a, "s:", 2)) return (long)(a + 2);
  if (a[0] == '-') return (long)strtoll(a, NULL, 0);
  return (long)strtoull(a, NULL, 0);
}

static int cmd_syscall(int argc, char** argv, int i386) {
  long nr = -1;
  sys_name = argv[0];
  if (i386) nr = strtol(argv[0], NULL, 0);
  if (argv[0][0] >= '0' && argv[0][0] <= '9') nr = strtol(argv[0], NULL, 0);  // a raw number
  for (size_t i = 0; !i386 && i < sizeof kSyscalls / sizeof kSyscalls[0]; i++)
    if (!strcmp(kSyscalls[i].name, argv[0])) nr = kSyscalls[i].nr;
  if (nr < 0) { fprintf(stderr, "checker: unknown syscall %s\n", argv[0]); return 2; }
  long a[6] = {0};
  for (int i = 1; i < argc && i <= 6; i++) a[i - 1] = parse_arg(argv[i]);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_sigsys;
  sa.sa_flags = SA_SIGINFO;
  sigaction(SIGSYS, &sa, NULL);
  fflush(stdout);
  long ret;
  int e = 0;
  if (i386) {
#if defined(__x86_64__)
    long r;
    // Five arguments (ebp, the sixth, is left alone).
    __asm__ volatile("int $0x80"
                     : "=a"(r)
                     : "a"(nr), "b"(a[0]), "c"(a[1]), "d"(a[2]), "S"(a[3]), "D"(a[4])
                     : "memory", "r8", "r9", "r10", "r11");
    ret = r;
    if (ret < 0 && ret > -4096) { e = (int)-ret; ret = -1; }
#else
    fprintf(stderr, "checker: syscall32 needs x86_64\n");
    return 2;
#endif
  } else {
    errno = 0;
    ret = syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
    if (ret < 0) e = errno;
  }
  obj_begin();
  kstr("name", argv[0]);
  kint("ret", ret);
  kerrno(e);
  obj_end();
  putchar('\n');
  return 0;
}

static int cmd_tick(int seconds) {
  for (int i = 1; i <= seconds * 100; i++) {
    printf("{\"tick\":%d}\n", i);
    fflush(stdout);
    usleep(10000);
  }
  return 0;
}

static int cmd_alloc(int mb) {
  for (int i = 1; i <= mb; i++) {
    char* p = malloc(1 << 20);
    if (!p) return 1;
    memset(p, i, 1 << 20);
    printf("{\"mb\":%d}\n", i);
    fflush(stdout);
  }
  sleep(30);
  return 0;
}

int main(int argc, char** argv) {
  const char* verb = argc > 1 ? argv[1] : "all";
  const char* arg = argc > 2 ? argv[2] : "";
  int rc = 2;
  if (!strcmp(verb, "all")) rc = cmd_all();
  else if (!strcmp(verb, "stat") && argc > 2) rc = cmd_stat(arg);
  else if (!strcmp(verb, "write") && argc > 2) rc = cmd_write(arg);
  else if (!strcmp(verb, "readlink") && argc > 2) rc = cmd_readlink(arg);
  else if (!strcmp(verb, "cat") && argc > 2) rc = cmd_cat(arg);
  else if (!strcmp(verb, "ls") && argc > 2) rc = cmd_ls(arg);
  else if (!strcmp(verb, "sleep") && argc > 2) { sleep((unsigned)atoi(arg)); rc = 0; }
  else if (!strcmp(verb, "exit") && argc > 2) rc = atoi(arg);
  else if (!strcmp(verb, "trap") && argc > 2) rc = cmd_trap(atoi(arg));
  else if (!strcmp(verb, "tick") && argc > 2) rc = cmd_tick(atoi(arg));
  else if (!strcmp(verb, "alloc") && argc > 2) rc = cmd_alloc(atoi(arg));
  else if (!strcmp(verb, "seccomp-mode")) rc = cmd_seccomp_mode();
  else if (!strcmp(verb, "syscall") && argc > 2) rc = cmd_syscall(argc - 2, argv + 2, 0);
  else if (!strcmp(verb, "syscall32") && argc > 2) rc = cmd_syscall(argc - 2, argv + 2, 1);
  else if (!strcmp(verb, "open") && argc > 2) rc = cmd_open(arg, argc > 3 ? argv[3] : "r");
  else if (!strcmp(verb, "fork") && argc > 2) rc = cmd_fork(atoi(arg));
  else {
    fprintf(stderr, "usage: checker all|stat|write|readlink|cat|ls|sleep|exit|trap|seccomp-mode|syscall|syscall32|open|fork|tick|alloc [ARG]\n");
    return 2;
  }
  fflush(stdout);
  return rc;
}

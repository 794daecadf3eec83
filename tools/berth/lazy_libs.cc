// libcurl and libarchive, loaded on first use instead of at every start.
//
// Linked normally, the two bring 35 shared libraries (gnutls, krb5, ldap,
// ICU, ...) that the dynamic loader maps and relocates before main(): about
// 6 ms of CPU per start here, paid 2-3 times per `berth run` (the command,
// its re-exec from the sealed image, the monitor's exit command), although
// only pull, push, login, load, save, import and cp ever call them. These
// definitions take the libraries' place in the berth executable (linked with
// --as-needed, so neither is a DT_NEEDED of it any more): each forwards to
// the real function, looked up once with dlopen/dlsym. The declarations come
// from the libraries' own headers, so a wrong signature does not compile.
// A library that cannot be loaded ends the process with the loader's
// message, as a missing DT_NEEDED would have ended it at start.
#define CURL_DISABLE_TYPECHECK  // the typecheck macros would rename the variadic functions below
#include <archive.h>
#include <archive_entry.h>
#include <curl/curl.h>
#include <dlfcn.h>

#include <cstdarg>
#include <cstdio>
#include <cstdlib>

namespace {

struct LazyLib {
  const char* soname;  // the SONAME the build linked against (Debian's libcurl4, libarchive13)
  void* handle = nullptr;
};
LazyLib curl_lib{"libcurl.so.4"};
LazyLib archive_lib{"libarchive.so.13"};

[[noreturn]] void fail(const char* what) {
  const char* why = ::dlerror();
  std::fprintf(stderr, "berth: %s: %s\n", what, why ? why : "unknown error");
  std::abort();
}

// RTLD_LOCAL: the library's symbols must not interpose on the executable's.
// Callers reach this from function-local static initialisers, which C++
// serialises; dlopen itself is thread-safe and returns the same handle.
void* lazy_symbol(LazyLib& lib, const char* name) {
  void* handle = __atomic_load_n(&lib.handle, __ATOMIC_ACQUIRE);
  if (!handle) {
    handle = ::dlopen(lib.soname, RTLD_NOW | RTLD_LOCAL);
    if (!handle) fail(lib.soname);
    __atomic_store_n(&lib.handle, handle, __ATOMIC_RELEASE);
  }
  void* sym = ::dlsym(handle, name);
  if (!sym) fail(name);
  return sym;
}

template <typename Fn>
Fn lazy(LazyLib& lib, const char* name) {
  return reinterpret_cast<Fn>(lazy_symbol(lib, name));
}

}  // namespace

#define BERTH_LAZY(lib, ret, name, params, args)                          \
  ret name params {                                                       \
    static const auto real = lazy<decltype(&name)>(lib, #name);           \
    return real args;                                                     \
  }

extern "C" {

// ---- libcurl (registry client). The variadic setters pass their one
// argument on with the type curl reads for that option.
BERTH_LAZY(curl_lib, CURLcode, curl_global_init, (long flags), (flags))
BERTH_LAZY(curl_lib, CURL*, curl_easy_init, (void), ())
BERTH_LAZY(curl_lib, void, curl_easy_cleanup, (CURL * h), (h))
BERTH_LAZY(curl_lib, CURLcode, curl_easy_perform, (CURL * h), (h))
BERTH_LAZY(curl_lib, const char*, curl_easy_strerror, (CURLcode code), (code))
BERTH_LAZY(curl_lib, CURLSH*, curl_share_init, (void), ())
BERTH_LAZY(curl_lib, CURLSHcode, curl_share_cleanup, (CURLSH * sh), (sh))
BERTH_LAZY(curl_lib, struct curl_slist*, curl_slist_append, (struct curl_slist * list, const char* s), (list, s))
BERTH_LAZY(curl_lib, void, curl_slist_free_all, (struct curl_slist * list), (list))

CURLcode curl_easy_setopt(CURL* h, CURLoption option, ...) {
  static const auto real = lazy<decltype(&curl_easy_setopt)>(curl_lib, "curl_easy_setopt");
  va_list ap;
  va_start(ap, option);
  CURLcode r;
  // curl's option numbers encode the argument's type (curl.h CURLOPTTYPE_*).
  if (option < CURLOPTTYPE_OBJECTPOINT)
    r = real(h, option, va_arg(ap, long));
  else if (option < CURLOPTTYPE_FUNCTIONPOINT)
    r = real(h, option, va_arg(ap, void*));
  else if (option < CURLOPTTYPE_OFF_T)
    r = real(h, option, va_arg(ap, void (*)()));
  else if (option < CURLOPTTYPE_BLOB)
    r = real(h, option, va_arg(ap, curl_off_t));
  else
    r = real(h, option, va_arg(ap, void*));
  va_end(ap);
  return r;
}

CURLcode curl_easy_getinfo(CURL* h, CURLINFO info, ...) {
  static const auto real = lazy<decltype(&curl_easy_getinfo)>(curl_lib, "curl_easy_getinfo");
  va_list ap;
  va_start(ap, info);
  CURLcode r = real(h, info, va_arg(ap, void*));  // always a pointer to the result
  va_end(ap);
  return r;
}

CURLSHcode curl_share_setopt(CURLSH* sh, CURLSHoption option, ...) {
  static const auto real = lazy<decltype(&curl_share_setopt)>(curl_lib, "curl_share_setopt");
  va_list ap;
  va_start(ap, option);
  CURLSHcode r;
  switch (option) {
    case CURLSHOPT_SHARE:
    case CURLSHOPT_UNSHARE:
      r = real(sh, option, va_arg(ap, int));  // a curl_lock_data, read as int by curl
      break;
    case CURLSHOPT_LOCKFUNC:
    case CURLSHOPT_UNLOCKFUNC:
      r = real(sh, option, va_arg(ap, void (*)()));
      break;
    default:
      r = real(sh, option, va_arg(ap, void*));
      break;
  }
  va_end(ap);
  return r;
}

// ---- libarchive (load, save, import, unpack, cp)
BERTH_LAZY(archive_lib, struct archive*, archive_read_new, (void), ())
BERTH_LAZY(archive_lib, int, archive_read_free, (struct archive * a), (a))
BERTH_LAZY(archive_lib, int, archive_read_next_header, (struct archive * a, struct archive_entry** e), (a, e))
BERTH_LAZY(archive_lib, la_ssize_t, archive_read_data, (struct archive * a, void* buf, size_t len), (a, buf, len))
BERTH_LAZY(archive_lib, int, archive_read_data_block,
           (struct archive * a, const void** buf, size_t* len, la_int64_t* offset), (a, buf, len, offset))
BERTH_LAZY(archive_lib, int, archive_read_open,
           (struct archive * a, void* data, archive_open_callback* open, archive_read_callback* read,
            archive_close_callback* close),
           (a, data, open, read, close))
BERTH_LAZY(archive_lib, int, archive_read_open_fd, (struct archive * a, int fd, size_t block), (a, fd, block))
BERTH_LAZY(archive_lib, int, archive_read_support_filter_all, (struct archive * a), (a))
BERTH_LAZY(archive_lib, int, archive_read_support_format_empty, (struct archive * a), (a))
BERTH_LAZY(archive_lib, int, archive_read_support_format_gnutar, (struct archive * a), (a))
BERTH_LAZY(archive_lib, int, archive_read_support_format_raw, (struct archive * a), (a))
BERTH_LAZY(archive_lib, int, archive_read_support_format_tar, (struct archive * a), (a))
BERTH_LAZY(archive_lib, struct archive*, archive_write_new, (void), ())
BERTH_LAZY(archive_lib, int, archive_write_free, (struct archive * a), (a))
BERTH_LAZY(archive_lib, int, archive_write_close, (struct archive * a), (a))
BERTH_LAZY(archive_lib, int, archive_write_header, (struct archive * a, struct archive_entry* e), (a, e))
BERTH_LAZY(archive_lib, la_ssize_t, archive_write_data, (struct archive * a, const void* buf, size_t len),
           (a, buf, len))
BERTH_LAZY(archive_lib, int, archive_write_open_fd, (struct archive * a, int fd), (a, fd))
BERTH_LAZY(archive_lib, int, archive_write_set_bytes_in_last_block, (struct archive * a, int n), (a, n))
BERTH_LAZY(archive_lib, int, archive_write_set_format_pax_restricted, (struct archive * a), (a))
BERTH_LAZY(archive_lib, int, archive_errno, (struct archive * a), (a))
BERTH_LAZY(archive_lib, const char*, archive_error_string, (struct archive * a), (a))

void archive_set_error(struct archive* a, int code, const char* format, ...) {
  static const auto real = lazy<decltype(&archive_set_error)>(archive_lib, "archive_set_error");
  char text[1024];
  va_list ap;
  va_start(ap, format);
  std::vsnprintf(text, sizeof text, format, ap);
  va_end(ap);
  real(a, code, "%s", text);
}

BERTH_LAZY(archive_lib, struct archive_entry*, archive_entry_new, (void), ())
BERTH_LAZY(archive_lib, void, archive_entry_free, (struct archive_entry * e), (e))
BERTH_LAZY(archive_lib, time_t, archive_entry_atime, (struct archive_entry * e), (e))
BERTH_LAZY(archive_lib, int, archive_entry_atime_is_set, (struct archive_entry * e), (e))
BERTH_LAZY(archive_lib, long, archive_entry_atime_nsec, (struct archive_entry * e), (e))
BERTH_LAZY(archive_lib, time_t, archive_entry_mtime, (struct archive_entry * e), (e))
BERTH_LAZY(archive_lib, long, archive_entry_mtime_nsec, (struct archive_entry * e), (e))
BERTH_LAZY(archive_lib, __LA_MODE_T, archive_entry_filetype, (struct archive_entry * e), (e))
BERTH_LAZY(archive_lib, __LA_MODE_T, archive_entry_perm, (struct archive_entry * e), (e))
BERTH_LAZY(archive_lib, la_int64_t, archive_entry_gid, (struct archive_entry * e), (e))
BERTH_LAZY(archive_lib, la_int64_t, archive_entry_uid, (struct archive_entry * e), (e))
BERTH_LAZY(archive_lib, dev_t, archive_entry_rdev, (struct archive_entry * e), (e))
BERTH_LAZY(archive_lib, la_int64_t, archive_entry_size, (struct archive_entry * e), (e))
BERTH_LAZY(archive_lib, int, archive_entry_size_is_set, (struct archive_entry * e), (e))
BERTH_LAZY(archive_lib, const char*, archive_entry_hardlink, (struct archive_entry * e), (e))
BERTH_LAZY(archive_lib, const char*, archive_entry_hardlink_utf8, (struct archive_entry * e), (e))
BERTH_LAZY(archive_lib, const char*, archive_entry_pathname, (struct archive_entry * e), (e))
BERTH_LAZY(archive_lib, const char*, archive_entry_pathname_utf8, (struct archive_entry * e), (e))
BERTH_LAZY(archive_lib, const char*, archive_entry_symlink, (struct archive_entry * e), (e))
BERTH_LAZY(archive_lib, const char*, archive_entry_symlink_utf8, (struct archive_entry * e), (e))
BERTH_LAZY(archive_lib, void, archive_entry_set_atime, (struct archive_entry * e, time_t t, long ns), (e, t, ns))
BERTH_LAZY(archive_lib, void, archive_entry_set_mtime, (struct archive_entry * e, time_t t, long ns), (e, t, ns))
BERTH_LAZY(archive_lib, void, archive_entry_set_filetype, (struct archive_entry * e, unsigned int type), (e, type))
BERTH_LAZY(archive_lib, void, archive_entry_set_mode, (struct archive_entry * e, __LA_MODE_T mode), (e, mode))
BERTH_LAZY(archive_lib, void, archive_entry_set_perm, (struct archive_entry * e, __LA_MODE_T perm), (e, perm))
BERTH_LAZY(archive_lib, void, archive_entry_set_gid, (struct archive_entry * e, la_int64_t id), (e, id))
BERTH_LAZY(archive_lib, void, archive_entry_set_uid, (struct archive_entry * e, la_int64_t id), (e, id))
BERTH_LAZY(archive_lib, void, archive_entry_set_rdev, (struct archive_entry * e, dev_t dev), (e, dev))
BERTH_LAZY(archive_lib, void, archive_entry_set_size, (struct archive_entry * e, la_int64_t size), (e, size))
BERTH_LAZY(archive_lib, void, archive_entry_set_hardlink, (struct archive_entry * e, const char* p), (e, p))
BERTH_LAZY(archive_lib, void, archive_entry_set_pathname, (struct archive_entry * e, const char* p), (e, p))
BERTH_LAZY(archive_lib, void, archive_entry_set_symlink, (struct archive_entry * e, const char* p), (e, p))
BERTH_LAZY(archive_lib, int, archive_entry_xattr_reset, (struct archive_entry * e), (e))
BERTH_LAZY(archive_lib, int, archive_entry_xattr_next,
           (struct archive_entry * e, const char** name, const void** value, size_t* size), (e, name, value, size))

}  // extern "C"

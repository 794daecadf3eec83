// libFuzzer target: the tar reader (libarchive) + Berth's safe extractor, and
// the gzip/zstd decompressors in front of them (chosen by the input's magic
// bytes). Each input is extracted into a fresh temp directory; a sentinel
// directory beside it must stay untouched, or the run aborts.
#include <dirent.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <span>
#include <string>

#include "image/remove_tree.h"
#include "image/unpack.h"

namespace {

using namespace berth::image;

// A fresh base dir per input (libFuzzer ends with _Exit: no destructor
// would remove a shared one).
struct Dirs {
  std::string base, layer, sentinel;
  Dirs() {
    char tmpl[] = "/tmp/berth-test-fuzz-unpack-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) abort();
    base = tmpl;
    layer = base + "/layer";
    sentinel = base + "/sentinel";
    if (::mkdir(sentinel.c_str(), 0755) < 0 || ::mkdir(layer.c_str(), 0755) < 0) abort();
    FILE* f = fopen((sentinel + "/file").c_str(), "w");
    if (f == nullptr) abort();
    fputs("precious", f);
    fclose(f);
  }
  ~Dirs() {
    if (!remove_tree(base)) abort();
  }
};

size_t count_entries(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) abort();
  size_t n = 0;
  while (dirent* e = ::readdir(d)) n += std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0;
  ::closedir(d);
  return n;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Dirs d;
  auto bytes = std::as_bytes(std::span(data, size));
  MemorySource src(bytes);
  UnpackOptions options;
  options.max_entries = 5000;
  (void)unpack_layer(src, sniff_compression(bytes), d.layer, options);
  // Contained: nothing new beside the layer, nothing changed in the sentinel.
  if (count_entries(d.base) != 2 || count_entries(d.sentinel) != 1) {
    fprintf(stderr, "fuzz_unpack: an entry was written outside the layer directory\n");
    abort();
  }
  return 0;
}

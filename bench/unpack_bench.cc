// Helper of bench/unpack.sh.
//
//   unpack_bench decompress FILE.gz...   gzip decompression speed of zlib
//                                        (streaming), ISA-L (streaming, Berth's
//                                        decompressor) and libdeflate (whole
//                                        buffer only), inputs in memory
//   unpack_bench unpack DIR FILE...      Berth's unpack of each layer FILE into
//                                        DIR/<n> (created), PARALLEL (default 2)
//                                        layers at a time; prints the wall time
#include <fcntl.h>
#include <libdeflate.h>
#include <sys/stat.h>
#include <zlib.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "base/file.h"
#include "image/decompress.h"
#include "image/unpack.h"

using namespace berth;
using namespace berth::image;
using Clock = std::chrono::steady_clock;

namespace {

double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// CPU time of this thread: stable when other work shares the cores.
double cpu_now() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

std::string load(const char* path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

size_t zlib_gunzip(const std::string& in) {
  z_stream z{};
  inflateInit2(&z, 16 + MAX_WBITS);
  std::vector<unsigned char> out(512 * 1024);
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  size_t total = 0;
  for (;;) {
    z.next_out = out.data();
    z.avail_out = static_cast<uInt>(out.size());
    int r = inflate(&z, Z_NO_FLUSH);
    total += out.size() - z.avail_out;
    if (r == Z_STREAM_END) {
      if (z.avail_in == 0) break;
      inflateReset(&z);  // the next member
      continue;
    }
    if (r != Z_OK) {
      fprintf(stderr, "zlib: error %d\n", r);
      exit(1);
    }
  }
  inflateEnd(&z);
  return total;
}

size_t isal_gunzip(const std::string& in) {
  MemorySource src(in);
  auto dec = decompressor(src, Compression::gzip);
  std::vector<std::byte> out(512 * 1024);
  size_t total = 0;
  for (;;) {
    auto n = dec->read(out);
    if (!n) {
      fprintf(stderr, "isa-l: %s\n", n.error().what().c_str());
      exit(1);
    }
    if (*n == 0) return total;
    total += *n;
  }
}

size_t libdeflate_gunzip(const std::string& in) {
  // The whole output at once: its size from the gzip trailer (ISIZE, mod 2^32).
  const auto* t = reinterpret_cast<const unsigned char*>(in.data() + in.size() - 4);
  const size_t size = t[0] | (t[1] << 8) | (t[2] << 16) | (size_t{t[3]} << 24);
  std::unique_ptr<char[]> out(new char[size]);
  libdeflate_decompressor* d = libdeflate_alloc_decompressor();
  size_t got = 0;
  if (libdeflate_gzip_decompress(d, in.data(), in.size(), out.get(), size, &got) != LIBDEFLATE_SUCCESS) {
    fprintf(stderr, "libdeflate: failed\n");
    exit(1);
  }
  libdeflate_free_decompressor(d);
  return got;
}

int decompress(int argc, char** argv) {
  std::vector<std::string> inputs;
  size_t compressed = 0;
  for (int i = 0; i < argc; ++i) {
    inputs.push_back(load(argv[i]));
    compressed += inputs.back().size();
  }
  struct Lib {
    const char* name;
    size_t (*fn)(const std::string&);
  } libs[] = {{"zlib", zlib_gunzip}, {"isa-l", isal_gunzip}, {"libdeflate", libdeflate_gunzip}};
  double zlib_cpu = 0;
  for (const Lib& lib : libs) {
    double best = 1e9, best_cpu = 1e9;
    size_t total = 0;
    for (int run = 0; run < 3; ++run) {
      total = 0;
      auto t = Clock::now();
      double c = cpu_now();
      for (const auto& in : inputs) total += lib.fn(in);
      best = std::min(best, since(t));
      best_cpu = std::min(best_cpu, cpu_now() - c);
    }
    if (zlib_cpu == 0) zlib_cpu = best_cpu;
    printf("%-11s cpu %6.3f s  wall %6.3f s  %6.1f MB/s out (cpu)  %.2fx zlib  (%zu -> %zu bytes, best of 3)\n",
           lib.name, best_cpu, best, total / best_cpu / 1e6, zlib_cpu / best_cpu, compressed, total);
  }
  return 0;
}

int unpack(int argc, char** argv) {
  const std::string out = argv[0];
  const char* env = getenv("PARALLEL");
  const unsigned parallel = env ? static_cast<unsigned>(atoi(env)) : 2;
  std::vector<std::unique_ptr<FdSource>> sources;
  std::vector<LayerJob> jobs;
  for (int i = 1; i < argc; ++i) {
    auto fd = open_file(argv[i], O_RDONLY);
    if (!fd) {
      fprintf(stderr, "%s\n", fd.error().what().c_str());
      return 1;
    }
    sources.push_back(std::make_unique<FdSource>(std::move(*fd), argv[i]));
    const std::string dir = out + "/" + std::to_string(i);
    mkdir(dir.c_str(), 0755);
    std::string name = argv[i];
    Compression c = name.ends_with(".gz") ? Compression::gzip : name.ends_with(".zst") ? Compression::zstd
                                                                                       : Compression::none;
    jobs.push_back({sources.back().get(), c, dir});
  }
  auto t = Clock::now();
  auto results = unpack_layers(jobs, {}, parallel);
  const double s = since(t);
  uint64_t entries = 0, bytes = 0;
  for (size_t i = 0; i < results.size(); ++i) {
    if (!results[i]) {
      fprintf(stderr, "%s: %s\n", argv[i + 1], results[i].error().what().c_str());
      return 1;
    }
    entries += results[i]->entries;
    bytes += results[i]->bytes;
  }
  printf("berth unpack: %.3f s, %zu layers, %llu entries, %llu tar bytes, parallel %u\n", s, results.size(),
         static_cast<unsigned long long>(entries), static_cast<unsigned long long>(bytes), parallel);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 3 && std::string(argv[1]) == "decompress") return decompress(argc - 2, argv + 2);
  if (argc >= 4 && std::string(argv[1]) == "unpack") return unpack(argc - 2, argv + 2);
  fprintf(stderr, "usage: unpack_bench decompress FILE.gz... | unpack DIR FILE...\n");
  return 2;
}

#include "image/unpack.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <openssl/evp.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "base/file.h"
#include "image/unpack_writer.h"

namespace berth::image {
namespace {

constexpr size_t kChunkSize = 512 * 1024;
constexpr size_t kChunks = 8;

// Decompressed chunks handed from the decompressing thread to the extracting
// one: a fixed pool, so memory stays bounded and no chunk is copied.
class ChunkQueue {
 public:
  struct Chunk {
    std::unique_ptr<std::byte[]> data{new std::byte[kChunkSize]};
    size_t size = 0;
  };

  ChunkQueue() {
    for (auto& c : pool_) free_.push_back(&c);
  }

  // Producer: a chunk to fill, or nullptr once the consumer gave up.
  Chunk* take_free() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return cancelled_ || !free_.empty(); });
    if (cancelled_) return nullptr;
    Chunk* c = free_.front();
    free_.pop_front();
    return c;
  }
  void push_full(Chunk* c) {
    {
      std::lock_guard lock(mu_);
      full_.push_back(c);
    }
    cv_.notify_all();
  }
  // Producer: no more chunks (at the end of the stream or on `err`).
  void close(std::optional<Error> err) {
    {
      std::lock_guard lock(mu_);
      closed_ = true;
      error_ = std::move(err);
    }
    cv_.notify_all();
  }
  // Consumer: the next chunk, or nullptr at the end (or the producer's error).
  Chunk* take_full() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return closed_ || !full_.empty(); });
    if (full_.empty()) return nullptr;
    Chunk* c = full_.front();
    full_.pop_front();
    return c;
  }
  void give_back(Chunk* c) {
    {
      std::lock_guard lock(mu_);
      free_.push_back(c);
    }
    cv_.notify_all();
  }
  void cancel() {
    {
      std::lock_guard lock(mu_);
      cancelled_ = true;
    }
    cv_.notify_all();
  }
  std::optional<Error> error() {
    std::lock_guard lock(mu_);
    return error_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::array<Chunk, kChunks> pool_;
  std::deque<Chunk*> free_, full_;
  bool closed_ = false;
  bool cancelled_ = false;
  std::optional<Error> error_;
};

struct Sha256 {
  Sha256() : ctx(EVP_MD_CTX_new()) { EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr); }
  ~Sha256() { EVP_MD_CTX_free(ctx); }
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void update(const void* p, size_t n) { EVP_DigestUpdate(ctx, p, n); }
  std::string hex() {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_DigestFinal_ex(ctx, md, &len);
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    for (unsigned i = 0; i < len; ++i) {
      out += kHex[md[i] >> 4];
      out += kHex[md[i] & 15];
    }
    return out;
  }
  EVP_MD_CTX* ctx;
};

// The decompressing thread: fills chunks, hashing the tar stream as it goes.
struct Producer {
  ByteSource& source;
  Compression compression;
  ChunkQueue& queue;
  oci::Digest diff_id;
  uint64_t bytes = 0;

  void run() {
    std::optional<Error> err;
    auto in = decompressor(source, compression);
    Sha256 sha;
    bool eof = false;
    while (!eof) {
      ChunkQueue::Chunk* c = queue.take_free();
      if (c == nullptr) break;  // the extraction failed; stop early
      c->size = 0;
      // Full chunks mean fewer hand-offs between the threads.
      while (c->size < kChunkSize) {
        auto n = in->read({c->data.get() + c->size, kChunkSize - c->size});
        if (!n) {
          err = std::move(n).error();
          break;
        }
        if (*n == 0) {
          eof = true;
          break;
        }
        c->size += *n;
      }
      if (err) {
        queue.give_back(c);
        break;
      }
      sha.update(c->data.get(), c->size);
      bytes += c->size;
      if (c->size > 0) {
        queue.push_full(c);
      } else {
        queue.give_back(c);
      }
    }
    if (!err) diff_id = oci::Digest{"sha256", sha.hex()};
    queue.close(std::move(err));
  }
};

// libarchive's read callback: zero-copy over the queue's chunks.
struct Reader {
  ChunkQueue& queue;
  ChunkQueue::Chunk* current = nullptr;

  static la_ssize_t read(archive* a, void* self, const void** buf) {
    auto* r = static_cast<Reader*>(self);
    if (r->current != nullptr) r->queue.give_back(r->current);
    r->current = r->queue.take_full();
    if (r->current == nullptr) {
      if (auto err = r->queue.error()) {
        archive_set_error(a, EIO, "%s", err->what().c_str());
        return -1;
      }
      return 0;
    }
    *buf = r->current->data.get();
    return static_cast<la_ssize_t>(r->current->size);
  }
  // Hands back every chunk up to the end of the stream (the bytes after the
  // tar's end-of-archive blocks still count for the diff ID).
  void drain() {
    if (current != nullptr) queue.give_back(current);
    while ((current = queue.take_full()) != nullptr) queue.give_back(current);
  }
};

struct ArchiveDeleter {
  void operator()(archive* a) const { archive_read_free(a); }
};

Result<uint64_t> extract(ChunkQueue& queue, const UniqueFd& dir, const UnpackOptions& options) {
  std::unique_ptr<archive, ArchiveDeleter> a(archive_read_new());
  if (!a) return error("libarchive: out of memory");
  // Only tar (ustar, pax, GNU, with their long names, sparse files and
  // xattrs) and the empty stream: no other format's reader is exposed to
  // untrusted input. Decompression happened already.
  archive_read_support_format_tar(a.get());
  archive_read_support_format_empty(a.get());
  Reader reader{queue};
  if (archive_read_open(a.get(), &reader, nullptr, &Reader::read, nullptr) != ARCHIVE_OK) {
    return error("read tar: {}", archive_message(a.get()));
  }
  LayerWriter writer(dir, options);
  uint64_t entries = 0;
  std::string last = "(none)";
  for (;;) {
    archive_entry* e = nullptr;
    int r = archive_read_next_header(a.get(), &e);
    if (r == ARCHIVE_EOF) break;
    if (r == ARCHIVE_RETRY) continue;
    if (r < ARCHIVE_WARN) {
      return error("read tar after {} entries (the last \"{}\"): {}", entries, last, archive_message(a.get()));
    }
    if (++entries > options.max_entries) {
      return error("the layer has more than {} entries", options.max_entries);
    }
    const char* name = archive_entry_pathname(e);
    if (name == nullptr) name = archive_entry_pathname_utf8(e);
    last = name ? name : "?";
    if (auto w = writer.write(a.get(), e); !w) {
      return std::unexpected(std::move(w).error().context(fmt::format("entry \"{}\"", last)));
    }
  }
  BERTH_TRY(writer.finish());
  reader.drain();
  return entries;
}

}  // namespace

Result<UnpackStats> unpack_layer(ByteSource& src, Compression compression, const UniqueFd& dir,
                                 const UnpackOptions& options) {
  ChunkQueue queue;
  Producer producer{src, compression, queue, {}, 0};
  std::thread thread([&] { producer.run(); });
  auto entries = extract(queue, dir, options);
  if (!entries) queue.cancel();
  thread.join();
  // A broken stream (bad CRC, truncation) is the root cause of whatever the
  // tar reader saw after it.
  if (auto err = queue.error()) return std::unexpected(std::move(*err).context("unpack layer"));
  if (!entries) return std::unexpected(std::move(entries).error().context("unpack layer"));
  return UnpackStats{std::move(producer.diff_id), producer.bytes, *entries};
}

Result<UnpackStats> unpack_layer(ByteSource& src, Compression compression, const std::string& dir,
                                 const UnpackOptions& options) {
  BERTH_TRY_ASSIGN(fd, open_file(dir, O_RDONLY | O_DIRECTORY));
  return with_context(unpack_layer(src, compression, fd, options), fmt::format("into \"{}\"", dir));
}

std::vector<Result<UnpackStats>> unpack_layers(std::span<const LayerJob> jobs, const UnpackOptions& options,
                                               unsigned parallel) {
  std::vector<Result<UnpackStats>> results(jobs.size(), std::unexpected(Error(0, "not run")));
  std::atomic<size_t> next{0};
  auto worker = [&] {
    for (size_t i; (i = next.fetch_add(1)) < jobs.size();) {
      results[i] = unpack_layer(*jobs[i].source, jobs[i].compression, jobs[i].dir, options);
    }
  };
  std::vector<std::thread> threads;
  const unsigned n = std::max(1u, std::min<unsigned>(parallel, static_cast<unsigned>(jobs.size())));
  for (unsigned t = 1; t < n; ++t) threads.emplace_back(worker);
  worker();
  for (auto& t : threads) t.join();
  return results;
}

}  // namespace berth::image

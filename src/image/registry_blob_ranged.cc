// RegistryClient::Impl::fetch_ranged: a large blob in pieces over several
// connections (registry_internal.h says how).
#include <condition_variable>
#include <cstdio>
#include <thread>

#include "image/registry_internal.h"

namespace berth::image {

using namespace registry_detail;

Result<std::optional<int64_t>> RegistryClient::Impl::fetch_ranged(Remote& ep, const std::string& repository,
                                                                  const oci::Descriptor& d, IngestWriter& writer,
                                                                  const BlobProgress& progress,
                                                                  const BlobPrefix& prefix) {
  const Config& cfg = options.config;
  BERTH_TRY(writer.start_ranges());
  std::vector<ByteRange> done = writer.written_ranges();
  if (writer.offset() > 0) add_range(done, {0, writer.offset()});
  struct Piece {
    ByteRange range;
    int64_t pos;  // next byte to write
    bool active = false;
  };
  std::vector<Piece> pieces;
  for (const auto& r : missing_ranges(done, d.size, cfg.range_chunk_size)) pieces.push_back({r, r.start});
  std::mutex mu;  // everything below
  std::condition_variable cv;
  enum class Mode { probing, ranges, whole } mode = Mode::probing;
  size_t next = 0;
  std::optional<Error> failed;
  int64_t fetched = 0, last_prefix = -1;
  std::mutex record_mu;  // the ranges record, written outside `mu`
  if (prefix) prefix(contiguous_prefix(done));

  // Under `mu`: the written prefix and byte count, counting pieces in flight.
  auto written = [&] {
    std::vector<ByteRange> all = done;
    for (const auto& p : pieces)
      if (p.active && p.pos > p.range.start) all.push_back({p.range.start, p.pos});
    all = merge_ranges(std::move(all));
    return std::pair{contiguous_prefix(all), covered_bytes(all)};
  };
  auto record = [&](std::vector<ByteRange> set) -> Result<> {
    std::lock_guard lock(record_mu);
    return writer.record_ranges(set);
  };
  // One piece, with send()'s retries resuming it where it stopped.
  auto fetch_piece = [&](Piece& piece) -> Result<> {
    BERTH_TRY_ASSIGN(resp, send(ep, pull_scope(repository), [&](HttpRequest& req) -> Result<> {
      req.url = fmt::format("{}/v2/{}/blobs/{}", base(ep), repository, d.digest);
      req.headers.push_back(fmt::format("Range: bytes={}-{}", piece.pos, piece.range.end - 1));
      bool first = true;
      req.sink = [&, first](const HttpResponse& r, long status, std::span<const std::byte> data) mutable -> Result<> {
        if (first) {
          first = false;
          if (status != 206) {
            std::lock_guard lock(mu);
            if (mode == Mode::probing) {
              mode = Mode::whole;
              cv.notify_all();
              return error("blob {}: no range support", d.digest);  // ends this request
            }
            return error("blob {}: the registry answered {} to a range request after answering 206", d.digest,
                         status);
          }
          // "bytes first-last/total": it must be the piece asked for.
          std::string cr = r.header("content-range");
          int64_t first_byte = -1, total = -1;
          if (std::sscanf(cr.c_str(), "bytes %ld-%*d/%ld", &first_byte, &total) < 1 || first_byte != piece.pos ||
              (total >= 0 && total != d.size))
            return error("blob {}: asked for bytes {}-{} of {}, the registry answered \"{}\"", d.digest, piece.pos,
                         piece.range.end - 1, d.size, cr);
          std::lock_guard lock(mu);
          if (mode == Mode::probing) {
            mode = Mode::ranges;
            cv.notify_all();
          }
        }
        if (piece.pos + std::ssize(data) > piece.range.end)
          return error("blob {}: more data than the {} bytes asked for at {}", d.digest,
                       piece.range.end - piece.range.start, piece.range.start);
        BERTH_TRY(writer.write_at(piece.pos, data));
        int64_t covered = 0;
        {
          std::lock_guard lock(mu);
          if (failed) return error("blob {}: stopped (another connection failed)", d.digest);
          piece.pos += std::ssize(data);
          fetched += std::ssize(data);
          int64_t now_prefix = 0;
          std::tie(now_prefix, covered) = written();
          // Under `mu`, so that the reader sees the prefix only grow.
          if (prefix && now_prefix != last_prefix) prefix(now_prefix);
          last_prefix = now_prefix;
        }
        if (progress) progress(covered, d.size);
        return {};
      };
      return {};
    }));
    if (resp.status == 404) return error("blob {} not found in {}/{}", d.digest, registry, repository);
    if (resp.status == 416)
      return error("blob {}: the registry refuses bytes {}-{} (is the blob shorter than {} bytes?)", d.digest,
                   piece.pos, piece.range.end - 1, d.size);
    if (resp.status != 206) return error("blob {}: {}", d.digest, registry_error_text(resp));
    if (piece.pos != piece.range.end)
      return error("blob {}: size mismatch: the registry sent {} of the {} bytes asked for at {}", d.digest,
                   piece.pos - piece.range.start, piece.range.end - piece.range.start, piece.range.start);
    return {};
  };
  auto worker = [&](bool prober) {
    for (;;) {
      Piece* piece = nullptr;
      {
        std::unique_lock lock(mu);
        if (!prober) cv.wait(lock, [&] { return mode != Mode::probing || failed; });
        if (failed || mode == Mode::whole || next == pieces.size()) return;
        piece = &pieces[next++];
        piece->active = true;
      }
      prober = false;
      auto r = fetch_piece(*piece);
      std::vector<ByteRange> snapshot;
      {
        std::lock_guard lock(mu);
        piece->active = false;
        if (piece->pos > piece->range.start) add_range(done, {piece->range.start, piece->pos});
        snapshot = done;
        if (!r && mode != Mode::whole && !failed) failed = std::move(r).error();
        if (!r) cv.notify_all();
      }
      if (piece->pos > piece->range.start) {
        auto rec = record(std::move(snapshot));
        if (!rec) {
          std::lock_guard lock(mu);
          if (!failed) failed = std::move(rec).error();
          cv.notify_all();
        }
      }
      if (!r) return;
    }
  };
  if (!pieces.empty()) {
    int n = std::max(1, std::min<int>(cfg.max_connections_per_layer, static_cast<int>(pieces.size())));
    std::vector<std::thread> threads;
    for (int i = 1; i < n; ++i) threads.emplace_back(worker, false);
    worker(true);
    for (auto& t : threads) t.join();
  }
  if (failed) return std::unexpected(std::move(*failed));
  if (mode == Mode::whole) return std::optional<int64_t>();
  if (contiguous_prefix(done) != d.size)
    return error("blob {}: ranged download ended with {} of {} bytes", d.digest, covered_bytes(done), d.size);
  writer.set_offset(d.size);
  if (prefix) prefix(d.size);
  return std::optional<int64_t>(fetched);
}

}  // namespace berth::image

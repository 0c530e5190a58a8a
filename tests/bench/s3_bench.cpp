// S3 delivery benchmark, printed side by side in one run:
//
// A backlog of about 1 GB of sealed batches (10,000 records of ~500 bytes
// each, as under a burst) waits in the journal, as after an outage. The
// pipeline then drains it to the local fake S3 (tests/support/fake_aws.py,
// which checks every signature with botocore): batches per second, MB/s of
// evidence and of gzip'd objects, against the fake's own ceiling measured
// right after (the same number of objects of the same size PUT by a bare
// signed loop, no journal read or gzip). Resident memory is sampled while
// the backlog drains; it stays flat when it does not grow with the backlog.
//
// Figures, not assertions: this is not a timed test.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>

#include "agent/aws/s3.h"
#include "agent/core/encoding.h"
#include "agent/evidence/journal.h"
#include "agent/evidence/pipeline.h"
#include "agent/evidence/sealer.h"
#include "agent/sinks/s3_sink.h"
#include "tests/support/aws_fixture.h"
#include "tests/support/fake_aws.h"
#include "tests/support/temp_dir.h"

namespace demarc {
namespace {

using SteadyClock = std::chrono::steady_clock;

long rssKb() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

v1::Record event(uint64_t i) {
  v1::Record r;
  auto& p = *r.mutable_process();
  p.set_pid(static_cast<uint32_t>(1000 + i % 30000));
  p.set_executable("/usr/bin/curl");
  for (const char* a : {"curl", "-fsS", "--retry", "3", "-o", "/tmp/out"}) p.add_argv(a);
  // Hashes and ids do not compress: evidence gzips about 5 to 10 times.
  std::string token = toHex(sha256(std::to_string(i)));
  p.add_argv("https://example.com/download/" + token + "?session=" + token.substr(0, 32) +
             "&n=" + std::to_string(i));
  p.set_exe_sha256(token);
  p.set_cwd("/home/ops");
  return r;
}

// Seals records into the journal until it holds `target` bytes, with the
// s3 sink's cursor at the start.
uint64_t fillJournal(const std::filesystem::path& path, uint64_t target) {
  auto signer = evidence::Signer::generate();
  evidence::Sealer sealer(*signer, "bench", v1::HostIdentity(), {}, "bench");
  auto journal =
      evidence::Journal::open({.path = path, .max_bytes = 4ULL << 30, .fsync = false}, {"s3"});
  RealClock clock;
  evidence::Pipeline pipeline({.batch_max_records = 10'000,
                               .batch_max_age = std::chrono::seconds(60),
                               .max_pending_records = 200'000},
                              sealer, **journal, {}, clock);
  pipeline.start();
  for (uint64_t i = 0; pipeline.stats().journal_bytes < target; ++i) {
    while (!pipeline.submit(event(i))) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  pipeline.stop(std::chrono::seconds(60));
  return (*journal)->byteCount();
}

struct Drain {
  double seconds = 0;
  uint64_t batches = 0;
  uint64_t bytes = 0;
  long rss_start_kb = 0;
  long rss_peak_kb = 0;
  long rss_end_kb = 0;
  std::vector<long> rss_by_tenth;  // at 10%, 20%, ... of the batches delivered
};

Drain drain(const std::filesystem::path& path, const testing::FakeAws& fake) {
  auto journal =
      evidence::Journal::open({.path = path, .max_bytes = 4ULL << 30, .fsync = false}, {"s3"});
  Drain d;
  d.batches = (*journal)->backlog("s3");
  d.bytes = (*journal)->byteCount();
  auto signer = evidence::Signer::generate();
  evidence::Sealer sealer(*signer, "bench", v1::HostIdentity(), (*journal)->chainPosition(),
                          "bench");
  RealClock clock;
  auto credentials = testing::staticCredentials(clock);
  std::vector<std::unique_ptr<evidence::Sink>> sinks;
  sinks.push_back(std::make_unique<sinks::S3Sink>(
      sinks::S3SinkOptions{.bucket = "evidence"},
      std::make_unique<aws::AwsClient>(testing::fakeEndpoint("s3", fake.url()), *credentials,
                                       clock),
      clock));
  evidence::Pipeline pipeline({.batch_max_age = std::chrono::seconds(3600)}, sealer, **journal,
                              std::move(sinks), clock);
  d.rss_start_kb = rssKb();
  auto start = SteadyClock::now();
  pipeline.start();
  size_t next_tenth = 1;
  for (;;) {
    uint64_t left = (*journal)->backlog("s3");
    long rss = rssKb();
    d.rss_peak_kb = std::max(d.rss_peak_kb, rss);
    while (next_tenth <= 10 && (d.batches - left) * 10 >= next_tenth * d.batches) {
      d.rss_by_tenth.push_back(rss);
      ++next_tenth;
    }
    if (left == 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  d.seconds = std::chrono::duration<double>(SteadyClock::now() - start).count();
  d.rss_end_kb = rssKb();
  pipeline.stop(std::chrono::seconds(10));
  return d;
}

// The fake's ceiling: n PUTs of `size` random bytes on one connection,
// signed, nothing else.
double ceilingSeconds(const testing::FakeAws& fake, uint64_t n, size_t size) {
  RealClock clock;
  auto credentials = testing::staticCredentials(clock);
  aws::AwsClient client(testing::fakeEndpoint("s3", fake.url()), *credentials, clock);
  std::string body(size, '\0');
  for (size_t i = 0; i < size; ++i) body[i] = static_cast<char>((i * 2654435761U) >> 13);
  auto start = SteadyClock::now();
  for (uint64_t i = 0; i < n; ++i) {
    aws::HttpRequest r;
    r.method = "PUT";
    r.url = aws::s3Url(client, "ceiling", "object-" + std::to_string(i));
    r.body = body;
    auto reply = client.send("s3", std::move(r));
    if (!reply.ok() || reply->status != 200) {
      std::fprintf(stderr, "bench: ceiling PUT failed\n");
      std::exit(1);
    }
  }
  return std::chrono::duration<double>(SteadyClock::now() - start).count();
}

}  // namespace
}  // namespace demarc

int main(int argc, char** argv) {
  using namespace demarc;
  uint64_t target = 1ULL << 30;
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::string(argv[i]) == "--bytes") target = std::stoull(argv[i + 1]);
  }
  testing::TempDir dir;
  // The backlog is sealed by a child process, so the memory measured below
  // is the draining process's alone.
  auto fill_start = SteadyClock::now();
  pid_t child = fork();
  if (child == 0) {
    fillJournal(dir / "journal", target);
    _exit(0);
  }
  int status = 0;
  waitpid(child, &status, 0);
  double fill_s = std::chrono::duration<double>(SteadyClock::now() - fill_start).count();
  uint64_t filled = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir / "journal")) {
    if (e.path().extension() == ".batch") filled += e.file_size();
  }
  testing::FakeAws fake;
  Drain d = drain(dir / "journal", fake);
  auto state = fake.state();
  uint64_t wire = 0;
  for (const auto& [key, size] : state["objects"].items()) wire += size.get<uint64_t>();
  const size_t objects = state["objects"].size();
  double ceiling = ceilingSeconds(fake, objects, wire / std::max<size_t>(objects, 1));
  const double mb = 1e6;
  std::printf(
      "S3 delivery: a %.0f MB backlog (%lu batches, sealed in %.1f s) drained to the "
      "local fake S3 (every signature checked with botocore):\n",
      static_cast<double>(filled) / mb, d.batches, fill_s);
  std::printf(
      "  demarc pipeline   %6.1f batches/s  %6.1f MB/s of evidence  %6.1f MB/s gzip'd "
      "(%lu objects, %.1f MB)\n",
      static_cast<double>(d.batches) / d.seconds, static_cast<double>(d.bytes) / mb / d.seconds,
      static_cast<double>(wire) / mb / d.seconds, objects, static_cast<double>(wire) / mb);
  std::printf(
      "  bare signed PUTs  %6.1f objects/s                        %6.1f MB/s (same "
      "count and size)\n",
      static_cast<double>(objects) / ceiling, static_cast<double>(wire) / mb / ceiling);
  std::printf(
      "  ratio (bare PUT time / drain time): %.2f: the rest of the drain is the agent "
      "reading, checking and gzip'ing batches\n",
      ceiling / d.seconds);
  // Flat: the peak stays within a few batches of the start, whatever the
  // backlog (one batch is read, gzip'd and sent at a time).
  const double batch_mb = static_cast<double>(filled) / mb / static_cast<double>(d.batches);
  const double growth_mb = static_cast<double>(d.rss_peak_kb - d.rss_start_kb) * 1024 / mb;
  std::printf(
      "  resident memory while draining: %.1f MiB at start, %.1f MiB peak, %.1f MiB at "
      "the end: +%.1f MB for a %.0f MB backlog of %.1f MB batches: %s\n",
      static_cast<double>(d.rss_start_kb) / 1024, static_cast<double>(d.rss_peak_kb) / 1024,
      static_cast<double>(d.rss_end_kb) / 1024, growth_mb, static_cast<double>(filled) / mb,
      batch_mb, growth_mb <= 4 * batch_mb ? "flat (within 4 batches)" : "GROWS");
  std::printf("  RSS at each tenth delivered (MiB):");
  for (long kb : d.rss_by_tenth) std::printf(" %.0f", static_cast<double>(kb) / 1024);
  std::printf("\n");
  if (!state["violations"].empty() || objects != d.batches) {
    std::printf("  FAILED: %zu objects for %lu batches; violations %s\n", objects, d.batches,
                state["violations"].dump().c_str());
    return 1;
  }
  return 0;
}

// Benchmarks for the evidence spine, printed side by side in one run:
//
// 1. Records sealed and journaled per second on one core with an fsync per
//    batch, against the raw I/O floor (the same bytes written and fsynced per
//    batch with no encoding or signing) measured right after it.
// 2. The agent's resident memory at idle, against a do-nothing process.
//
// Figures, not assertions: this is not a timed test.
#include <sched.h>
#include <signal.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>

#include "agent/core/files.h"
#include "agent/evidence/codec.h"
#include "agent/evidence/journal.h"
#include "agent/evidence/pipeline.h"
#include "agent/evidence/sealer.h"
#include "tests/support/subprocess.h"
#include "tests/support/temp_dir.h"

namespace demarc {
namespace {

using Clock = std::chrono::steady_clock;

v1::Record finding(uint64_t i) {
  v1::Record r;
  auto& f = *r.mutable_finding();
  f.set_rule_id("cis.5.2.10");
  f.set_title("SSH root login is disabled");
  f.set_status(i % 3 == 0 ? v1::CHECK_STATUS_FAIL : v1::CHECK_STATUS_PASS);
  f.set_severity(v1::SEVERITY_HIGH);
  f.set_observed("PermitRootLogin yes (#" + std::to_string(i) + ")");
  f.set_expected("no");
  f.set_source("/etc/ssh/sshd_config:42");
  return r;
}

struct Throughput {
  double records_per_second = 0;
  uint64_t batches = 0;
  uint64_t bytes = 0;
};

Throughput pipelineThroughput(const std::filesystem::path& dir, uint64_t n, uint32_t batch) {
  auto signer = evidence::Signer::generate();
  evidence::Sealer sealer(*signer, "bench", v1::HostIdentity(), {}, "bench");
  auto journal = evidence::Journal::open(
      {.path = dir / "journal", .max_bytes = 1ULL << 40, .fsync = true}, {});
  RealClock clock;
  evidence::Pipeline pipeline({.batch_max_records = batch,
                               .batch_max_age = std::chrono::seconds(10),
                               .max_pending_records = 10'000'000},
                              sealer, **journal, {}, clock);
  uint64_t bytes = 0;
  pipeline.onSealed([&](const evidence::SealedBatch& b) { bytes += b.bytes.size(); });
  std::vector<v1::Record> records;
  records.reserve(n);
  for (uint64_t i = 0; i < n; ++i) records.push_back(finding(i));
  pipeline.start();
  auto start = Clock::now();
  for (auto& r : records) pipeline.submit(std::move(r));
  pipeline.stop(std::chrono::seconds(60));
  double secs = std::chrono::duration<double>(Clock::now() - start).count();
  auto stats = pipeline.stats();
  if (stats.records_sealed != n) {
    std::fprintf(stderr, "bench: sealed %lu of %lu records\n", stats.records_sealed, n);
  }
  return {static_cast<double>(stats.records_sealed) / secs, stats.batches_sealed, bytes};
}

// The floor: the same number of bytes in the same number of batch files,
// each written, fsynced and renamed into place, nothing else.
double rawIoSeconds(const std::filesystem::path& dir, const Throughput& t) {
  std::filesystem::create_directories(dir / "raw");
  std::string batch(t.bytes / std::max<uint64_t>(t.batches, 1), 'x');
  auto start = Clock::now();
  for (uint64_t i = 0; i < t.batches; ++i) {
    auto p = dir / "raw" / std::to_string(i);
    if (!writeFileAtomic(p, batch, {.mode = 0600, .fsync = true}).ok()) std::abort();
    std::filesystem::remove(p);
  }
  return std::chrono::duration<double>(Clock::now() - start).count();
}

long statusKb(pid_t pid, const char* field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field, 0) == 0) return std::stol(line.substr(std::strlen(field)));
  }
  return -1;
}

// Resident kB of the mappings whose name contains `name` (/proc/PID/smaps).
long mappedKb(pid_t pid, const std::string& name) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/smaps");
  std::string line;
  bool inside = false;
  long total = 0;
  while (std::getline(in, line)) {
    if (!line.empty() && std::isxdigit(static_cast<unsigned char>(line[0])) &&
        line.find('-') != std::string::npos && line.find(' ') != std::string::npos) {
      inside = line.find(name) != std::string::npos;  // a mapping's header line
    } else if (inside && line.rfind("Rss:", 0) == 0) {
      total += std::stol(line.substr(4));
    }
  }
  return total;
}

}  // namespace
}  // namespace demarc

int main(int argc, char** argv) {
  using namespace demarc;
  std::string binary = DEMARC_BINARY;
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::string(argv[i]) == "--binary") binary = argv[i + 1];
  }
  // One core: the agent's budget on a busy instance.
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(0, &one);
  sched_setaffinity(0, sizeof(one), &one);

  testing::TempDir dir;
  const uint64_t n = 300'000;
  auto t = pipelineThroughput(dir.path(), n, 1000);
  double raw = rawIoSeconds(dir.path(), t);
  double raw_rate = static_cast<double>(n) / raw;
  std::printf("seal+journal, 1 core, fsync per batch of 1000:\n");
  std::printf(
      "  demarc pipeline   %10.0f records/s  (%lu batches, %.1f MiB)  target >= 100000: %s\n",
      t.records_per_second, t.batches, static_cast<double>(t.bytes) / (1 << 20),
      t.records_per_second >= 100000 ? "met" : "MISSED");
  std::printf("  raw write+fsync   %10.0f records/s  (same bytes and batches, no encode/sign)\n",
              raw_rate);
  std::printf("  ratio pipeline / raw I/O floor: %.2f\n", t.records_per_second / raw_rate);

  // Idle footprint of the real agent, after its first posture scan with the
  // shipped rule packs.
  auto config = dir.write("demarc.yaml",
                          "agent:\n  state_dir: " + (dir / "state").string() +
                              "\nsinks:\n  directory:\n    path: " + (dir / "evidence").string() +
                              "\nposture:\n  rule_packs: [" DEMARC_SOURCE_DIR "/config/rules]\n");
  testing::Subprocess agent({binary, "run", "--config", config.string(), "--log-format", "plain"},
                            dir.path());
  testing::Subprocess peer({"/bin/sleep", "30"}, dir.path());
  if (!agent.waitForErr("posture scan", std::chrono::seconds(30))) {
    std::fprintf(stderr, "bench: agent did not start:\n%s\n", agent.err().c_str());
    return 1;
  }
  std::this_thread::sleep_for(std::chrono::seconds(3));
  long rss = statusKb(agent.pid(), "VmRSS:");
  long hwm = statusKb(agent.pid(), "VmHWM:");
  long anon = statusKb(agent.pid(), "RssAnon:");
  long file = statusKb(agent.pid(), "RssFile:");
  long ring = mappedKb(agent.pid(), "anon_inode:bpf-map");
  long peer_rss = statusKb(peer.pid(), "VmRSS:");
  agent.signal(SIGTERM);
  agent.wait();
  std::printf("idle resident memory:\n");
  std::printf("  demarc run        %6.1f MiB (peak %.1f MiB)  target < 20 MiB: %s\n", rss / 1024.0,
              hwm / 1024.0, rss < 20 * 1024 ? "met" : "MISSED");
  std::printf(
      "                    of which %.1f MiB private (anonymous), %.1f MiB shared library "
      "and file pages\n",
      anon / 1024.0, file / 1024.0);
  std::printf(
      "                    (shared includes %.1f MiB of eBPF ring buffer mapping: "
      "telemetry.ring_buffer_size, data pages mapped twice)\n",
      ring / 1024.0);
  std::printf("  /bin/sleep        %6.1f MiB  ratio demarc / sleep: %.1f\n", peer_rss / 1024.0,
              static_cast<double>(rss) / static_cast<double>(peer_rss));
  return 0;
}

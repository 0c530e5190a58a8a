#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include "agent/aws/aws_client.h"
#include "agent/aws/credentials.h"
#include "agent/aws/imds.h"
#include "agent/cli/aws_setup.h"
#include "agent/cli/commands.h"
#include "agent/cli/event_recorder.h"
#include "agent/cli/service_manager.h"
#include "agent/config/loader.h"
#include "agent/core/encoding.h"
#include "agent/core/files.h"
#include "agent/core/host_root.h"
#include "agent/core/units.h"
#include "agent/evidence/codec.h"
#include "agent/evidence/identity.h"
#include "agent/evidence/journal.h"
#include "agent/evidence/pipeline.h"
#include "agent/evidence/sealer.h"
#include "agent/evidence/signer.h"
#include "agent/posture/scanner.h"
#include "agent/sinks/cloudwatch_sink.h"
#include "agent/sinks/directory_sink.h"
#include "agent/sinks/s3_sink.h"
#include "agent/telemetry/telemetry_probe.h"

namespace demarc::cli {
namespace {

using config::toMillis;
using config::toNanos;
using std::chrono::milliseconds;
using std::chrono::nanoseconds;

constexpr milliseconds kDrainTimeout{10000};

// How to call this binary again, for the hints the agent prints.
std::string selfPath() {
  std::error_code ec;
  auto path = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::string("demarc") : path.string();
}

// What the heartbeat says about this agent; fixed for the run.
struct HeartbeatFacts {
  std::string binary_sha256;
  std::string config_sha256;
  nanoseconds interval{};
  SystemTime started{};
  std::vector<std::string> telemetry_missing;  // configured hooks and features not served
};

v1::Record makeHeartbeat(const HeartbeatFacts& facts, v1::Heartbeat::State state,
                         const evidence::PipelineStats& stats, SystemTime now) {
  v1::Record record;
  *record.mutable_time() = evidence::toTimestamp(now);
  auto& hb = *record.mutable_heartbeat();
  hb.set_state(state);
  hb.set_agent_version(versionString());
  hb.set_binary_sha256(facts.binary_sha256);
  hb.set_config_sha256(facts.config_sha256);
  hb.set_interval_ms(
      static_cast<uint64_t>(std::chrono::duration_cast<milliseconds>(facts.interval).count()));
  *hb.mutable_started() = evidence::toTimestamp(facts.started);
  hb.set_journal_batches(stats.journal_batches);
  hb.set_journal_bytes(stats.journal_bytes);
  hb.set_pending_records(stats.pending);
  for (const auto& m : facts.telemetry_missing) hb.add_telemetry_missing(m);
  for (const auto& sink : stats.sinks) {
    (*hb.mutable_sink_backlog())[sink.name] = sink.backlog;
    (*hb.mutable_sink_retries())[sink.name] = sink.failures;
    if (sink.oldest_undelivered) {
      (*hb.mutable_sink_oldest_undelivered_ms())[sink.name] = static_cast<uint64_t>(
          std::chrono::duration_cast<milliseconds>(*sink.oldest_undelivered).count());
    }
  }
  return record;
}

// SIGINT, SIGTERM and SIGHUP arrive on a signalfd read by the main loop; they
// are blocked before any thread starts so no other thread takes them.
Result<UniqueFd> blockSignals() {
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGHUP);
  if (pthread_sigmask(SIG_BLOCK, &mask, nullptr) != 0) {
    return Error(ErrorCode::kInternal, "cannot block signals");
  }
  UniqueFd fd(::signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK));
  if (!fd.valid()) return errnoError("signalfd", errno);
  return fd;
}

// The telemetry probe, when config asks for it and the kernel lets it load;
// the agent runs on without it (saying why). What the configuration asked
// for and this kernel does not give goes into `missing`: warned here, and
// restated in the enrollment and every heartbeat.
struct OpenedProbe {
  std::unique_ptr<telemetry::TelemetryProbe> probe;
  std::vector<std::string> missing;   // hooks not attached, with the reason
  std::vector<std::string> unserved;  // configured features with no hook at all
};

std::vector<std::string> configuredFeatures(const config::v1::Telemetry& t) {
  std::vector<std::string> parts;
  if (t.process_events()) parts.emplace_back("process events");
  if (t.network_events()) parts.emplace_back("TCP events");
  if (t.privilege_events()) parts.emplace_back("privilege events");
  if (t.udp_flows()) parts.emplace_back("UDP flows");
  return parts;
}

void warnUnserved(const std::vector<std::string>& features) {
  for (const auto& f : features) {
    spdlog::warn("eBPF: {} are configured but not recorded: no hook for them attaches here", f);
  }
}

OpenedProbe openTelemetryProbe(const config::Config& config) {
  const auto& t = config.telemetry();
  OpenedProbe opened;
  if (!t.process_events() && !t.network_events() && !t.privilege_events() && !t.udp_flows()) {
    spdlog::info(
        "eBPF: telemetry is off (telemetry.process_events, network_events, privilege_events, "
        "udp_flows)");
    return opened;
  }
  auto options = probeOptions(t, static_cast<uint32_t>(::getpid()));
  auto probe = options.ok() ? telemetry::TelemetryProbe::open(*options)
                            : Result<std::unique_ptr<telemetry::TelemetryProbe>>(options.error());
  if (!probe.ok()) {
    spdlog::error("eBPF: events are not recorded: {}", probe.error().message());
    opened.unserved = configuredFeatures(t);
    opened.missing.push_back("every hook (" + probe.error().message() + ")");
    warnUnserved(opened.unserved);
    return opened;
  }
  std::vector<std::string> parts;
  if (t.process_events()) parts.emplace_back("process");
  if (t.network_events()) parts.emplace_back("TCP");
  if (t.privilege_events()) parts.emplace_back("privilege");
  if (t.udp_flows()) parts.emplace_back("UDP flow");
  std::string what;
  for (size_t i = 0; i < parts.size(); ++i) {
    what += (i == 0 ? "" : i + 1 == parts.size() ? " and " : ", ") + parts[i];
  }
  what += " events";
  spdlog::info("eBPF: recording {} via {} hooks ({} programs attached; ring buffer {})", what,
               telemetry::hookName((*probe)->hook()), (*probe)->attached().size(),
               formatSize(t.ring_buffer_size()));
  for (const auto& p : (*probe)->passedOver()) spdlog::info("eBPF: {}", p);
  opened.missing = (*probe)->missing();
  opened.unserved = (*probe)->unserved();
  for (const auto& m : opened.missing) spdlog::warn("eBPF: not available here: {}", m);
  warnUnserved(opened.unserved);
  opened.probe = std::move(probe).value();
  return opened;
}

}  // namespace

// Scans posture at start and then every interval on its own thread, and
// seals each scan's findings, inventory and summary.
class PostureScheduler {
 public:
  PostureScheduler(posture::RuleSet rules, posture::ScanOptions options, nanoseconds interval,
                   evidence::Pipeline& pipeline)
      : rules_(std::move(rules)),
        options_(std::move(options)),
        interval_(interval),
        pipeline_(pipeline),
        thread_([this] { loop(); }) {}
  ~PostureScheduler() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    wake_.notify_all();
    thread_.join();
  }
  PostureScheduler(const PostureScheduler&) = delete;
  PostureScheduler& operator=(const PostureScheduler&) = delete;

 private:
  void loop() {
    for (;;) {
      scanOnce();
      // A scan allocates and frees tens of MiB on this thread; give the
      // freed pages back instead of keeping them in its malloc arena until
      // the next scan an hour later.
      ::malloc_trim(0);
      std::unique_lock<std::mutex> lock(mutex_);
      if (interval_.count() == 0) {
        wake_.wait(lock, [&] { return stop_; });
      } else {
        wake_.wait_for(lock, interval_, [&] { return stop_; });
      }
      if (stop_) return;
    }
  }

  void scanOnce() {
    posture::ScanOptions options = options_;
    options.now = std::chrono::system_clock::now();
    posture::ScanContext context(HostRoot("/"), options);
    posture::ScanReport report = posture::runScan(rules_, context);
    std::vector<v1::InventoryItem> inventory = posture::collectInventory(context);
    auto uuid = HostRoot("/").readLine("/proc/sys/kernel/random/uuid");
    std::string scan_id = uuid.ok() ? *uuid : formatTime(options.now);
    google::protobuf::Timestamp when = evidence::toTimestamp(options.now);
    for (const auto& result : report.results) {
      v1::Record record;
      *record.mutable_time() = when;
      *record.mutable_finding() = posture::toFinding(result);
      record.mutable_finding()->set_scan_id(scan_id);
      record.mutable_finding()->set_pack(result.rule->pack);
      pipeline_.submit(std::move(record));
    }
    for (auto& item : inventory) {
      v1::Record record;
      *record.mutable_time() = when;
      item.set_scan_id(scan_id);
      *record.mutable_inventory() = std::move(item);
      pipeline_.submit(std::move(record));
    }
    v1::Record record;
    *record.mutable_time() = when;
    auto& summary = *record.mutable_scan();
    summary.set_scan_id(scan_id);
    summary.set_root("/");
    summary.set_os(report.os);
    summary.set_rules_digest(report.rules_digest);
    summary.set_rules(static_cast<uint32_t>(report.results.size()));
    summary.set_pass(static_cast<uint32_t>(report.count(v1::CHECK_STATUS_PASS)));
    summary.set_fail(static_cast<uint32_t>(report.count(v1::CHECK_STATUS_FAIL)));
    summary.set_not_applicable(
        static_cast<uint32_t>(report.count(v1::CHECK_STATUS_NOT_APPLICABLE)));
    summary.set_error(static_cast<uint32_t>(report.count(v1::CHECK_STATUS_ERROR)));
    summary.set_inventory_items(static_cast<uint32_t>(inventory.size()));
    if (auto feed = posture::cveFeedRecord(context)) *summary.mutable_cve_feed() = std::move(*feed);
    summary.mutable_elapsed()->set_seconds(report.elapsed.count() / 1'000'000);
    summary.mutable_elapsed()->set_nanos(static_cast<int32_t>(report.elapsed.count() % 1'000'000) *
                                         1000);
    spdlog::info(
        "posture scan {}: {} rules in {} ms: {} pass, {} fail, {} not applicable, {} error; {} "
        "inventory items",
        scan_id.substr(0, 8), report.results.size(), report.elapsed.count() / 1000, summary.pass(),
        summary.fail(), summary.not_applicable(), summary.error(), inventory.size());
    pipeline_.submit(std::move(record));
  }

  posture::RuleSet rules_;
  posture::ScanOptions options_;
  nanoseconds interval_;
  evidence::Pipeline& pipeline_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_ = false;
  std::thread thread_;  // last: starts once everything above exists
};

// On EC2, the instance identity document (IMDSv2) fills the host identity;
// the document and its signature go into the enrollment record.
std::optional<aws::InstanceIdentity> ec2Identity(const config::v1::Config& config,
                                                 v1::HostIdentity& host) {
  auto endpoint = aws::imdsEndpointFor(HostRoot("/"), config.posture().imds_endpoint());
  if (!endpoint.ok()) {
    spdlog::info("EC2 identity: none ({})", endpoint.error().message());
    return std::nullopt;
  }
  aws::ImdsClient imds(*endpoint, toMillis(config.posture().imds_timeout()));
  auto id = imds.instanceIdentity();
  if (!id.ok()) {
    spdlog::warn("EC2 identity: {}", id.error().message());
    return std::nullopt;
  }
  host.set_instance_id(id->instance_id);
  host.set_account_id(id->account_id);
  host.set_region(id->region);
  host.set_ami_id(id->ami_id);
  spdlog::info("EC2 instance {} in account {}, region {} (AMI {})", id->instance_id, id->account_id,
               id->region, id->ami_id);
  return std::move(*id);
}

// An AWS client for a sink, in the configured or the instance's region.
Result<std::unique_ptr<aws::AwsClient>> sinkClient(const config::v1::Config& config,
                                                   const v1::HostIdentity& host,
                                                   const std::string& sink,
                                                   aws::CredentialChain& credentials,
                                                   const Clock& clock) {
  aws::AwsClientOptions options = awsOptions(config, host.region());
  if (options.region.empty()) {
    return Error(ErrorCode::kInvalidArgument,
                 "sinks." + sink + ": no AWS region: not an EC2 instance, so set aws.region");
  }
  return std::make_unique<aws::AwsClient>(std::move(options), credentials, clock);
}

// The S3 sink when enabled (null when not).
Result<std::unique_ptr<evidence::Sink>> s3Sink(const config::v1::Config& config,
                                               const v1::HostIdentity& host,
                                               aws::CredentialChain* credentials,
                                               const Clock& clock) {
  const auto& c = config.sinks().s3();
  if (!c.enabled()) return std::unique_ptr<evidence::Sink>();
  sinks::S3SinkOptions o;
  o.bucket = c.bucket();
  o.prefix = c.prefix();
  o.encryption = c.encryption();
  o.kms_key_id = c.kms_key_id();
  o.storage_class = c.storage_class();
  o.object_lock_mode = c.object_lock_mode();
  o.object_lock_days = c.object_lock_days();
  DEMARC_TRY(sinks::validate(o));
  DEMARC_ASSIGN_OR_RETURN(auto client, sinkClient(config, host, "s3", *credentials, clock));
  std::unique_ptr<evidence::Sink> sink =
      std::make_unique<sinks::S3Sink>(std::move(o), std::move(client), clock);
  return sink;
}

// The CloudWatch Logs sink when enabled (null when not).
Result<std::unique_ptr<evidence::Sink>> cloudWatchSink(const config::v1::Config& config,
                                                       const v1::HostIdentity& host,
                                                       aws::CredentialChain* credentials,
                                                       const Clock& clock) {
  const auto& c = config.sinks().cloudwatch();
  if (!c.enabled()) return std::unique_ptr<evidence::Sink>();
  sinks::CloudWatchSinkOptions o;
  o.log_group = c.log_group();
  o.log_stream = c.log_stream();
  o.create = c.create();
  o.retention_days = c.retention_days();
  o.kms_key_id = c.kms_key_id();
  DEMARC_TRY(sinks::validate(o));
  DEMARC_ASSIGN_OR_RETURN(auto client, sinkClient(config, host, "cloudwatch", *credentials, clock));
  std::unique_ptr<evidence::Sink> sink =
      std::make_unique<sinks::CloudWatchSink>(std::move(o), std::move(client));
  return sink;
}

int runCommand(const GlobalOptions& global, const RunOptions& options) {
  // A handful of long-lived threads hand records to each other: glibc's
  // default of one arena per thread (up to 8 per core) only keeps freed
  // memory in more places. Two arenas hold the peak down.
  ::mallopt(M_ARENA_MAX, 2);
  // Sealed batches are megabytes each under load. A fixed threshold keeps
  // them in their own mappings, returned on free; glibc's default raises
  // the threshold after the first such free, and from then on they
  // fragment the heap and hold the peak up.
  ::mallopt(M_MMAP_THRESHOLD, 256 * 1024);
  auto signals = blockSignals();
  if (!signals.ok()) {
    std::fprintf(stderr, "demarc run: %s\n", signals.error().message().c_str());
    return kExitRuntime;
  }
  auto config = loadConfigAndLogging(global);
  if (!config) return kExitUsage;
  auto fail = [](const Error& error) {
    spdlog::error("{}", error.message());
    return kExitRuntime;
  };

  auto rule_paths = rulePackPaths(*config, global.config_path, {});
  if (!rule_paths.ok()) {
    spdlog::error("{}", rule_paths.error().message());
    return kExitUsage;
  }
  auto rules = posture::loadRulePacks(*rule_paths);
  if (!rules.ok()) {
    std::fprintf(stderr, "%s\ndemarc run: invalid rule packs\n", rules.error().message().c_str());
    return kExitUsage;
  }

  const std::string config_yaml = config::toYaml(*config);
  HeartbeatFacts facts;
  facts.config_sha256 = toHex(sha256(config_yaml));
  facts.interval = toNanos(config->agent().heartbeat_interval());
  facts.started = std::chrono::system_clock::now();
  auto binary = sha256File("/proc/self/exe");
  facts.binary_sha256 = binary.ok() ? toHex(*binary) : "";
  spdlog::info("demarc {} starting: config {} (sha256 {}), pid {}", versionString(),
               global.config_path, facts.config_sha256.substr(0, 16), ::getpid());

  const std::filesystem::path state_dir = config->agent().state_dir();
  if (auto st = ensureDirectory(state_dir, 0700); !st.ok()) return fail(st.error());
  // One agent per state folder: two would fork the evidence chain.
  auto lock = lockFile(state_dir / "lock");
  if (!lock.ok()) return fail(lock.error());

  auto signer = evidence::Signer::loadOrCreate(config->evidence().signing_key());
  if (!signer.ok()) return fail(signer.error());
  spdlog::info("signing key {} {} (Ed25519, key id {}); public key in {}.pub",
               signer->createdNow() ? "created at" : "loaded from",
               config->evidence().signing_key(), signer->keyId().substr(0, 16),
               config->evidence().signing_key());
  auto agent_id = evidence::loadOrCreateAgentId(state_dir / "agent-id");
  if (!agent_id.ok()) return fail(agent_id.error());
  v1::HostIdentity host = evidence::readHostIdentity(HostRoot("/"));
  spdlog::info("agent id {}, host {} (machine-id {})", *agent_id, host.hostname(),
               host.machine_id().empty() ? "unknown" : host.machine_id());
  std::optional<aws::InstanceIdentity> ec2 = ec2Identity(*config, host);

  RealClock clock;
  std::unique_ptr<aws::CredentialChain> aws_credentials;
  std::vector<std::unique_ptr<evidence::Sink>> sinks;
  if (config->sinks().directory().enabled()) {
    sinks.push_back(std::make_unique<sinks::DirectorySink>(config->sinks().directory().path(),
                                                           config->sinks().directory().fsync()));
  }
  if (config->sinks().s3().enabled() || config->sinks().cloudwatch().enabled()) {
    std::string imds;  // the instance role is asked only where IMDS answered
    if (auto endpoint = aws::imdsEndpointFor(HostRoot("/"), config->posture().imds_endpoint());
        ec2 && endpoint.ok()) {
      imds = *endpoint;
    }
    aws_credentials = credentialChain(imds, toMillis(config->posture().imds_timeout()), clock);
  }
  for (auto make : {&s3Sink, &cloudWatchSink}) {
    auto sink = make(*config, host, aws_credentials.get(), clock);
    if (!sink.ok()) {
      spdlog::error("{}", sink.error().message());
      return kExitUsage;
    }
    if (*sink) sinks.push_back(std::move(*sink));
  }
  std::vector<std::string> sink_names;
  for (const auto& sink : sinks) {
    sink_names.emplace_back(sink->name());
    // The folder files by host key, CloudWatch streams by it; S3 keys carry
    // account, region and instance.
    std::string under = evidence::hostKey(host) + (sink->name() == "directory" ? "/" : "");
    if (sink->name() == "s3") {
      under =
          "account=" + (host.account_id().empty() ? std::string("unknown") : host.account_id()) +
          "/...";
    }
    spdlog::info("sink {}: evidence goes to {}/{}", sink->name(), sink->describe(), under);
  }

  auto journal = evidence::Journal::open({.path = config->journal().path(),
                                          .max_bytes = config->journal().max_size(),
                                          .fsync = config->journal().fsync()},
                                         sink_names);
  if (!journal.ok()) return fail(journal.error());
  for (const auto& note : (*journal)->recoveryNotes()) spdlog::warn("journal recovery: {}", note);
  evidence::ChainPosition chain = (*journal)->chainPosition();
  spdlog::info("journal {}: {} batches waiting; chain continues after batch {}",
               config->journal().path(), (*journal)->batchCount(), chain.last_sequence);

  evidence::Sealer sealer(*signer, *agent_id, host, chain, versionString());
  evidence::Pipeline pipeline({.batch_max_records = config->evidence().batch_max_records(),
                               .batch_max_age = toNanos(config->evidence().batch_max_age()),
                               .max_pending_records = config->evidence().max_pending_records(),
                               .retry_max = toMillis(config->sinks().retry_max_backoff())},
                              sealer, **journal, std::move(sinks), clock);
  // Each sink's first delivery is logged at info, the rest at debug.
  std::mutex delivered_mu;
  std::set<std::string, std::less<>> delivered_once;
  pipeline.onSealed([](const evidence::SealedBatch& batch) {
    spdlog::debug("sealed batch {} ({} records, digest {}) into the journal", batch.sequence,
                  batch.header.record_count(), batch.digest);
  });
  pipeline.onDelivered([&](const evidence::Sink& sink, const evidence::StoredBatch& batch) {
    auto where = sink.where(batch);
    bool first = false;
    {
      std::lock_guard lock(delivered_mu);
      first = delivered_once.emplace(sink.name()).second;
    }
    if (first) {
      spdlog::info("delivered batch {} to {}: {}", batch.sequence, sink.name(), where);
    } else {
      spdlog::debug("delivered batch {} to {}: {}", batch.sequence, sink.name(), where);
    }
  });

  auto [telemetry_probe, telemetry_missing, telemetry_unserved] = openTelemetryProbe(*config);
  if (options.require_all_hooks && !telemetry_unserved.empty()) {
    std::string list;
    for (const auto& f : telemetry_unserved) list += (list.empty() ? "" : ", ") + f;
    spdlog::error("--require-all-hooks: no eBPF hook records {} on this kernel; exiting", list);
    return kExitRuntime;
  }
  facts.telemetry_missing = telemetry_missing;
  for (const auto& f : telemetry_unserved) {
    facts.telemetry_missing.push_back(f + ": not recorded, no hook attaches");
  }
  std::vector<std::string> telemetry_hooks;
  if (telemetry_probe) telemetry_hooks = telemetry_probe->attached();
  // Loading the probe parses the kernel's BTF (megabytes, freed after the
  // load); hand those pages back before the first posture scan allocates
  // its own, so the two do not add up in the agent's peak.
  ::malloc_trim(0);

  pipeline.start();
  v1::Record enrollment = evidence::makeEnrollment(*signer, *agent_id, host, clock.now());
  if (ec2) {
    enrollment.mutable_enrollment()->set_identity_document(ec2->document);
    enrollment.mutable_enrollment()->set_identity_signature(ec2->signature);
  }
  for (const auto& h : telemetry_hooks) enrollment.mutable_enrollment()->add_telemetry_hooks(h);
  for (const auto& m : facts.telemetry_missing) {
    enrollment.mutable_enrollment()->add_telemetry_missing(m);
  }
  pipeline.submit(enrollment);
  pipeline.submit(
      makeHeartbeat(facts, v1::Heartbeat::STATE_STARTED, pipeline.stats(), clock.now()));
  spdlog::info(
      "running: heartbeat every {}, batches sealed every {} or {} records; "
      "Ctrl-C to stop; check the evidence with: {} verify {}",
      formatDuration(facts.interval), formatDuration(toNanos(config->evidence().batch_max_age())),
      config->evidence().batch_max_records(), selfPath(), config->sinks().directory().path());
  const nanoseconds scan_interval = toNanos(config->posture().scan_interval());
  spdlog::info("posture: {} rules from {} packs (sha256 {}); scanning now{}", rules->rules.size(),
               rules->files.size(), rules->digest.substr(0, 16),
               scan_interval.count() == 0 ? " (at start only: posture.scan_interval is 0s)"
                                          : " and every " + formatDuration(scan_interval));
  std::optional<EventRecorder> telemetry_events;
  if (telemetry_probe) {
    auto boot_id = HostRoot("/").readLine("/proc/sys/kernel/random/boot_id");
    telemetry_events.emplace(
        std::move(telemetry_probe), pipeline,
        RecorderSettings{boot_id.ok() ? *boot_id : "", config->telemetry().ancestry_depth(),
                         toNanos(config->telemetry().udp_flow_interval()),
                         config->telemetry().hash_executables()});
  }
  std::optional<PostureScheduler> posture_scans;
  posture_scans.emplace(std::move(rules).value(), scanOptionsFrom(*config, global.config_path),
                        toNanos(config->posture().scan_interval()), pipeline);
  if (options.load_test_rate > 0) {
    spdlog::warn("load test: sealing {} synthetic records per second", options.load_test_rate);
  }

  ServiceManager service;
  service.ready("running: sealing evidence to " + config->sinks().directory().path());
  service.ping();
  auto tick = options.load_test_rate > 0 ? milliseconds(10) : milliseconds(1000);
  if (auto watchdog = service.watchdogInterval()) tick = std::min(tick, *watchdog);
  auto next_heartbeat = std::chrono::steady_clock::now() + facts.interval;
  auto load_start = std::chrono::steady_clock::now();
  uint64_t synthetic_sent = 0;
  evidence::PipelineStats last_stats = pipeline.stats();
  for (;;) {
    // The main loop turning is what the watchdog watches.
    service.ping();
    auto now = std::chrono::steady_clock::now();
    auto wait = std::min<nanoseconds>(next_heartbeat - now, tick);
    pollfd pfd{.fd = signals->get(), .events = POLLIN, .revents = 0};
    int ready = ::poll(&pfd, 1,
                       static_cast<int>(std::max<int64_t>(
                           0, std::chrono::duration_cast<milliseconds>(wait).count() + 1)));
    if (ready > 0) {
      signalfd_siginfo info{};
      if (::read(signals->get(), &info, sizeof(info)) == sizeof(info)) {
        if (info.ssi_signo == SIGHUP) {
          spdlog::warn(
              "SIGHUP: reloading the config is not supported yet; restart demarc to "
              "apply changes to {}",
              global.config_path);
          continue;
        }
        spdlog::info("{}: stopping; sealing pending records and delivering them",
                     info.ssi_signo == SIGINT ? "SIGINT" : "SIGTERM");
        break;
      }
    }
    now = std::chrono::steady_clock::now();
    if (options.load_test_rate > 0) {
      double elapsed = std::chrono::duration<double>(now - load_start).count();
      auto due = static_cast<uint64_t>(elapsed * static_cast<double>(options.load_test_rate));
      for (; synthetic_sent < due; ++synthetic_sent) {
        v1::Record record;
        record.mutable_synthetic()->set_index(synthetic_sent);
        pipeline.submit(record);
      }
    }
    if (now >= next_heartbeat) {
      next_heartbeat += facts.interval;
      if (next_heartbeat < now) next_heartbeat = now + facts.interval;  // after a suspend
      evidence::PipelineStats stats = pipeline.stats();
      pipeline.submit(makeHeartbeat(facts, v1::Heartbeat::STATE_RUNNING, stats, clock.now()));
      std::string delivery;
      for (const auto& s : stats.sinks) {
        delivery += "; " + std::string(s.name) + ": " + std::to_string(s.backlog) + " behind";
        if (s.oldest_undelivered) delivery += ", oldest " + formatDuration(*s.oldest_undelivered);
        if (s.failures > 0) delivery += ", " + std::to_string(s.failures) + " retries";
      }
      spdlog::info(
          "heartbeat: {} batches / {} records sealed since the last one, {} dropped, {} "
          "pending; journal holds {} batches ({}){}",
          stats.batches_sealed - last_stats.batches_sealed,
          stats.records_sealed - last_stats.records_sealed,
          stats.records_dropped - last_stats.records_dropped, stats.pending, stats.journal_batches,
          formatSize(stats.journal_bytes), delivery);
      last_stats = stats;
    }
  }

  service.stopping();
  posture_scans.reset();     // waits for a scan in progress; its records are sealed below
  telemetry_events.reset();  // reads what is left in the ring buffer
  pipeline.submit(
      makeHeartbeat(facts, v1::Heartbeat::STATE_STOPPING, pipeline.stats(), clock.now()));
  pipeline.stop(kDrainTimeout);
  evidence::PipelineStats stats = pipeline.stats();
  uint64_t backlog = 0;
  for (const auto& s : stats.sinks) backlog += s.backlog;
  spdlog::info(
      "stopped: {} batches ({} records) sealed this run; {} batches left in the journal "
      "for the next start",
      stats.batches_sealed, stats.records_sealed, backlog);
  return kExitOk;
}

}  // namespace demarc::cli

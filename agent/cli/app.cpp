#include "agent/cli/app.h"

#include <google/protobuf/stubs/common.h>
#include <google/protobuf/stubs/logging.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include <cstdio>
#include <string>

#include "agent/cli/commands.h"

namespace demarc::cli {
namespace {

constexpr const char* kExitCodes = R"(
Exit codes:
  0  OK
  1  defects found (verify) or checks failed (scan)
  2  usage error or invalid config
  3  runtime error: a file, key, kernel feature or endpoint failed)";

// protobuf's own messages go to the agent's log. Strings in records come
// from the kernel and from host files and need not be UTF-8; the evidence
// JSON writer replaces what is not with U+FFFD, and protobuf, which serializes
// every record on its way to JSON, would note each such string as an error.
void protobufLog(google::protobuf::LogLevel level, const char* /*file*/, int /*line*/,
                 const std::string& message) {
  if (message.find("invalid UTF-8 data when serializing") != std::string::npos) return;
  spdlog::log(level >= google::protobuf::LOGLEVEL_ERROR ? spdlog::level::err : spdlog::level::warn,
              "protobuf: {}", message);
}

}  // namespace

int main(int argc, char** argv) {
  google::protobuf::SetLogHandler(&protobufLog);
  CLI::App app{
      "demarc: evidence that the customer's side of the shared-responsibility line "
      "is done.\nChecks host posture, watches process and network activity, and seals "
      "everything into signed, hash-chained evidence."};
  app.name("demarc");
  app.require_subcommand(1);
  app.fallthrough();
  app.footer(std::string("\nExamples:\n"
                         "  demarc run --config config/demarc.yaml\n"
                         "  demarc verify /var/lib/demarc/evidence\n"
                         "  demarc config check /etc/demarc/demarc.yaml\n") +
             kExitCodes);

  GlobalOptions global;
  app.add_option("-c,--config", global.config_path, "config file")->default_str(kDefaultConfigPath);
  app.add_option("--log-level", global.log_level,
                 "trace, debug, info, warn, error or off (overrides logging.level)");
  app.add_option("--log-format", global.log_format,
                 "auto, terminal, plain or journal (overrides logging.format)");
  bool show_version = false;
  app.add_flag("-V,--version", show_version, "print the version and exit");

  RunOptions run_options;
  CLI::App* run = app.add_subcommand("run", "run the agent in the foreground until SIGINT/SIGTERM");
  run->footer(std::string(R"(
Seals an enrollment record and heartbeats (and, as they land, posture findings
and telemetry) into signed batches, journals them under agent.state_dir and
ships them to every enabled sink. SIGINT/SIGTERM seal what is pending, deliver
it and exit 0. SIGHUP is not supported yet (it says so); restart to reload.

Examples:
  demarc run --config config/demarc.yaml
  demarc run --config /etc/demarc/demarc.yaml --log-level debug
  demarc run --config /etc/demarc/demarc.yaml --require-all-hooks   (AMI smoke test))") +
              kExitCodes);
  run->add_flag("--require-all-hooks", run_options.require_all_hooks,
                "exit 3 when a configured telemetry feature (process, TCP, privilege, UDP) has "
                "no eBPF hook attached on this kernel; a feature served by a fallback hook passes");
  run->add_option("--load-test", run_options.load_test_rate,
                  "also seal RATE synthetic records per second (testing; verify counts them)")
      ->group("Testing");

  ScanCommandOptions scan_options;
  CLI::App* scan = app.add_subcommand("scan", "check host posture once and print the findings");
  scan->add_option("--root", scan_options.root,
                   "scan a mounted image instead of this host (symlinks stay inside it; checks "
                   "that need a running kernel are not applicable)");
  scan->add_option("--rules", scan_options.rule_packs,
                   "rule pack file or folder (repeatable; default: posture.rule_packs)");
  scan->add_option("--rule", scan_options.rule_ids,
                   "only rules whose id matches GLOB (repeatable)");
  scan->add_option("--cve-feed", scan_options.cve_feed,
                   "Debian security tracker JSON to match installed packages against "
                   "(default: posture.cve_feed)");
  scan->add_flag("--json", scan_options.json, "print findings and inventory as JSON");
  scan->add_flag("--all", scan_options.all, "list passing and not-applicable rules too");
  scan->add_option("--fail-on", scan_options.fail_on,
                   "exit 1 when a rule of this severity or higher fails: info, low, medium, "
                   "high, critical")
      ->default_str("info");
  scan->footer(std::string(R"(
Runs every rule of the rule packs and prints a summary, then each failing rule
with what was observed, where it was read (file:line or /proc path), what was
expected and how to fix it. Nothing is sealed; `demarc run` seals the same
findings as evidence.

Examples:
  demarc scan
  demarc scan --root /mnt/image --fail-on high
  demarc scan --json --rule 'sshd-*' > findings.json)") +
               kExitCodes);
  WatchCommandOptions watch_options;
  CLI::App* watch = app.add_subcommand("watch", "print process and TCP events as they happen");
  watch->add_flag("--json", watch_options.json, "one JSON object per line");
  watch->add_option("--pid", watch_options.pids, "only events of this process (repeatable)");
  watch->add_option("--comm", watch_options.comms,
                    "only events of processes with this command name (repeatable)");
  watch->add_option("--type", watch_options.types,
                    "only these events: exec, fork, exit; connect, accept, listen, close (or tcp "
                    "for all four); setuid, setgid, capset, ptrace, bpf_load, module_load (or "
                    "privilege for all six); udp (repeatable)");
  watch->footer(std::string(R"(
Loads the telemetry probe (needs root, or CAP_BPF and CAP_PERFMON) and prints
until Ctrl-C: each exec (with its whole argument list and working directory),
fork and exit; each TCP listen, connect, accept and close (with the payload
bytes each way; inbound connections are attributed to the process that owns
the listening socket); each privilege change (setuid and setgid families,
capset, ptrace attach, BPF program and module loads); and every 5 seconds the
UDP flows of the interval (packets and bytes per process, socket and peer).
Events are not sealed; `demarc run` seals them as evidence.

Examples:
  demarc watch
  demarc watch --json --type exec
  demarc watch --type tcp --type udp
  demarc watch --type privilege --json
  demarc watch --comm sshd --comm bash)") +
                kExitCodes);

  VerifyCommandOptions verify_options;
  CLI::App* verify = app.add_subcommand(
      "verify", "check sealed evidence: signatures, chain, sequence, heartbeats");
  verify
      ->add_option("path", verify_options.path,
                   "evidence folder (searched recursively), file, s3://BUCKET/PREFIX, or "
                   "cloudwatch://GROUP[/STREAM]")
      ->required();
  verify->add_option("--key", verify_options.key_files,
                     "trust only this PEM public key (repeatable); default: each agent's "
                     "enrolled key");
  verify->add_flag("--json", verify_options.json, "print the report as JSON");
  verify->add_option("--max-silence", verify_options.max_silence,
                     "longest allowed time between batches, e.g. 5m (default: 2 x the agent's "
                     "heartbeat interval + 10s)");
  verify->add_option("--as-of", verify_options.as_of,
                     "RFC 3339 time the newest batch is measured against (default: now)");
  verify->add_option("--region", verify_options.region,
                     "s3:// and cloudwatch://: the region (default: AWS_REGION, "
                     "AWS_DEFAULT_REGION, or this instance's)");
  verify->add_option("--endpoint", verify_options.endpoint,
                     "s3:// and cloudwatch://: an endpoint URL instead of the public one (VPC "
                     "endpoint)");
  verify->footer(std::string(R"(
Reports per agent: batches verified, first and last time, the key trusted and
why, and every defect: bad_signature, unknown_key, modified_payload, truncated,
malformed_batch, missing_batches, reordered, broken_chain, replayed_batch,
duplicate_sequence, key_change, heartbeat_silence.

Examples:
  demarc verify /var/lib/demarc/evidence
  demarc verify --key /var/lib/demarc/signing.key.pub --json evidence/
  demarc verify --as-of 2026-11-30T12:00:00Z archive/i-0abc123
  demarc verify s3://evidence-bucket/demarc --region eu-west-1
  demarc verify cloudwatch:///demarc/evidence            (every stream of the group)
  demarc verify cloudwatch:///demarc/evidence/i-0abc123  (one stream)

S3 and CloudWatch Logs are read with the standard AWS credential chain
(environment, ~/.aws files, container endpoint, instance role). In CloudWatch
Logs, copies that at-least-once delivery leaves (a batch sent again after a
failed call) are read once and counted in the notes.)") +
                 kExitCodes);

  // The reading options report and timeline share with verify.
  auto readOptions = [](CLI::App* cmd, EvidenceReadOptions& o) {
    cmd->add_option("path", o.path,
                    "evidence folder (searched recursively), file, s3://BUCKET/PREFIX, or "
                    "cloudwatch://GROUP[/STREAM]")
        ->required();
    cmd->add_option("--instance", o.instance,
                    "only this instance (instance id, hostname or agent id)");
    cmd->add_option("--since", o.since, "RFC 3339 time: only records from then on");
    cmd->add_option("--until", o.until, "RFC 3339 time: only records until then");
    cmd->add_option(
        "--key", o.key_files,
        "trust only this PEM public key (repeatable); default: each agent's enrolled key");
    cmd->add_option("--max-silence", o.max_silence,
                    "longest allowed time between batches, e.g. 5m (as demarc verify)");
    cmd->add_option("--as-of", o.as_of, "RFC 3339 time the newest batch is measured against");
    cmd->add_option("--region", o.region, "s3:// and cloudwatch://: the region");
    cmd->add_option("--endpoint", o.endpoint, "s3:// and cloudwatch://: an endpoint URL");
  };
  ReportCommandOptions report_options;
  CLI::App* report = app.add_subcommand(
      "report", "auditor's report of verified evidence: posture by framework, charts, fleet");
  readOptions(report, report_options.read);
  report->add_option("--html", report_options.html,
                     "write a self-contained HTML page here ('-': stdout); prints to PDF from a "
                     "browser");
  report->add_option("--json", report_options.json,
                     "write the JSON summary here ('-': stdout; the default without --html)");
  report->footer(std::string(R"(
Verifies the evidence first (as demarc verify) and reads only batches that
pass; the verification result leads the report and names every batch left out.
Then, per instance: pass/fail per control of CIS, NIST SP 800-53, PCI DSS v4.0,
ISO/IEC 27001:2022 Annex A and HIPAA; failing findings with observed value,
source and remediation; charts (per section, by severity, patch age, listening
ports over time); and a fleet table when there are several instances.

Examples:
  demarc report /var/lib/demarc/evidence --html report.html
  demarc report s3://evidence-bucket/demarc --region eu-west-1 --html fleet.html --json fleet.json
  demarc report evidence/ --instance i-0abc123 --since 2026-11-01T00:00:00Z --json -)") +
                 kExitCodes);

  TimelineCommandOptions timeline_options;
  CLI::App* timeline = app.add_subcommand(
      "timeline", "what happened in a time window: process tree, connections, privilege changes");
  readOptions(timeline, timeline_options.read);
  timeline->add_option("--pid", timeline_options.pid, "this process and what it started");
  timeline->add_option("--exec-id", timeline_options.exec_id, "this process and what it started");
  timeline->add_option("--comm", timeline_options.comm,
                       "processes of this name (comm or executable file name)");
  timeline->add_option("--uid", timeline_options.uid, "processes running as this user id");
  timeline->add_option("--addr", timeline_options.addr,
                       "processes with a connection to or from this address");
  timeline->add_option("--port", timeline_options.port, "processes with a connection on this port");
  timeline->add_flag("--around-gap", timeline_options.around_gap,
                     "the window from the last heartbeat before the first gap in the evidence "
                     "to the first record after it");
  timeline->add_flag("--json", timeline_options.json, "print JSON for tools");
  timeline->add_option("--html", timeline_options.html,
                       "write a self-contained interactive page here (expand and collapse "
                       "subtrees, click a process for its connections)");
  timeline->footer(std::string(R"(
Reads only evidence that verifies (as demarc verify); gaps in the heartbeats
are shown first. On a terminal: an indented tree in time order, each process
with its arguments, user, working directory and exit, then its connections
and privilege changes.

Examples:
  demarc timeline evidence/ --exec-id 3f2a...-4242-1234567      what did this process start
  demarc timeline evidence/ --addr 203.0.113.7                  who talked to this address
  demarc timeline evidence/ --uid 0 --since 2026-11-30T11:00:00Z  what ran as root since then
  demarc timeline evidence/ --around-gap                        what happened before the gap
  demarc timeline s3://evidence-bucket/demarc --since ... --until ... --html window.html)") +
                   kExitCodes);

  CLI::App* config_cmd = app.add_subcommand("config", "work with the config file");
  config_cmd->require_subcommand(1);
  std::string check_file;
  CLI::App* check = config_cmd->add_subcommand("check", "validate a config and print it in full");
  check->add_option("file", check_file, "config file (default: --config)");
  check->footer(std::string(R"(
Prints the effective config (every key, defaults filled in) on stdout, or every
error as FILE:LINE: key.path: problem on stderr.

Example:
  demarc config check config/demarc.yaml)") +
                kExitCodes);

  app.add_subcommand("version", "print the version, build and library versions");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    if (show_version) return versionCommand();
    app.exit(e);
    return kExitUsage;
  }

  if (show_version) return versionCommand();
  if (run->parsed()) return runCommand(global, run_options);
  if (verify->parsed()) return verifyCommand(global, verify_options);
  if (report->parsed()) return reportCommand(global, report_options);
  if (timeline->parsed()) return timelineCommand(global, timeline_options);
  if (check->parsed()) {
    return configCheckCommand(global, check_file.empty() ? global.config_path : check_file);
  }
  if (scan->parsed()) return scanCommand(global, scan_options);
  if (watch->parsed()) return watchCommand(global, watch_options);
  return versionCommand();
}

}  // namespace demarc::cli

// demarc report and demarc timeline: read evidence that verifies. The source
// is read twice: first every batch is verified, then the records of the
// batches that passed are handed to the report, so a batch that fails is
// never mixed in, and memory holds per-batch summaries, not the evidence.
#include <stdlib.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <memory>

#include "agent/cli/commands.h"
#include "agent/cli/evidence_source.h"
#include "agent/core/encoding.h"
#include "agent/core/files.h"
#include "agent/evidence/codec.h"
#include "agent/evidence/json.h"
#include "agent/report/html.h"
#include "agent/report/posture_report.h"
#include "agent/report/timeline.h"

namespace demarc::cli {
namespace {

using RecordVisitor = std::function<void(const v1::BatchHeader&, const v1::Record&)>;

// Second pass: the records of accepted batches, when their payload is the
// one that verified (a store changed between the passes is not trusted).
class AcceptedRecords : public evidence::EvidenceConsumer {
 public:
  AcceptedRecords(const std::map<std::string, std::string>& accepted, const RecordVisitor& visit)
      : accepted_(accepted), visit_(visit) {}
  void add(const std::string& name, std::string_view bytes) override {
    auto it = accepted_.find(name);
    if (it == accepted_.end()) return;
    auto view = evidence::splitBatch(bytes);
    if (!view.ok() || toHex(sha256(view->payload)) != it->second) {
      changed_.push_back(name);
      return;
    }
    evidence::DecodedRecords decoded(view->lines);
    v1::BatchHeader header;
    for (size_t i = 0; i < decoded.size(); ++i) {
      if (decoded.record(i) == nullptr) continue;
      const v1::Record& record = *decoded.record(i);
      if (i == 0) {
        if (!record.has_header()) return;
        header = record.header();
        continue;
      }
      visit_(header, record);
    }
  }
  void addUnreadable(const std::string& name, const std::string&) override {
    if (accepted_.count(name)) changed_.push_back(name);
  }
  // Accepted objects that read differently (or not at all) the second time.
  const std::vector<std::string>& changed() const { return changed_; }

 private:
  const std::map<std::string, std::string>& accepted_;
  const RecordVisitor& visit_;
  std::vector<std::string> changed_;
};

// Remote objects are kept in a private temporary folder during the first
// pass, so the second reads them from there instead of fetching them again.
class Spool : public evidence::EvidenceConsumer {
 public:
  static Result<std::unique_ptr<Spool>> create(evidence::EvidenceConsumer& first) {
    const char* base = std::getenv("TMPDIR");
    std::string templ = std::string(base && *base ? base : "/tmp") + "/demarc-spool-XXXXXX";
    if (::mkdtemp(templ.data()) == nullptr) {
      return errnoError("create a temporary folder in " + templ.substr(0, templ.rfind('/')), errno);
    }
    return std::unique_ptr<Spool>(new Spool(first, templ));
  }
  ~Spool() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  void add(const std::string& name, std::string_view bytes) override {
    first_.add(name, bytes);
    std::filesystem::path file = dir_ / std::to_string(names_.size());
    Status written = writeFileAtomic(file, bytes, {.mode = 0600, .fsync = false});
    names_.emplace_back(name, written.ok());
  }
  void addUnreadable(const std::string& name, const std::string& error) override {
    first_.addUnreadable(name, error);
  }
  // Hands every spooled object to consumer, in the order they came.
  void replay(evidence::EvidenceConsumer& consumer) const {
    for (size_t i = 0; i < names_.size(); ++i) {
      auto bytes = names_[i].second ? readFile(dir_ / std::to_string(i))
                                    : Result<std::string>(Error(ErrorCode::kIo, "not spooled"));
      if (bytes.ok()) {
        consumer.add(names_[i].first, *bytes);
      } else {
        consumer.addUnreadable(names_[i].first, bytes.error().message());
      }
    }
  }

 private:
  Spool(evidence::EvidenceConsumer& first, std::filesystem::path dir)
      : first_(first), dir_(std::move(dir)) {}
  evidence::EvidenceConsumer& first_;
  std::filesystem::path dir_;
  std::vector<std::pair<std::string, bool>> names_;  // name, spooled
};

struct Verified {
  verify::v1::Report report;
};

// Verifies the source, then visits every record of the batches that passed.
Result<Verified> readVerified(const EvidenceReadOptions& options, const RecordVisitor& visit) {
  DEMARC_ASSIGN_OR_RETURN(evidence::VerifyOptions verify,
                          verifyOptionsFrom(options.key_files, options.max_silence, options.as_of));
  EvidenceSource source{options.path, options.region, options.endpoint};
  evidence::Verifier verifier(verify);
  const bool remote = source.path.starts_with("s3://") || source.path.starts_with("cloudwatch://");
  std::unique_ptr<Spool> spool;
  if (remote) {
    DEMARC_ASSIGN_OR_RETURN(spool, Spool::create(verifier));
  }
  evidence::EvidenceConsumer& first = spool ? static_cast<evidence::EvidenceConsumer&>(*spool)
                                            : static_cast<evidence::EvidenceConsumer&>(verifier);
  DEMARC_ASSIGN_OR_RETURN(auto notes, readEvidence(source, first));
  Verified out;
  out.report = verifier.finish(options.path);
  for (auto& agent : *out.report.mutable_agents()) {
    for (const auto& note : notes) {
      if (note.agent_id == agent.agent_id()) agent.add_notes(note.text);
    }
  }
  AcceptedRecords records(verifier.accepted(), visit);
  if (spool) {
    spool->replay(records);
  } else {
    auto again = readEvidence(source, records);
    if (!again.ok()) return again.error();
  }
  if (!records.changed().empty()) {
    out.report.set_ok(false);
    for (const std::string& name : records.changed()) {
      auto* d = out.report.add_unattributed();
      d->set_kind("changed_while_read");
      d->set_message(name + " verified, then read differently: left out");
      d->set_file(name);
    }
  }
  return out;
}

Result<std::optional<SystemTime>> timeOption(const std::optional<std::string>& text,
                                             const char* name) {
  if (!text) return std::optional<SystemTime>();
  auto t = parseTime(*text);
  if (!t) {
    return Error(ErrorCode::kInvalidArgument,
                 std::string(name) +
                     ": expected an RFC 3339 time such as 2026-11-30T12:00:00Z, got '" + *text +
                     "'");
  }
  return std::optional<SystemTime>(*t);
}

// --since and --until.
Result<std::pair<std::optional<SystemTime>, std::optional<SystemTime>>> windowOf(
    const EvidenceReadOptions& options) {
  DEMARC_ASSIGN_OR_RETURN(auto since, timeOption(options.since, "--since"));
  DEMARC_ASSIGN_OR_RETURN(auto until, timeOption(options.until, "--until"));
  return std::make_pair(since, until);
}

// Writes text to path ("-": stdout); errors name the path.
Status writeOutput(const std::string& path, const std::string& text) {
  if (path == "-") {
    std::cout << text;
    return okStatus();
  }
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out) return Error(ErrorCode::kIo, "cannot write " + path);
  return okStatus();
}

int fail(const char* command, const Error& error, int code) {
  std::fprintf(stderr, "demarc %s: %s\n", command, error.message().c_str());
  return code;
}

}  // namespace

int reportCommand(const GlobalOptions& global, const ReportCommandOptions& options) {
  setupDefaultLogging(global);
  auto window = windowOf(options.read);
  if (!window.ok()) return fail("report", window.error(), kExitUsage);
  report::PostureReport report({options.read.instance, window->first, window->second});
  auto verified = readVerified(
      options.read, [&](const v1::BatchHeader& h, const v1::Record& r) { report.add(h, r); });
  if (!verified.ok()) {
    return fail("report", verified.error(),
                verified.error().code() == ErrorCode::kInvalidArgument ? kExitUsage : kExitRuntime);
  }
  nlohmann::json summary = report.summary(verified->report);
  std::string json_path = options.json, html_path = options.html;
  if (json_path.empty() && html_path.empty()) json_path.assign(1, '-');
  if (!json_path.empty()) {
    if (auto st = writeOutput(
            json_path,
            summary.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
        !st.ok()) {
      return fail("report", st.error(), kExitRuntime);
    }
  }
  if (!html_path.empty()) {
    if (auto st = writeOutput(html_path, report::renderReportHtml(summary)); !st.ok()) {
      return fail("report", st.error(), kExitRuntime);
    }
  }
  return verified->report.ok() ? kExitOk : kExitDefects;
}

int timelineCommand(const GlobalOptions& global, const TimelineCommandOptions& options) {
  setupDefaultLogging(global);
  auto window = windowOf(options.read);
  if (!window.ok()) return fail("timeline", window.error(), kExitUsage);
  report::Timeline::Filter filter{
      window->first, window->second, options.pid,  options.exec_id,       options.comm,
      options.uid,   options.addr,   options.port, options.read.instance, options.around_gap};
  auto timeline = std::make_unique<report::Timeline>(filter);
  auto visit = [&](const v1::BatchHeader& h, const v1::Record& r) { timeline->add(h, r); };
  auto verified = readVerified(options.read, visit);
  if (verified.ok() && options.around_gap) {
    // The first pass found the gaps; the window is now known.
    auto gap = timeline->firstGap();
    if (!gap) {
      std::fprintf(stderr, "demarc timeline: --around-gap: the evidence has no heartbeat gap\n");
      return kExitOk;
    }
    filter.since = gap->first;
    filter.until = gap->second;
    timeline = std::make_unique<report::Timeline>(filter);
    verified = readVerified(options.read, visit);
  }
  if (!verified.ok()) {
    return fail("timeline", verified.error(),
                verified.error().code() == ErrorCode::kInvalidArgument ? kExitUsage : kExitRuntime);
  }
  if (!verified->report.ok()) {
    std::fprintf(stderr,
                 "demarc timeline: the evidence has defects (see demarc verify); only batches "
                 "that verified are shown\n");
  }
  if (!options.html.empty()) {
    if (auto st = writeOutput(options.html, timeline->toHtml()); !st.ok()) {
      return fail("timeline", st.error(), kExitRuntime);
    }
  }
  if (options.json) {
    timeline->writeJson(std::cout);
  } else if (options.html.empty() || options.html != "-") {
    if (options.html.empty()) timeline->writeText(std::cout);
  }
  return verified->report.ok() ? kExitOk : kExitDefects;
}

}  // namespace demarc::cli

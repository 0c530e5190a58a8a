// demarc report and demarc timeline: read evidence that verifies. The source
// is read twice: first every batch is verified, then the records of the
// batches that passed are handed to the report, so a batch that fails is
// never mixed in, and memory holds per-batch summaries, not the evidence.
#include <cstdio>
#include <fstream>
#include <functional>
#include <iostream>

#include "agent/cli/commands.h"
#include "agent/cli/evidence_source.h"
#include "agent/evidence/codec.h"
#include "agent/evidence/json.h"
#include "agent/report/html.h"
#include "agent/report/posture_report.h"
#include "agent/report/timeline.h"

namespace demarc::cli {
namespace {

using RecordVisitor = std::function<void(const v1::BatchHeader&, const v1::Record&)>;

// Second pass: the records of accepted batches.
class AcceptedRecords : public evidence::EvidenceConsumer {
 public:
  AcceptedRecords(const std::set<std::string>& accepted, const RecordVisitor& visit)
      : accepted_(accepted), visit_(visit) {}
  void add(const std::string& name, std::string_view bytes) override {
    if (!accepted_.count(name)) return;
    auto view = evidence::splitBatch(bytes);
    if (!view.ok()) return;  // it verified moments ago; changed since, it is not read
    v1::Record record;
    v1::BatchHeader header;
    for (size_t i = 0; i < view->lines.size(); ++i) {
      if (!evidence::parseJson(view->lines[i], record).ok()) continue;
      if (i == 0) {
        if (!record.has_header()) return;
        header = record.header();
        continue;
      }
      visit_(header, record);
    }
  }
  void addUnreadable(const std::string&, const std::string&) override {}

 private:
  const std::set<std::string>& accepted_;
  const RecordVisitor& visit_;
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
  DEMARC_ASSIGN_OR_RETURN(auto notes, readEvidence(source, verifier));
  Verified out;
  out.report = verifier.finish(options.path);
  for (auto& agent : *out.report.mutable_agents()) {
    for (const auto& note : notes) {
      if (note.agent_id == agent.agent_id()) agent.add_notes(note.text);
    }
  }
  AcceptedRecords records(verifier.accepted(), visit);
  auto again = readEvidence(source, records);
  if (!again.ok()) return again.error();
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

#include "agent/evidence/verify.h"

#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <charconv>
#include <set>

#include "agent/core/encoding.h"
#include "agent/core/files.h"
#include "agent/core/units.h"
#include "agent/evidence/codec.h"
#include "agent/evidence/signer.h"

namespace demarc::evidence {
namespace {

using verify::v1::Defect;

constexpr auto kDefaultHeartbeat = std::chrono::seconds(60);
constexpr auto kSilenceSlack = std::chrono::seconds(10);

Defect makeDefect(std::string kind, std::string message, std::string file, uint64_t sequence) {
  Defect d;
  d.set_kind(std::move(kind));
  d.set_message(std::move(message));
  d.set_file(std::move(file));
  d.set_sequence(sequence);
  return d;
}

std::string shortId(const std::string& hex) { return hex.substr(0, 16); }

std::string describeDuration(std::chrono::nanoseconds d) {
  auto secs = std::chrono::duration_cast<std::chrono::seconds>(d);
  return formatDuration(secs.count() > 0 ? std::chrono::nanoseconds(secs) : d);
}

// "00000000000000000003-ab12cd34ef56.jsonl" -> (3, "ab12cd34ef56")
std::optional<std::pair<uint64_t, std::string>> parseBatchFileName(const std::string& path) {
  std::string name = std::filesystem::path(path).filename().string();
  size_t dash = name.find('-');
  size_t dot = name.find(".jsonl");
  if (dash == std::string::npos || dot == std::string::npos || dot < dash) return std::nullopt;
  uint64_t seq = 0;
  auto [ptr, ec] = std::from_chars(name.data(), name.data() + dash, seq);
  if (ec != std::errc() || ptr != name.data() + dash) return std::nullopt;
  return std::make_pair(seq, name.substr(dash + 1, dot - dash - 1));
}

}  // namespace

struct Verifier::Batch {
  std::string name;
  uint64_t ordinal = 0;
  v1::BatchHeader header;
  SystemTime sealed{};
  std::string digest;  // SHA-256 of the payload as stored
  std::string sig_keyid;
  std::string sig;
  enum class SigState { kNone, kValid, kInvalid, kKeyUnknown } sig_state = SigState::kNone;
  std::vector<Defect> defects;  // found reading this batch on its own
  // What it holds.
  bool stopped = false;  // holds the STOPPING heartbeat of a clean shutdown
  uint64_t heartbeat_interval_ms = 0;
  std::vector<v1::Enrollment> enrollments;
  std::vector<v1::Gap> gaps;
  uint64_t records = 0;
  uint64_t synthetic = 0;
};

Verifier::Verifier(VerifyOptions options) : options_(std::move(options)) {
  for (const auto& pin : options_.pinned_keys) known_keys_[keyIdOf(pin.raw)] = pin.raw;
}

Verifier::~Verifier() = default;

void Verifier::addUnreadable(const std::string& name, const std::string& error) {
  ++files_;
  unattributed_.push_back(makeDefect("malformed_batch", "cannot read: " + error, name, 0));
}

void Verifier::add(const std::string& name, std::string_view bytes) {
  ++files_;
  auto batch = std::make_unique<Batch>();
  Batch& b = *batch;
  b.name = name;
  b.ordinal = files_;

  auto view = splitBatch(bytes);
  // The header line, even when the rest is damaged, says whose batch it is.
  std::string_view first_line =
      view.ok() && !view->lines.empty() ? view->lines.front() : bytes.substr(0, bytes.find('\n'));
  auto header_record = decodeRecord(first_line);
  if (!header_record.ok() || !header_record->has_header()) {
    std::string why = !view.ok() ? view.error().message()
                      : !header_record.ok()
                          ? "the first line is not a record: " + header_record.error().message()
                          : "the first line is not a batch header";
    std::string kind =
        why.starts_with("truncated") || bytes.empty() ? "truncated" : "malformed_batch";
    unattributed_.push_back(makeDefect(kind, why, name, 0));
    return;
  }
  b.header = header_record->header();
  b.sealed = fromTimestamp(header_record->time());
  const uint64_t seq = b.header.sequence();
  if (!view.ok()) {
    std::string kind =
        view.error().message().starts_with("truncated") ? "truncated" : "malformed_batch";
    b.defects.push_back(
        makeDefect(kind, "batch " + std::to_string(seq) + " is damaged: " + view.error().message(),
                   name, seq));
    batches_.push_back(std::move(batch));
    return;
  }
  b.digest = toHex(sha256(view->payload));

  auto seal = decodeRecord(view->seal_line);
  if (!seal.ok() || !seal->has_seal()) {
    std::string what = seal.ok() ? "a " + std::string(recordKind(*seal)) + " record"
                                 : "not a record (" + seal.error().message() + ")";
    b.defects.push_back(makeDefect("truncated",
                                   "batch " + std::to_string(seq) +
                                       " has no seal: its last line is " + what +
                                       "; the file was cut or edited",
                                   name, seq));
    batches_.push_back(std::move(batch));
    return;
  }
  const v1::Seal& s = seal->seal();
  bool payload_intact = s.payload_sha256() == b.digest;
  if (!payload_intact) {
    b.defects.push_back(makeDefect(
        "modified_payload",
        "batch " + std::to_string(seq) + " was modified after sealing: its payload hashes to " +
            shortId(b.digest) + "..., the seal says " + shortId(s.payload_sha256()) + "...",
        name, seq));
  }
  if (s.payload_type() != kBatchPayloadType) {
    b.defects.push_back(
        makeDefect("malformed_batch",
                   "batch " + std::to_string(seq) + " has payload type '" + s.payload_type() + "'",
                   name, seq));
  }
  if (s.signatures().empty()) {
    b.defects.push_back(makeDefect(
        "bad_signature", "batch " + std::to_string(seq) + " carries no signature", name, seq));
  } else {
    b.sig_keyid = s.signatures(0).keyid();
    auto sig = base64Decode(s.signatures(0).sig());
    if (!sig) {
      b.defects.push_back(makeDefect(
          "bad_signature",
          "batch " + std::to_string(seq) + ": the signature is not valid base64 (altered)", name,
          seq));
      b.sig_keyid.clear();
    } else {
      b.sig = std::move(*sig);
    }
  }

  // Read the records only when the payload is the sealed one; a modified
  // payload is already named and its contents prove nothing.
  if (payload_intact) {
    std::span<const std::string_view> lines(view->lines);
    DecodedRecords decoded(lines.empty() ? lines : lines.subspan(1));
    for (size_t i = 1; i < view->lines.size(); ++i) {
      if (decoded.record(i - 1) == nullptr) {
        b.defects.push_back(makeDefect("malformed_batch",
                                       "batch " + std::to_string(seq) + " line " +
                                           std::to_string(i + 1) + ": " + decoded.error(i - 1),
                                       name, seq));
        continue;
      }
      const v1::Record& record = *decoded.record(i - 1);
      ++b.records;
      if (record.has_enrollment()) {
        const v1::Enrollment& e = record.enrollment();
        auto raw = base64Decode(e.public_key());
        if (raw && raw->size() == 32 && keyIdOf(*raw) == e.key_id()) {
          known_keys_.emplace(e.key_id(), *raw);
          b.enrollments.push_back(e);
        }
      } else if (record.has_heartbeat()) {
        const v1::Heartbeat& h = record.heartbeat();
        if (h.state() == v1::Heartbeat::STATE_STOPPING) b.stopped = true;
        b.heartbeat_interval_ms = std::max<uint64_t>(b.heartbeat_interval_ms, h.interval_ms());
      } else if (record.has_gap()) {
        b.gaps.push_back(record.gap());
      } else if (record.has_synthetic()) {
        ++b.synthetic;
      }
    }
    if (b.header.record_count() != view->lines.size() - 1) {
      b.defects.push_back(makeDefect("malformed_batch",
                                     "batch " + std::to_string(seq) + " header counts " +
                                         std::to_string(b.header.record_count()) +
                                         " records, the payload holds " +
                                         std::to_string(view->lines.size() - 1),
                                     name, seq));
    }
  }

  if (!b.sig.empty()) {
    if (known_keys_.count(b.sig_keyid)) {
      checkSignature(b, view->payload);
    } else {
      deferred_.emplace_back(&b, std::string(view->payload));
    }
  }
  batches_.push_back(std::move(batch));
}

void Verifier::checkSignature(Batch& b, std::string_view payload) {
  auto key = known_keys_.find(b.sig_keyid);
  if (key == known_keys_.end()) {
    b.sig_state = Batch::SigState::kKeyUnknown;
    return;
  }
  bool ok = verifyEd25519(key->second, preAuthEncoding(kBatchPayloadType, payload), b.sig);
  b.sig_state = ok ? Batch::SigState::kValid : Batch::SigState::kInvalid;
}

verify::v1::Report Verifier::finish(const std::string& path) {
  for (auto& [batch, payload] : deferred_) checkSignature(*batch, payload);
  deferred_.clear();

  verify::v1::Report report;
  report.set_path(path);
  report.set_verified_at(formatTime(options_.as_of));
  report.set_files(files_);
  std::vector<std::string> order;
  std::map<std::string, std::vector<Batch*>> by_agent;
  for (auto& b : batches_) {
    auto& list = by_agent[b->header.agent_id()];
    if (list.empty()) order.push_back(b->header.agent_id());
    list.push_back(b.get());
  }
  bool ok = unattributed_.empty();
  for (const std::string& agent : order) {
    verify::v1::AgentReport* agent_report = report.add_agents();
    checkAgent(agent, by_agent[agent], *agent_report);
    ok = ok && agent_report->defects().empty();
  }
  for (auto& d : unattributed_) *report.add_unattributed() = d;
  report.set_ok(ok && files_ > 0);
  return report;
}

void Verifier::checkAgent(const std::string& agent_id, std::vector<Batch*>& batches,
                          verify::v1::AgentReport& report) {
  auto defect = [&](std::string kind, std::string message, const Batch* b) {
    *report.add_defects() = makeDefect(std::move(kind), std::move(message), b ? b->name : "",
                                       b ? b->header.sequence() : 0);
  };
  std::sort(batches.begin(), batches.end(), [](const Batch* a, const Batch* b) {
    return std::make_pair(a->header.sequence(), a->ordinal) <
           std::make_pair(b->header.sequence(), b->ordinal);
  });
  report.set_agent_id(agent_id);
  *report.mutable_host() = batches.back()->header.host();
  report.set_batches_found(batches.size());

  // Which keys speak for this agent.
  std::map<std::string, std::string> trusted;  // key id -> why
  if (!options_.pinned_keys.empty()) {
    for (const auto& pin : options_.pinned_keys) {
      trusted[keyIdOf(pin.raw)] = "pinned (" + pin.source + ")";
    }
  } else {
    for (const Batch* b : batches) {
      if (b->sig_state != Batch::SigState::kValid) continue;
      for (const auto& e : b->enrollments) {
        if (e.agent_id() != agent_id || e.key_id() != b->sig_keyid) continue;
        if (trusted.empty()) {
          trusted[e.key_id()] = "enrollment record in batch " +
                                std::to_string(b->header.sequence()) +
                                " (trusted on first use; pin keys with --key)";
        } else if (!trusted.count(e.key_id())) {
          defect("key_change",
                 "batch " + std::to_string(b->header.sequence()) + " enrolls key " +
                     shortId(e.key_id()) + "..., but this agent enrolled " +
                     shortId(trusted.begin()->first) + "... first",
                 b);
        }
      }
    }
  }
  for (const auto& [key, why] : trusted) {
    verify::v1::TrustedKey* k = report.add_keys();
    k->set_key_id(key);
    k->set_source(why);
  }

  // Each batch on its own.
  std::map<const Batch*, bool> good;
  for (const Batch* b : batches) {
    const std::string seq = std::to_string(b->header.sequence());
    for (const auto& d : b->defects) *report.add_defects() = d;
    bool fine = b->defects.empty();
    if (!b->sig_keyid.empty()) {
      if (!trusted.count(b->sig_keyid)) {
        defect("unknown_key",
               "batch " + seq + " is signed by key " + shortId(b->sig_keyid) + "..., which is " +
                   (options_.pinned_keys.empty() ? "not the key this agent enrolled"
                                                 : "not a pinned key") +
                   (trusted.empty() ? " (no enrollment record found; pin the key with --key)" : ""),
               b);
        fine = false;
      } else if (b->sig_state == Batch::SigState::kInvalid) {
        defect("bad_signature",
               "batch " + seq + ": the signature does not match the payload under key " +
                   shortId(b->sig_keyid) + "...",
               b);
        fine = false;
      } else if (b->header.key_id() != b->sig_keyid) {
        defect("bad_signature",
               "batch " + seq + ": the header names key " + shortId(b->header.key_id()) +
                   "... but the seal is by " + shortId(b->sig_keyid) + "...",
               b);
        fine = false;
      }
    }
    fine = fine && b->sig_state == Batch::SigState::kValid;
    good[b] = fine;
  }

  // Copies: the first stored copy of a sequence stands, later ones are
  // replays (same bytes) or forks (different bytes).
  std::vector<Batch*> chain;  // one batch per sequence, in sequence order
  for (Batch* b : batches) {
    if (!chain.empty() && chain.back()->header.sequence() == b->header.sequence()) {
      Batch* first = chain.back();
      const std::string seq = std::to_string(b->header.sequence());
      if (first->digest == b->digest && !b->digest.empty()) {
        defect("replayed_batch",
               "batch " + seq + " appears again in " + b->name + " (an identical copy of " +
                   first->name + ")",
               b);
      } else {
        defect("duplicate_sequence",
               "sequence " + seq + " appears twice with different contents: " + first->name +
                   " and " + b->name,
               b);
      }
      if (!good[first] && good[b]) chain.back() = b;
      continue;
    }
    chain.push_back(b);
  }
  for (const Batch* b : chain) {
    if (good[b]) accepted_[b->name] = b->digest;
  }

  // Storage order: names that disagree with their contents, and batches
  // stored after later ones.
  std::set<const Batch*> misplaced;
  for (const Batch* b : chain) {
    auto parsed = parseBatchFileName(b->name);
    if (!parsed) continue;
    bool seq_ok = parsed->first == b->header.sequence();
    bool digest_ok = !b->digest.empty() && b->digest.starts_with(parsed->second);
    if (!seq_ok) {
      defect("reordered",
             b->name + " holds batch " + std::to_string(b->header.sequence()) +
                 " but its name says batch " + std::to_string(parsed->first) +
                 ": batches were swapped, renamed or copied",
             b);
      misplaced.insert(b);
    } else if (!digest_ok && good[b]) {
      defect("reordered",
             b->name + " holds a batch " + std::to_string(b->header.sequence()) + " hashing to " +
                 shortId(b->digest) + "..., not the one its name was given for (" + parsed->second +
                 "...)",
             b);
      misplaced.insert(b);
    }
  }
  {
    std::vector<const Batch*> by_position(chain.begin(), chain.end());
    std::sort(by_position.begin(), by_position.end(),
              [](const Batch* a, const Batch* b) { return a->ordinal < b->ordinal; });
    uint64_t highest = 0;
    const Batch* highest_batch = nullptr;
    for (const Batch* b : by_position) {
      if (b->header.sequence() < highest && !misplaced.count(b)) {
        defect("reordered",
               "batch " + std::to_string(b->header.sequence()) + " is stored after batch " +
                   std::to_string(highest) + " (" + highest_batch->name + ")",
               b);
      }
      if (b->header.sequence() > highest) {
        highest = b->header.sequence();
        highest_batch = b;
      }
    }
  }

  // Completeness and the chain.
  auto allowed_after = [&](uint64_t interval_ms) {
    if (options_.max_silence) return *options_.max_silence;
    std::chrono::nanoseconds interval = interval_ms ? std::chrono::milliseconds(interval_ms)
                                                    : std::chrono::nanoseconds(kDefaultHeartbeat);
    return 2 * interval + std::chrono::nanoseconds(kSilenceSlack);
  };
  uint64_t interval_ms = 0;
  if (chain.front()->header.sequence() > 1) {
    report.add_notes("the chain starts at batch " +
                     std::to_string(chain.front()->header.sequence()) +
                     "; earlier batches are not here (expired or not collected)");
  } else if (!chain.front()->header.prev_digest().empty()) {
    defect("broken_chain", "batch 1 links to a previous batch", chain.front());
  }
  for (size_t i = 0; i < chain.size(); ++i) {
    const Batch* b = chain[i];
    if (b->heartbeat_interval_ms) interval_ms = b->heartbeat_interval_ms;
    if (i + 1 == chain.size()) break;
    const Batch* next = chain[i + 1];
    uint64_t s = b->header.sequence();
    uint64_t n = next->header.sequence();
    if (n != s + 1) {
      defect("missing_batches",
             n == s + 2 ? "batch " + std::to_string(s + 1) + " is missing (between " + b->name +
                              " and " + next->name + ")"
                        : "batches " + std::to_string(s + 1) + ".." + std::to_string(n - 1) +
                              " are missing (" + std::to_string(n - s - 1) + " batches between " +
                              b->name + " and " + next->name + ")",
             next);
      continue;
    }
    if (next->header.prev_digest() != b->digest) {
      defect("broken_chain",
             "batch " + std::to_string(n) + " does not link to batch " + std::to_string(s) +
                 " as stored: it expects digest " + shortId(next->header.prev_digest()) +
                 "..., batch " + std::to_string(s) + " hashes to " + shortId(b->digest) + "...",
             next);
    }
    auto silence = next->sealed - b->sealed;
    if (silence < -std::chrono::seconds(1)) {
      report.add_notes("the clock went back " + describeDuration(-silence) + " between batch " +
                       std::to_string(s) + " and " + std::to_string(n));
    }
    if (b->stopped) {
      report.add_notes("agent stopped cleanly at " + formatTime(b->sealed) + " (batch " +
                       std::to_string(s) + ") and started again at " + formatTime(next->sealed));
      continue;
    }
    if (silence > allowed_after(interval_ms)) {
      bool declared = false;
      for (const auto& gap : next->gaps) {
        declared = declared || fromTimestamp(gap.to()) >= b->sealed;
      }
      std::string text = "no batch for " + describeDuration(silence) + " between batch " +
                         std::to_string(s) + " (" + formatTime(b->sealed) + ") and batch " +
                         std::to_string(n) + " (" + formatTime(next->sealed) + "), allowed " +
                         describeDuration(allowed_after(interval_ms));
      if (declared) {
        report.add_notes(text + "; batch " + std::to_string(n) + " declares the gap");
      } else {
        defect("heartbeat_silence",
               text +
                   "; the agent was stopped without a clean shutdown or "
                   "evidence was removed",
               next);
      }
    }
  }
  const Batch* newest = chain.back();
  if (newest->stopped) {
    report.add_notes("agent stopped cleanly at " + formatTime(newest->sealed) + " (batch " +
                     std::to_string(newest->header.sequence()) + ", the newest)");
  } else if (options_.as_of - newest->sealed > allowed_after(interval_ms)) {
    defect("heartbeat_silence",
           "the newest batch " + std::to_string(newest->header.sequence()) + " was sealed at " +
               formatTime(newest->sealed) + ", " +
               describeDuration(options_.as_of - newest->sealed) + " before " +
               formatTime(options_.as_of) + " with no clean shutdown (allowed " +
               describeDuration(allowed_after(interval_ms)) +
               "): the newest batches may have been deleted",
           newest);
  }

  // Totals over what verified.
  std::optional<SystemTime> first_time;
  std::optional<SystemTime> last_time;
  uint64_t verified = 0;
  uint64_t records = 0;
  uint64_t synthetic = 0;
  for (const Batch* b : batches) {
    if (!good[b]) continue;
    ++verified;
    records += b->records;
    synthetic += b->synthetic;
    SystemTime f = fromTimestamp(b->header.first_time());
    SystemTime l = fromTimestamp(b->header.last_time());
    first_time = first_time ? std::min(*first_time, f) : f;
    last_time = last_time ? std::max(*last_time, l) : l;
    for (const auto& [source, count] : b->header.drops())
      (*report.mutable_drops())[source] += count;
    for (const auto& gap : b->gaps) {
      verify::v1::DeclaredGap* g = report.add_gaps();
      g->set_sequence(b->header.sequence());
      *g->mutable_gap() = gap;
    }
  }
  report.set_batches_verified(verified);
  report.set_records_verified(records);
  report.set_synthetic_records(synthetic);
  report.set_first_sequence(chain.front()->header.sequence());
  report.set_last_sequence(newest->header.sequence());
  if (first_time) report.set_first_time(formatTime(*first_time));
  if (last_time) report.set_last_time(formatTime(*last_time));
}

Status readEvidenceDirectory(const std::filesystem::path& path, EvidenceConsumer& consumer) {
  std::error_code ec;
  std::vector<std::filesystem::path> files;
  if (std::filesystem::is_regular_file(path, ec)) {
    files.push_back(path);
  } else if (std::filesystem::is_directory(path, ec)) {
    std::filesystem::recursive_directory_iterator it(path, ec), end;
    for (; !ec && it != end; it.increment(ec)) {
      const auto& p = it->path();
      std::string name = p.filename().string();
      if (it->is_regular_file(ec) && name.ends_with(".jsonl") && name.front() != '.') {
        files.push_back(p);
      }
    }
    if (ec) return errnoError("list " + path.string(), ec.value());
  } else {
    return Error(ErrorCode::kNotFound, path.string() + ": no such file or folder");
  }
  std::sort(files.begin(), files.end());
  for (const auto& file : files) {
    auto bytes = readFile(file);
    if (!bytes.ok()) {
      consumer.addUnreadable(file.string(), bytes.error().message());
      continue;
    }
    consumer.add(file.string(), *bytes);
  }
  return okStatus();
}

Result<verify::v1::Report> verifyDirectory(const std::filesystem::path& path,
                                           const VerifyOptions& options) {
  Verifier verifier(options);
  DEMARC_TRY(readEvidenceDirectory(path, verifier));
  return verifier.finish(path.string());
}

std::string reportJson(const verify::v1::Report& report) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  options.add_whitespace = true;
  std::string out;
  if (!google::protobuf::util::MessageToJsonString(report, &out, options).ok()) std::abort();
  return out;
}

std::string formatReport(const verify::v1::Report& report) {
  std::string out;
  size_t defects = report.unattributed_size();
  out += "demarc verify " + report.path() + ": " + std::to_string(report.files()) +
         " batch files, checked at " + report.verified_at() + "\n";
  for (const auto& agent : report.agents()) {
    const auto& host = agent.host();
    out += "\nagent " + agent.agent_id() + "\n";
    out += "  host        " + (host.hostname().empty() ? "?" : host.hostname());
    if (!host.instance_id().empty()) out += ", instance " + host.instance_id();
    if (!host.machine_id().empty()) out += ", machine-id " + host.machine_id();
    out += "\n";
    if (agent.keys().empty()) out += "  key         none trusted\n";
    for (const auto& key : agent.keys()) {
      out += "  key         " + shortId(key.key_id()) + "... " + key.source() + "\n";
    }
    out += "  batches     " + std::to_string(agent.batches_verified()) + " of " +
           std::to_string(agent.batches_found()) + " verified (sequence " +
           std::to_string(agent.first_sequence()) + ".." + std::to_string(agent.last_sequence()) +
           "), " + std::to_string(agent.records_verified()) + " records\n";
    if (!agent.first_time().empty()) {
      out += "  time        " + agent.first_time() + " .. " + agent.last_time() + "\n";
    }
    for (const auto& [source, count] : agent.drops()) {
      out += "  dropped     " + std::to_string(count) + " (" + source + ")\n";
    }
    if (agent.synthetic_records() > 0) {
      out += "  synthetic   " + std::to_string(agent.synthetic_records()) +
             " load-test records (demarc run --load-test)\n";
    }
    for (const auto& g : agent.gaps()) {
      out += "  gap         batch " + std::to_string(g.sequence()) + " declares " +
             std::to_string(g.gap().records_lost()) + " records lost (" + g.gap().reason() +
             ") from " + formatTime(fromTimestamp(g.gap().from())) + " to " +
             formatTime(fromTimestamp(g.gap().to())) + ": " + g.gap().detail() + "\n";
    }
    for (const auto& note : agent.notes()) out += "  note        " + note + "\n";
    for (const auto& d : agent.defects()) {
      out += "  DEFECT      " + d.kind() + ": " + d.message();
      if (!d.file().empty() && d.message().find(d.file()) == std::string::npos) {
        out += " [" + d.file() + "]";
      }
      out += "\n";
    }
    defects += agent.defects_size();
  }
  for (const auto& d : report.unattributed()) {
    out += "\nDEFECT " + d.kind() + ": " + d.file() + ": " + d.message() + "\n";
  }
  if (report.files() == 0) {
    out += "\nresult: FAILED, no evidence found under " + report.path() + "\n";
  } else if (report.ok()) {
    out += "\nresult: OK, " + std::to_string(report.agents_size()) + " agent(s), no defects\n";
  } else {
    out += "\nresult: FAILED, " + std::to_string(defects) + " defect(s)\n";
  }
  return out;
}

}  // namespace demarc::evidence

#include "agent/telemetry/process_cache.h"

#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <limits>

namespace demarc::telemetry {
namespace {

bool allDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

template <typename T>
bool parseNumber(std::string_view s, T& out) {
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && end == s.data() + s.size();
}

}  // namespace

Result<ProcStat> parseProcStat(std::string_view text) {
  size_t open = text.find('(');
  size_t close = text.rfind(')');
  if (open == std::string_view::npos || close == std::string_view::npos || close < open) {
    return Error(ErrorCode::kInvalidArgument, "no command name in parentheses");
  }
  ProcStat st;
  st.comm = std::string(text.substr(open + 1, close - open - 1));
  // After ") ": field 3 (state) is the first; ppid is field 4, starttime 22.
  std::vector<std::string_view> fields;
  std::string_view rest = text.substr(close + 1);
  while (!rest.empty()) {
    size_t start = rest.find_first_not_of(" \n");
    if (start == std::string_view::npos) break;
    rest.remove_prefix(start);
    size_t end = rest.find_first_of(" \n");
    fields.push_back(rest.substr(0, end));
    if (end == std::string_view::npos) break;
    rest.remove_prefix(end);
  }
  if (fields.size() < 20) {
    return Error(ErrorCode::kInvalidArgument,
                 "expected at least 22 fields, found " + std::to_string(fields.size() + 2));
  }
  if (!parseNumber(fields[1], st.ppid)) {
    return Error(ErrorCode::kInvalidArgument, "field 4 (ppid): '" + std::string(fields[1]) + "'");
  }
  if (!parseNumber(fields[19], st.start_ticks)) {
    return Error(ErrorCode::kInvalidArgument,
                 "field 22 (starttime): '" + std::string(fields[19]) + "'");
  }
  return st;
}

ProcessCache::ProcessCache(std::string boot_id, size_t capacity, uint64_t grace_ns)
    : boot_id_(std::move(boot_id)), capacity_(std::max<size_t>(capacity, 1)), grace_ns_(grace_ns) {}

std::string ProcessCache::execIdOf(uint32_t tgid, uint64_t ns) const {
  return boot_id_ + "-" + std::to_string(tgid) + "-" + std::to_string(ns);
}

Result<size_t> ProcessCache::seed(const HostRoot& root) {
  auto entries = root.list("/proc");
  if (!entries.ok()) return entries.error();
  long ticks = ::sysconf(_SC_CLK_TCK);
  uint64_t ns_per_tick = ticks > 0 ? 1'000'000'000ull / static_cast<uint64_t>(ticks) : 10'000'000;
  size_t added = 0;
  for (const auto& e : *entries) {
    if (!allDigits(e.name)) continue;
    uint32_t tgid = 0;
    if (!parseNumber(e.name, tgid)) continue;
    std::string dir = "/proc/" + e.name;
    auto text = root.read(dir + "/stat", 4096);
    if (!text.ok()) continue;  // gone since the listing
    auto st = parseProcStat(*text);
    if (!st.ok()) continue;
    ProcessInfo info;
    info.tgid = tgid;
    info.ppid = st->ppid;
    info.comm = st->comm;
    auto exe = root.readLink(dir + "/exe");
    if (exe.ok()) info.executable = *exe;
    auto status = root.read(dir + "/status", 16384);
    if (status.ok()) {
      size_t at = status->find("\nUid:");
      if (at != std::string::npos) {
        std::string_view line = std::string_view(*status).substr(at + 5);
        line.remove_prefix(std::min(line.find_first_not_of(" \t"), line.size()));
        (void)parseNumber(line.substr(0, line.find_first_of(" \t\n")), info.uid);
      }
    }
    info.exec_id = execIdOf(tgid, st->start_ticks * ns_per_tick);
    put(std::move(info));
    ++added;
  }
  return added;
}

void ProcessCache::apply(const Event& event) {
  if (const auto* x = std::get_if<ExecEvent>(&event)) {
    ProcessInfo info;
    info.tgid = x->tgid;
    info.ppid = x->ppid;
    info.uid = x->uid;
    info.executable = x->filename;
    info.comm = x->comm;
    info.exec_id = execIdOf(x->tgid, x->ktime);
    put(std::move(info));
  } else if (const auto* f = std::get_if<ForkEvent>(&event)) {
    ProcessInfo info;
    info.tgid = f->tgid;
    info.ppid = f->parent_tgid;
    if (const ProcessInfo* parent = find(f->parent_tgid)) {
      info.uid = parent->uid;
      info.executable = parent->executable;
      info.comm = parent->comm;
    } else {
      ++unknown_;
    }
    info.exec_id = execIdOf(f->tgid, f->start_boottime != 0 ? f->start_boottime : f->ktime);
    put(std::move(info));
  } else if (const auto* x = std::get_if<ExitEvent>(&event)) {
    auto it = procs_.find(x->tgid);
    if (it == procs_.end()) {
      ++unknown_;
      return;
    }
    it->second.info.exited_at = std::max<uint64_t>(x->ktime, 1);
  }
}

void ProcessCache::expire(uint64_t now) {
  for (auto it = procs_.begin(); it != procs_.end();) {
    const auto& p = it->second.info;
    if (p.exited_at != 0 && now > p.exited_at && now - p.exited_at > grace_ns_) {
      it = procs_.erase(it);
    } else {
      ++it;
    }
  }
}

const ProcessInfo* ProcessCache::find(uint32_t tgid) const {
  auto it = procs_.find(tgid);
  return it == procs_.end() ? nullptr : &it->second.info;
}

std::vector<Ancestor> ProcessCache::ancestry(uint32_t tgid, size_t depth) const {
  std::vector<Ancestor> chain;
  const ProcessInfo* p = find(tgid);
  while (p != nullptr && chain.size() < depth && p->ppid != 0 && p->ppid != p->tgid) {
    const ProcessInfo* parent = find(p->ppid);
    if (parent == nullptr) break;
    chain.push_back({parent->tgid, parent->executable, parent->exec_id});
    p = parent;
  }
  return chain;
}

ProcessCacheStats ProcessCache::stats() const { return {procs_.size(), evicted_, unknown_}; }

void ProcessCache::put(ProcessInfo info) {
  uint32_t tgid = info.tgid;
  if (procs_.find(tgid) == procs_.end() && procs_.size() >= capacity_) makeRoom();
  procs_[tgid] = Entry{std::move(info), ++sequence_};
}

void ProcessCache::makeRoom() {
  // The longest-exited entry first; failing that, the oldest live one.
  auto victim = procs_.end();
  for (auto it = procs_.begin(); it != procs_.end(); ++it) {
    uint64_t exited = it->second.info.exited_at;
    if (exited != 0 && (victim == procs_.end() || exited < victim->second.info.exited_at)) {
      victim = it;
    }
  }
  if (victim == procs_.end()) {
    uint64_t oldest = std::numeric_limits<uint64_t>::max();
    for (auto it = procs_.begin(); it != procs_.end(); ++it) {
      if (it->second.sequence < oldest) {
        oldest = it->second.sequence;
        victim = it;
      }
    }
    ++evicted_;
  }
  if (victim != procs_.end()) procs_.erase(victim);
}

}  // namespace demarc::telemetry

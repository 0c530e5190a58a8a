#include "agent/report/timeline.h"

#include <algorithm>
#include <charconv>
#include <functional>

#include "agent/core/units.h"
#include "agent/evidence/codec.h"
#include "agent/evidence/json.h"
#include "agent/report/html.h"
#include "agent/report/posture_report.h"

namespace demarc::report {
namespace {

using nlohmann::json;

std::string baseName(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string kindName(v1::NetworkEvent::Kind k) {
  std::string name = v1::NetworkEvent::Kind_Name(k);
  std::string out = name.starts_with("KIND_") ? name.substr(5) : name;
  std::transform(out.begin(), out.end(), out.begin(), ::tolower);
  return out;
}

// An argument list as a shell would need it typed.
std::string commandLine(const std::vector<std::string>& argv) {
  std::string out;
  for (const std::string& a : argv) {
    if (!out.empty()) out += ' ';
    bool plain = !a.empty() && a.find_first_of(" \t\n\"'\\$`*?;&|<>()") == std::string::npos;
    if (plain) {
      out += a;
      continue;
    }
    out += '\'';
    for (char c : a) {
      if (c == '\'') {
        out += "'\\''";
      } else if (c == '\n') {
        out += "\\n";
      } else {
        out += c;
      }
    }
    out += '\'';
  }
  return out;
}

std::string endpoint(const std::string& addr, uint32_t port) {
  return addr.find(':') != std::string::npos ? "[" + addr + "]:" + std::to_string(port)
                                             : addr + ":" + std::to_string(port);
}

}  // namespace

uint32_t Timeline::intern(std::string_view value) {
  auto it = string_ids_.find(value);
  if (it != string_ids_.end()) return it->second;
  strings_.emplace_back(value);
  auto id = static_cast<uint32_t>(strings_.size() - 1);
  string_ids_.emplace(strings_.back(), id);
  return id;
}

bool Timeline::inWindow(SystemTime t) const {
  return (!filter_.since || t >= *filter_.since) && (!filter_.until || t <= *filter_.until);
}

Timeline::Process* Timeline::processFor(const std::string& exec_id) {
  auto it = processes_.find(exec_id);
  return it == processes_.end() ? nullptr : &it->second;
}

bool Timeline::processSelected(const v1::ProcessEvent& e, bool in_subtree) const {
  if ((filter_.pid || !filter_.exec_id.empty()) && !in_subtree) return false;
  if (!filter_.comm.empty() && e.comm() != filter_.comm &&
      baseName(e.executable()) != filter_.comm) {
    return false;
  }
  if (filter_.uid && e.uid() != *filter_.uid && e.euid() != *filter_.uid) return false;
  return true;
}

void Timeline::add(const v1::BatchHeader& header, const v1::Record& record) {
  if (!ofInstance(header, filter_.instance)) return;
  const SystemTime t = evidence::fromTimestamp(record.time());
  const std::string& agent = header.agent_id();
  if (record.has_heartbeat()) {
    // Silences longer than the agent allowed itself, as verify measures
    // them; a clean stop is not one.
    const v1::Heartbeat& h = record.heartbeat();
    auto last = heartbeats_.find(agent);
    if (last != heartbeats_.end() && h.state() != v1::Heartbeat::STATE_UNSPECIFIED) {
      auto interval =
          std::chrono::milliseconds(last->second.interval_ms ? last->second.interval_ms : 60000);
      if (t - last->second.time > 2 * interval + std::chrono::seconds(10)) {
        gaps_.push_back({agent, last->second.time, t});
      }
    }
    if (h.state() == v1::Heartbeat::STATE_STOPPING) {
      heartbeats_.erase(agent);
    } else {
      heartbeats_[agent] = {t, h.interval_ms()};
    }
    return;
  }
  if (!inWindow(t)) return;
  ++records_;
  if (record.has_process()) {
    const v1::ProcessEvent& e = record.process();
    if (e.kind() == v1::ProcessEvent::KIND_EXEC) {
      // Under a --pid/--exec-id root: the root itself, or an ancestor in
      // the subtree (parents exec before their children, so they are
      // known first).
      bool root = (filter_.pid && e.pid() == *filter_.pid) ||
                  (!filter_.exec_id.empty() && e.exec_id() == filter_.exec_id);
      bool in_subtree =
          root || std::any_of(e.ancestry().begin(), e.ancestry().end(),
                              [&](const auto& a) { return subtree_.count(a.exec_id()) > 0; });
      if (in_subtree) subtree_.insert(e.exec_id());
      // With --addr/--port every process is kept until its connections say
      // whether it is shown.
      if (!addressFiltered() && !processSelected(e, in_subtree)) return;
      Process p;
      p.exec_id = e.exec_id();
      p.parent_exec_id = e.ancestry().empty() ? e.parent_exec_id() : e.ancestry(0).exec_id();
      p.agent_id = agent;
      p.pid = e.pid();
      p.ppid = e.ppid();
      p.uid = e.uid();
      p.euid = e.euid();
      p.comm = e.comm();
      p.executable = e.executable();
      p.cwd = e.cwd();
      p.argv.assign(e.argv().begin(), e.argv().end());
      if (e.argv_truncated()) p.argv.push_back("[... cut at the probe's limit]");
      p.privileges_gained.assign(e.privileges_gained().begin(), e.privileges_gained().end());
      p.start = t;
      p.seen_exec = true;
      processes_.emplace(p.exec_id, std::move(p));
    } else if (e.kind() == v1::ProcessEvent::KIND_EXIT) {
      if (Process* p = processFor(e.exec_id())) {
        p->end = t;
        p->exit_code = e.exit_code();
        p->signal = e.signal();
      }
    }
    return;
  }
  if (record.has_network()) {
    const v1::NetworkEvent& n = record.network();
    if (!filter_.addr.empty() && n.remote_address() != filter_.addr &&
        n.local_address() != filter_.addr) {
      return;
    }
    if (filter_.port && n.remote_port() != *filter_.port && n.local_port() != *filter_.port) {
      return;
    }
    Process* p = processFor(n.exec_id());
    if (!p) {
      if (filter_.pid || !filter_.exec_id.empty() || !filter_.comm.empty() || filter_.uid) {
        return;  // a process the filters did not select
      }
      // Its exec is before the window (or not recorded): the process as
      // the connection names it.
      Process stub;
      stub.exec_id = n.exec_id().empty() ? agent + "/pid " + std::to_string(n.pid()) : n.exec_id();
      stub.agent_id = agent;
      stub.pid = n.pid();
      stub.uid = n.uid();
      stub.euid = n.uid();
      stub.comm = n.comm();
      stub.start = t;
      p = &processes_.emplace(stub.exec_id, std::move(stub)).first->second;
    }
    Connection c;
    c.time = t;
    c.kind = intern(kindName(n.kind()));
    c.protocol = intern(n.protocol());
    c.local = intern(n.local_address());
    c.local_port = static_cast<uint16_t>(n.local_port());
    c.remote = intern(n.remote_address());
    c.remote_port = static_cast<uint16_t>(n.remote_port());
    c.bytes_sent = n.bytes_sent();
    c.bytes_received = n.bytes_received();
    c.failed = n.failed();
    p->connections.push_back(std::move(c));
    return;
  }
  if (record.has_privilege()) {
    const v1::PrivilegeEvent& e = record.privilege();
    Process* p = processFor(e.exec_id());
    if (!p) return;
    p->privileges.push_back({t, e.kind(), e.syscall(), e.result(), e.before().uid(),
                             e.after().uid(), e.before().euid(), e.after().euid()});
  }
}

std::optional<std::pair<SystemTime, SystemTime>> Timeline::firstGap() const {
  if (gaps_.empty()) return std::nullopt;
  return std::make_pair(gaps_.front().last_heartbeat, gaps_.front().resumed);
}

std::vector<const Timeline::Process*> Timeline::roots() const {
  std::vector<const Process*> out = shown();
  if (addressFiltered()) return out;  // flat: each process with its matching connections
  std::erase_if(out, [&](const Process* p) { return processes_.count(p->parent_exec_id) > 0; });
  return out;
}

json Timeline::processJson(const Process& p) const {
  json proc = {{"exec_id", p.exec_id},
               {"parent_exec_id", p.parent_exec_id},
               {"agent_id", p.agent_id},
               {"pid", p.pid},
               {"ppid", p.ppid},
               {"uid", p.uid},
               {"euid", p.euid},
               {"comm", p.comm},
               {"executable", p.executable},
               {"argv", p.argv},
               {"cwd", p.cwd},
               {"start", formatTime(p.start)},
               {"exec_seen", p.seen_exec}};
  proc["end"] = p.end ? json(formatTime(*p.end)) : json(nullptr);
  proc["exit_code"] = p.exit_code ? json(*p.exit_code) : json(nullptr);
  if (p.signal) proc["signal"] = p.signal;
  if (!p.privileges_gained.empty()) proc["privileges_gained"] = p.privileges_gained;
  proc["privilege"] = json::array();
  for (const Privilege& v : p.privileges) {
    proc["privilege"].push_back({{"time", formatTime(v.time)},
                                 {"kind", v.kind},
                                 {"syscall", v.syscall},
                                 {"result", v.result},
                                 {"uid", {v.uid_before, v.uid_after}},
                                 {"euid", {v.euid_before, v.euid_after}}});
  }
  return proc;
}

json Timeline::connectionJson(const Connection& c) const {
  std::string line;
  appendConnectionJson(c, line);
  return json::parse(line, nullptr, false);
}

// Written directly, not built as a JSON object (a map node and a string per
// key): a timeline can hold millions of connections, and building them took
// a third of `demarc timeline --json`. Keys in sorted order, as the other
// objects print theirs.
void Timeline::appendConnectionJson(const Connection& c, std::string& out) const {
  auto key = [&out](std::string_view name) {
    out += out.back() == '{' ? "\"" : ",\"";
    out += name;
    out += "\":";
  };
  auto number = [&](std::string_view name, uint64_t v) {
    key(name);
    char digits[24];
    auto end = std::to_chars(digits, digits + sizeof(digits), v).ptr;
    out.append(digits, end);
  };
  auto string = [&](std::string_view name, std::string_view v) {
    key(name);
    evidence::appendJsonString(v, out);
  };
  out += '{';
  number("bytes_received", c.bytes_received);
  number("bytes_sent", c.bytes_sent);
  key("failed");
  out += c.failed ? "true" : "false";
  string("kind", text(c.kind));
  string("local_address", text(c.local));
  number("local_port", c.local_port);
  string("protocol", text(c.protocol));
  string("remote_address", text(c.remote));
  number("remote_port", c.remote_port);
  string("time", formatTime(c.time));
  out += '}';
}

json Timeline::headJson() const {
  json out;
  out["window"] = {{"since", filter_.since ? formatTime(*filter_.since) : ""},
                   {"until", filter_.until ? formatTime(*filter_.until) : ""}};
  out["gaps"] = json::array();
  for (const Gap& g : gaps_) {
    out["gaps"].push_back({{"agent_id", g.agent_id},
                           {"last_heartbeat", formatTime(g.last_heartbeat)},
                           {"resumed", formatTime(g.resumed)}});
  }
  out["records_in_window"] = records_;
  return out;
}

std::vector<const Timeline::Process*> Timeline::shown() const {
  std::vector<const Process*> all;
  const bool address_filter = addressFiltered();
  for (const auto& [id, p] : processes_) {
    if (!address_filter || !p.connections.empty()) all.push_back(&p);
  }
  std::sort(all.begin(), all.end(),
            [](const Process* a, const Process* b) { return a->start < b->start; });
  return all;
}

json Timeline::toJson() const {
  json out = headJson();
  out["processes"] = json::array();
  for (const Process* p : shown()) {
    json proc = processJson(*p);
    proc["connections"] = json::array();
    for (const Connection& c : p->connections) proc["connections"].push_back(connectionJson(c));
    out["processes"].push_back(std::move(proc));
  }
  return out;
}

void Timeline::writeJson(std::ostream& out) const {
  constexpr auto kReplace = json::error_handler_t::replace;
  std::string head = headJson().dump(-1, ' ', false, kReplace);
  head.pop_back();  // the closing brace: processes follow
  out << head << ",\"processes\":[";
  bool first = true;
  for (const Process* p : shown()) {
    std::string proc = processJson(*p).dump(-1, ' ', false, kReplace);
    proc.pop_back();
    out << (first ? "\n" : ",\n") << proc << ",\"connections\":[";
    first = false;
    std::string chunk;
    bool first_connection = true;
    for (const Connection& c : p->connections) {
      if (!first_connection) chunk += ',';
      first_connection = false;
      appendConnectionJson(c, chunk);
      if (chunk.size() >= (64u << 10)) {
        out << chunk;
        chunk.clear();
      }
    }
    out << chunk << "]}";
  }
  out << "\n]}\n";
}

void Timeline::writeText(std::ostream& out) const {
  std::map<std::string, std::vector<const Process*>> children;
  for (const auto& [id, p] : processes_) {
    if (!p.parent_exec_id.empty() && processes_.count(p.parent_exec_id)) {
      children[p.parent_exec_id].push_back(&p);
    }
  }
  for (auto& [id, list] : children) {
    std::sort(list.begin(), list.end(),
              [](const Process* a, const Process* b) { return a->start < b->start; });
  }
  for (const Gap& g : gaps_) {
    out << "!! evidence gap: no heartbeat from agent " + g.agent_id.substr(0, 8) + " between " +
               formatTime(g.last_heartbeat) + " and " + formatTime(g.resumed) + "\n";
  }
  const bool address_filter = addressFiltered();
  std::function<void(const Process*, int)> print = [&](const Process* p, int depth) {
    std::string indent(static_cast<size_t>(depth) * 2, ' ');
    std::string line = formatTime(p->start) + "  " + indent + (depth ? "└ " : "") + "[" +
                       std::to_string(p->pid) + "] ";
    line += p->seen_exec ? commandLine(p->argv).substr(0, 400)
                         : "(" + p->comm + ", started before the window)";
    line += "  uid " + std::to_string(p->uid);
    if (p->euid != p->uid) line += " euid " + std::to_string(p->euid);
    if (!p->cwd.empty()) line += "  cwd " + p->cwd;
    if (p->exit_code) {
      line += p->signal ? "  killed by signal " + std::to_string(p->signal)
                        : "  exit " + std::to_string(*p->exit_code);
      line += " after " + formatDuration(*p->end - p->start);
    }
    if (!p->privileges_gained.empty()) {
      line += "  gained";
      for (const auto& g : p->privileges_gained) line += " " + g;
    }
    out << line << "\n";
    std::string pad(formatTime(p->start).size() + 2 + indent.size() + 4, ' ');
    for (const Connection& c : p->connections) {
      const std::string& kind = text(c.kind);
      out << pad + text(c.protocol) + " " + kind + " " + endpoint(text(c.local), c.local_port) +
                 (kind == "listen" ? "" : " -> " + endpoint(text(c.remote), c.remote_port));
      if (kind == "close") {
        if (c.failed) {
          out << "  (never established)";
        } else {
          out << "  sent " << c.bytes_sent << " B, received " << c.bytes_received << " B";
        }
      }
      out << "  at " + formatTime(c.time) + "\n";
    }
    for (const Privilege& v : p->privileges) {
      out << pad + "privilege " + v.kind + " (" + v.syscall + ") uid " +
                 std::to_string(v.uid_before) + "->" + std::to_string(v.uid_after) + " euid " +
                 std::to_string(v.euid_before) + "->" + std::to_string(v.euid_after) + " result " +
                 std::to_string(v.result) + "  at " + formatTime(v.time) + "\n";
    }
    if (address_filter) return;
    auto kids = children.find(p->exec_id);
    if (kids == children.end()) return;
    for (const Process* child : kids->second) print(child, depth + 1);
  };
  for (const Process* root : roots()) print(root, 0);
  if (processes_.empty()) out << "no process matches in the window\n";
}

std::string Timeline::toHtml() const {
  // The page builds the tree from the same JSON --json prints; nothing is
  // fetched.
  std::string out = pageStart("demarc timeline");
  out += R"(<h1>Timeline</h1><p class=meta id=window></p><div id=gaps></div>
<p><button id=expand>Expand all</button> <button id=collapse>Collapse all</button></p>
<div id=tree></div><h2>Connections of the selected process</h2><div id=detail class=meta>
Click a process.</div>
<style>.node{margin-left:18px}.row{cursor:pointer;padding:1px 0}.row:hover{background:#eef}
.row.sel{background:#dde}.toggle{display:inline-block;width:14px;color:#555}</style>
<script type="application/json" id="data">)";
  out += scriptSafeJson(toJson());
  out += R"(</script><script>
const data = JSON.parse(document.getElementById('data').textContent);
const byId = new Map(data.processes.map(p => [p.exec_id, p]));
const kids = new Map();
for (const p of data.processes) {
  const parent = byId.has(p.parent_exec_id) ? p.parent_exec_id : '';
  if (!kids.has(parent)) kids.set(parent, []);
  kids.get(parent).push(p);
}
document.getElementById('window').textContent = 'Window: ' + (data.window.since || 'start') +
  ' to ' + (data.window.until || 'end') + ', ' + data.processes.length + ' processes';
for (const g of data.gaps) {
  const d = document.createElement('p'); d.className = 'bad gap';
  d.textContent = 'Evidence gap: no heartbeat between ' + g.last_heartbeat + ' and ' + g.resumed;
  document.getElementById('gaps').appendChild(d);
}
function text(p) {
  let t = p.start + '  [' + p.pid + '] ' + (p.argv.length ? p.argv.join(' ') : '(' + p.comm + ')');
  t += '  uid ' + p.uid + (p.cwd ? '  cwd ' + p.cwd : '');
  if (p.exit_code !== null) t += '  exit ' + p.exit_code;
  if (p.connections.length) t += '  (' + p.connections.length + ' connections)';
  return t;
}
function show(p, row) {
  document.querySelectorAll('.row.sel').forEach(r => r.classList.remove('sel'));
  row.classList.add('sel');
  const d = document.getElementById('detail'); d.innerHTML = '';
  const h = document.createElement('p'); h.textContent = text(p); d.appendChild(h);
  for (const c of p.connections) {
    const l = document.createElement('div'); l.className = 'conn';
    l.textContent = c.time + ' ' + c.protocol + ' ' + c.kind + ' ' + c.local_address + ':' +
      c.local_port + ' -> ' + c.remote_address + ':' + c.remote_port +
      (c.kind === 'close' ? '  sent ' + c.bytes_sent + ' B, received ' + c.bytes_received + ' B' : '');
    d.appendChild(l);
  }
  if (!p.connections.length) d.appendChild(document.createTextNode('No connections.'));
}
function render(parent, list) {
  for (const p of list) {
    const node = document.createElement('div'); node.className = 'node';
    const row = document.createElement('div'); row.className = 'row';
    row.dataset.execId = p.exec_id;
    const toggle = document.createElement('span'); toggle.className = 'toggle';
    const children = kids.get(p.exec_id) || [];
    toggle.textContent = children.length ? '▾' : '';
    row.appendChild(toggle); row.appendChild(document.createTextNode(text(p)));
    node.appendChild(row);
    const sub = document.createElement('div'); sub.className = 'children';
    node.appendChild(sub);
    render(sub, children);
    toggle.addEventListener('click', e => {
      e.stopPropagation();
      sub.hidden = !sub.hidden; toggle.textContent = sub.hidden ? '▸' : '▾';
    });
    row.addEventListener('click', () => show(p, row));
    parent.appendChild(node);
  }
}
render(document.getElementById('tree'), kids.get('') || []);
document.getElementById('expand').onclick = () => document.querySelectorAll('.children')
  .forEach(c => { c.hidden = false; c.previousSibling.firstChild.textContent =
    c.childElementCount ? '▾' : ''; });
document.getElementById('collapse').onclick = () => document.querySelectorAll('.children')
  .forEach(c => { if (c.childElementCount) { c.hidden = true;
    c.previousSibling.firstChild.textContent = '▸'; } });
</script>)";
  out += pageEnd();
  return out;
}

}  // namespace demarc::report

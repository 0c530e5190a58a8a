#include "agent/posture/dnf.h"

#include <expat.h>

#include <algorithm>
#include <climits>
#include <map>
#include <memory>
#include <set>

#include "agent/core/decompress.h"
#include "agent/core/text.h"
#include "agent/posture/rpm_version.h"

namespace demarc::posture {
namespace {

constexpr size_t kMaxText = 4096;  // longest id, title or severity kept
constexpr size_t kMaxMetadata = 1ULL << 30;

struct ParserFree {
  void operator()(XML_Parser p) const { XML_ParserFree(p); }
};
using Parser = std::unique_ptr<std::remove_pointer_t<XML_Parser>, ParserFree>;

const char* attribute(const XML_Char** attrs, std::string_view name) {
  for (size_t i = 0; attrs[i] != nullptr; i += 2) {
    if (name == attrs[i]) return attrs[i + 1];
  }
  return nullptr;
}

// Feeds a whole document to expat in chunks (XML_Parse takes an int).
template <typename State>
Result<void> parseXml(std::string_view xml, State& state, XML_StartElementHandler start,
                      XML_EndElementHandler end, XML_CharacterDataHandler text) {
  Parser parser(XML_ParserCreate(nullptr));
  if (!parser) return Error(ErrorCode::kInternal, "expat init");
  state.parser = parser.get();
  XML_SetUserData(parser.get(), &state);
  XML_SetElementHandler(parser.get(), start, end);
  if (text != nullptr) XML_SetCharacterDataHandler(parser.get(), text);
  constexpr size_t kChunk = 16 << 20;
  do {
    size_t n = std::min(xml.size(), kChunk);
    bool last = n == xml.size();
    if (XML_Parse(parser.get(), xml.data(), static_cast<int>(n), last ? 1 : 0) != XML_STATUS_OK) {
      return Error(ErrorCode::kCorrupt, "line " +
                                            std::to_string(XML_GetCurrentLineNumber(parser.get())) +
                                            ": " + XML_ErrorString(XML_GetErrorCode(parser.get())));
    }
    xml.remove_prefix(n);
  } while (!xml.empty());
  return {};
}

struct UpdateInfoState {
  XML_Parser parser = nullptr;
  std::vector<std::string> path;  // element names from the root
  std::vector<Advisory>* out = nullptr;
  std::vector<std::string>* problems = nullptr;
  std::optional<Advisory> current;
  size_t current_line = 0;
  std::string* capture = nullptr;  // the field the character data goes to
  bool root_seen = false;
  bool wrong_root = false;

  std::string where() const {
    return "line " + std::to_string(XML_GetCurrentLineNumber(parser)) + ": ";
  }
  void problem(std::string text) {
    if (problems != nullptr) problems->push_back(std::move(text));
  }
};

void XMLCALL updateInfoStart(void* data, const XML_Char* name, const XML_Char** attrs) {
  auto& s = *static_cast<UpdateInfoState*>(data);
  std::string_view element(name);
  if (s.path.empty()) {
    s.root_seen = true;
    if (element != "updates") {
      s.wrong_root = true;
      XML_StopParser(s.parser, XML_FALSE);
      return;
    }
  }
  const std::string parent = s.path.empty() ? "" : s.path.back();
  s.path.emplace_back(element);
  if (element == "update" && parent == "updates") {
    s.current.emplace();
    s.current_line = XML_GetCurrentLineNumber(s.parser);
    if (const char* type = attribute(attrs, "type")) s.current->type = type;
    return;
  }
  if (!s.current) return;
  Advisory& a = *s.current;
  if (parent == "update") {
    if (element == "id") s.capture = &a.id;
    if (element == "title") s.capture = &a.title;
    if (element == "severity") s.capture = &a.severity;
    if (element == "issued") {
      if (const char* date = attribute(attrs, "date")) a.issued = date;
    }
  } else if (element == "reference") {
    const char* type = attribute(attrs, "type");
    const char* id = attribute(attrs, "id");
    if (type != nullptr && id != nullptr && std::string_view(type) == "cve")
      a.cves.emplace_back(id);
  } else if (element == "package" && parent == "collection") {
    RpmPackage p;
    const char* n = attribute(attrs, "name");
    const char* v = attribute(attrs, "version");
    const char* r = attribute(attrs, "release");
    const char* arch = attribute(attrs, "arch");
    if (n == nullptr || v == nullptr || r == nullptr || arch == nullptr || *n == '\0' ||
        *v == '\0') {
      s.problem(s.where() + "package without name, version, release or arch (skipped)");
      return;
    }
    p.name = n;
    p.version = v;
    p.release = r;
    p.arch = arch;
    if (const char* e = attribute(attrs, "epoch")) p.epoch = e;
    a.packages.push_back(std::move(p));
  }
}

void XMLCALL updateInfoEnd(void* data, const XML_Char* /*name*/) {
  auto& s = *static_cast<UpdateInfoState*>(data);
  s.capture = nullptr;
  if (s.path.empty()) return;
  bool closes_update = s.path.size() == 2 && s.path.back() == "update";
  s.path.pop_back();
  if (!closes_update || !s.current) return;
  Advisory a = std::move(*s.current);
  s.current.reset();
  for (std::string* field : {&a.id, &a.title, &a.severity}) *field = std::string(trimSpace(*field));
  if (a.id.empty()) {
    s.problem("line " + std::to_string(s.current_line) + ": update without an id (skipped)");
    return;
  }
  s.out->push_back(std::move(a));
}

void XMLCALL updateInfoText(void* data, const XML_Char* text, int len) {
  auto& s = *static_cast<UpdateInfoState*>(data);
  if (s.capture == nullptr || len <= 0) return;
  size_t room = kMaxText - std::min(kMaxText, s.capture->size());
  s.capture->append(text, std::min(room, static_cast<size_t>(len)));
}

struct RepomdState {
  XML_Parser parser = nullptr;
  std::vector<std::string> path;
  std::string data_type;
  std::string href;
};

void XMLCALL repomdStart(void* data, const XML_Char* name, const XML_Char** attrs) {
  auto& s = *static_cast<RepomdState*>(data);
  std::string_view element(name);
  if (element == "data" && s.path.size() == 1) {
    const char* type = attribute(attrs, "type");
    s.data_type = type == nullptr ? "" : type;
  }
  if (element == "location" && s.path.size() == 2 && s.path.back() == "data" &&
      s.data_type == "updateinfo" && s.href.empty()) {
    if (const char* href = attribute(attrs, "href")) s.href = href;
  }
  s.path.emplace_back(element);
}

void XMLCALL repomdEnd(void* data, const XML_Char* /*name*/) {
  auto& s = *static_cast<RepomdState*>(data);
  if (!s.path.empty()) s.path.pop_back();
}

std::string packageKey(const RpmPackage& p) { return p.name + "." + p.arch; }

// "ID-0123456789abcdef" -> "ID"; empty when the name is not a cache folder.
std::string repoIdOfCacheDir(std::string_view name) {
  constexpr size_t kHash = 16;
  if (name.size() < kHash + 2 || name[name.size() - kHash - 1] != '-') return {};
  std::string_view hash = name.substr(name.size() - kHash);
  if (!std::all_of(hash.begin(), hash.end(),
                   [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); })) {
    return {};
  }
  return std::string(name.substr(0, name.size() - kHash - 1));
}

}  // namespace

Result<std::vector<Advisory>> parseUpdateInfo(std::string_view xml,
                                              std::vector<std::string>* problems) {
  std::vector<Advisory> out;
  UpdateInfoState state;
  state.out = &out;
  state.problems = problems;
  auto parsed = parseXml(xml, state, updateInfoStart, updateInfoEnd, updateInfoText);
  if (state.wrong_root) {
    return Error(ErrorCode::kCorrupt, "not an updateinfo document (the root is not <updates>)");
  }
  if (!parsed.ok()) return parsed.error();
  if (!state.root_seen) return Error(ErrorCode::kCorrupt, "empty document");
  return out;
}

Result<std::string> updateInfoLocation(std::string_view repomd_xml) {
  RepomdState state;
  DEMARC_TRY(parseXml(repomd_xml, state, repomdStart, repomdEnd, nullptr));
  return state.href;
}

std::vector<std::string> enabledRepoIds(std::string_view repo_file_text) {
  std::vector<std::string> ids;
  std::string section;
  bool enabled = true;
  auto flush = [&] {
    if (!section.empty() && section != "main" && enabled) ids.push_back(section);
  };
  forEachLine(repo_file_text, [&](std::string_view raw, size_t) {
    std::string_view line = trimSpace(raw);
    if (line.empty() || line.front() == '#' || line.front() == ';') return;
    if (line.front() == '[' && line.back() == ']') {
      flush();
      section = std::string(trimSpace(line.substr(1, line.size() - 2)));
      enabled = true;
      return;
    }
    size_t eq = line.find('=');
    if (eq == std::string_view::npos || trimSpace(line.substr(0, eq)) != "enabled") return;
    std::string value(trimSpace(line.substr(eq + 1)));
    std::transform(value.begin(), value.end(), value.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    enabled = !(value == "0" || value == "false" || value == "no" || value == "off");
  });
  flush();
  return ids;
}

Result<DnfState> readDnfState(const HostRoot& root, const std::vector<RpmPackage>& installed) {
  DnfState state;
  UpdateState& updates = state.updates;

  // Enabled repositories. Without any .repo file, every cached repository
  // counts (nothing says which are enabled).
  std::set<std::string> enabled;
  bool repo_files = false;
  for (const std::string& file : root.glob("/etc/yum.repos.d/*.repo")) {
    auto text = root.read(file, 4 << 20);
    if (!text.ok()) {
      updates.problems.push_back(text.error().message());
      continue;
    }
    repo_files = true;
    for (auto& id : enabledRepoIds(*text)) enabled.insert(std::move(id));
  }

  // The newest cache folder of each enabled repository.
  std::map<std::string, DnfRepoCache> caches;
  for (const char* base : {"/var/cache/dnf", "/var/cache/libdnf5"}) {
    auto entries = root.list(base);
    if (!entries.ok()) continue;
    for (const auto& entry : *entries) {
      std::string id = repoIdOfCacheDir(entry.name);
      if (id.empty() || (repo_files && !enabled.contains(id))) continue;
      std::string dir = std::string(base) + "/" + entry.name;
      auto st = root.lstat(dir + "/repodata/repomd.xml");
      if (!st.ok() || !S_ISREG(st->st_mode)) continue;
      DnfRepoCache cache{id, dir, {}, fromUnixTime(st->st_mtim.tv_sec, st->st_mtim.tv_nsec)};
      auto& slot = caches[id];
      if (slot.dir.empty() || *slot.fetched < *cache.fetched) slot = std::move(cache);
    }
  }
  if (caches.empty()) {
    return Error(ErrorCode::kNotFound,
                 repo_files ? "no dnf metadata cached for the enabled repositories under "
                              "/var/cache/dnf (dnf makecache fetches it)"
                            : "no dnf metadata cached under /var/cache/dnf and no "
                              "/etc/yum.repos.d/*.repo (dnf makecache fetches it)");
  }

  // Newest installed version of each name.arch.
  std::map<std::string, const RpmPackage*> newest;
  for (const auto& p : installed) {
    const RpmPackage*& slot = newest[packageKey(p)];
    if (slot == nullptr || compareRpmVersions(slot->evr(), p.evr()) < 0) slot = &p;
  }

  std::vector<std::string> sources;
  for (auto& [id, cache] : caches) {
    auto repomd = root.read(cache.dir + "/repodata/repomd.xml", 16 << 20);
    if (!repomd.ok()) {
      updates.problems.push_back(repomd.error().message());
      continue;
    }
    auto href = updateInfoLocation(*repomd);
    if (!href.ok()) {
      updates.problems.push_back(root.path(cache.dir + "/repodata/repomd.xml").string() + ": " +
                                 href.error().message());
      continue;
    }
    if (!href->empty()) {
      // The cache keeps the file under its own name in repodata/.
      std::string name = href->substr(href->rfind('/') + 1);
      if (name.empty() || name == "." || name == "..") {
        updates.problems.push_back(cache.dir + "/repodata/repomd.xml: bad updateinfo location \"" +
                                   *href + "\"");
      } else {
        cache.updateinfo = cache.dir + "/repodata/" + name;
      }
    }
    state.repos.push_back(cache);
    if (cache.updateinfo.empty()) continue;
    auto xml = readMaybeCompressed(root, cache.updateinfo, kMaxMetadata);
    if (!xml.ok()) {
      updates.problems.push_back(xml.error().message());
      continue;
    }
    std::vector<std::string> problems;
    auto advisories = parseUpdateInfo(*xml, &problems);
    for (auto& p : problems) updates.problems.push_back(cache.updateinfo + ": " + p);
    if (!advisories.ok()) {
      updates.problems.push_back(cache.updateinfo + ": " + advisories.error().message());
      continue;
    }
    sources.push_back(cache.updateinfo + " (fetched " + formatTime(*cache.fetched) + ")");
    for (const Advisory& a : *advisories) {
      for (const RpmPackage& p : a.packages) {
        auto it = newest.find(packageKey(p));
        if (it == newest.end()) continue;
        std::string have = it->second->evr();
        if (compareRpmVersions(p.evr(), have) <= 0) continue;
        state.matches.push_back({a.id, a.type, a.severity, a.cves, p, have});
      }
    }
  }
  if (sources.empty() && !updates.problems.empty()) {
    return Error(ErrorCode::kCorrupt, "no updateinfo could be read: " + updates.problems.front());
  }

  // The same advisory can come from several repositories.
  auto line = [](const AdvisoryMatch& m) {
    return std::tie(m.package.name, m.package.arch, m.package.epoch, m.package.version,
                    m.package.release, m.advisory);
  };
  std::sort(state.matches.begin(), state.matches.end(),
            [&](const AdvisoryMatch& a, const AdvisoryMatch& b) { return line(a) < line(b); });
  state.matches.erase(std::unique(state.matches.begin(), state.matches.end(),
                                  [&](const AdvisoryMatch& a, const AdvisoryMatch& b) {
                                    return line(a) == line(b);
                                  }),
                      state.matches.end());

  std::map<std::string, PendingUpdate> pending;
  for (const AdvisoryMatch& m : state.matches) {
    PendingUpdate& u = pending[packageKey(m.package)];
    if (u.name.empty()) {
      u.name = m.package.name;
      u.arch = m.package.arch;
      u.installed_version = m.installed_version;
    }
    std::string evr = m.package.evr();
    if (u.candidate_version.empty() || compareRpmVersions(u.candidate_version, evr) < 0) {
      u.candidate_version = evr;
    }
    if (std::find(u.advisories.begin(), u.advisories.end(), m.advisory) == u.advisories.end()) {
      u.advisories.push_back(m.advisory);
    }
    for (const auto& cve : m.cves) {
      if (std::find(u.cves.begin(), u.cves.end(), cve) == u.cves.end()) u.cves.push_back(cve);
    }
    u.security = u.security || m.type == "security";
  }
  for (auto& [key, u] : pending) updates.pending.push_back(std::move(u));
  std::sort(updates.pending.begin(), updates.pending.end(),
            [](const PendingUpdate& a, const PendingUpdate& b) {
              return std::tie(a.name, a.arch) < std::tie(b.name, b.arch);
            });
  updates.source = "/var/lib/rpm/rpmdb.sqlite";
  for (const auto& s : sources) updates.source += ", " + s;
  return state;
}

}  // namespace demarc::posture

// File mode/owner/group and file content checks.
#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>

#include "agent/core/text.h"
#include "agent/posture/checks/check.h"
#include "agent/posture/checks/kinds.h"
#include "agent/posture/checks/util.h"
#include "agent/posture/scan_context.h"

namespace demarc::posture {
namespace {

using rules::v1::Missing;

CheckOutcome onMissing(Missing missing, const std::string& path) {
  switch (missing) {
    case rules::v1::MISSING_FAIL:
      return CheckOutcome::fail("absent", "present", path);
    case rules::v1::MISSING_NOT_APPLICABLE:
      return CheckOutcome::notApplicable("absent", path);
    default:
      return CheckOutcome::pass("absent", "absent or restricted", path);
  }
}

std::string octal(unsigned mode) {
  char buf[8];
  std::snprintf(buf, sizeof(buf), "%04o", mode & 07777);
  return buf;
}

// Owner and group names from the scanned system's own databases (an image
// has its own /etc/passwd), falling back to the number.
std::string nameOf(const std::vector<DatabaseLine>& db, unsigned id) {
  for (const auto& line : db) {
    if (line.fields.size() > 2 && line.fields[2] == std::to_string(id)) return line.fields[0];
  }
  return std::to_string(id);
}

bool listed(const google::protobuf::RepeatedPtrField<std::string>& allowed,
            const std::string& name) {
  for (const auto& a : allowed) {
    if (a == name) return true;
  }
  return false;
}

}  // namespace

CheckOutcome runFileCheck(const rules::v1::Check& check, ScanContext& context) {
  const auto& spec = check.file();
  std::vector<std::string> paths = expandPaths(context, spec.path());
  if (paths.empty()) return onMissing(spec.missing(), spec.path());
  unsigned max_mode = static_cast<unsigned>(
      std::strtoul(spec.max_mode().empty() ? "7777" : spec.max_mode().c_str(), nullptr, 8));
  std::vector<CheckOutcome> outcomes;
  for (const std::string& path : paths) {
    // Follows a symlink, inside the root: the permissions that matter are
    // those of the file it leads to.
    auto fd = context.root().open(path, O_PATH);
    // A dangling symlink has no permissions that matter.
    if (!fd.ok() && fd.error().code() == ErrorCode::kNotFound) continue;
    struct stat st {};
    if (!fd.ok() || ::fstat(fd->get(), &st) != 0) {
      outcomes.push_back(
          CheckOutcome::error(fd.ok() ? "cannot stat " + path : fd.error().message(), path));
      continue;
    }
    const auto& db = context.accounts();
    std::string owner = nameOf(db.passwd, st.st_uid);
    std::string group = nameOf(db.group, st.st_gid);
    std::string observed = octal(st.st_mode) + " " + owner + ":" + group;
    std::vector<std::string> wrong;
    if (!spec.max_mode().empty() && (st.st_mode & 07777 & ~max_mode) != 0) {
      wrong.push_back("mode beyond " + octal(max_mode));
    }
    if (spec.owner_size() > 0 && !listed(spec.owner(), owner)) wrong.push_back("owner");
    if (spec.group_size() > 0 && !listed(spec.group(), group)) wrong.push_back("group");
    std::string expected = spec.max_mode().empty() ? "" : "mode <= " + octal(max_mode);
    if (spec.owner_size() > 0) {
      expected += (expected.empty() ? "" : ", ") + std::string("owner ") +
                  joinList({spec.owner().begin(), spec.owner().end()}, "|");
    }
    if (spec.group_size() > 0) {
      expected += (expected.empty() ? "" : ", ") + std::string("group ") +
                  joinList({spec.group().begin(), spec.group().end()}, "|");
    }
    if (paths.size() > 1) observed = path + " " + observed;
    outcomes.push_back(wrong.empty() ? CheckOutcome::pass(observed, expected, path)
                                     : CheckOutcome::fail(observed + " (" + joinList(wrong) + ")",
                                                          expected, path));
  }
  if (outcomes.empty()) return onMissing(spec.missing(), spec.path());
  // Many files: report the failing ones only, the passing ones by count.
  std::vector<CheckOutcome> failing;
  for (const auto& o : outcomes) {
    if (o.status != demarc::v1::CHECK_STATUS_PASS) failing.push_back(o);
  }
  if (paths.size() > 1 && failing.empty()) {
    return CheckOutcome::pass(std::to_string(paths.size()) + " files comply",
                              outcomes.front().expected, spec.path());
  }
  return combineOutcomes(paths.size() > 1 ? failing : outcomes);
}

void validateFileCheck(const rules::v1::Check& check, std::vector<std::string>& problems) {
  const auto& spec = check.file();
  if (spec.path().empty() || spec.path()[0] != '/') problems.push_back("path: an absolute path");
  if (!spec.max_mode().empty()) {
    bool octal_digits = spec.max_mode().size() <= 4 &&
                        spec.max_mode().find_first_not_of("01234567") == std::string::npos;
    if (!octal_digits) problems.push_back("max_mode: octal such as \"0644\"");
  }
  if (spec.max_mode().empty() && spec.owner_size() == 0 && spec.group_size() == 0) {
    problems.push_back("give max_mode, owner or group");
  }
}

CheckOutcome runContentCheck(const rules::v1::Check& check, ScanContext& context) {
  const auto& spec = check.content();
  bool want_match = spec.expect_case() == rules::v1::ContentCheck::kMustMatch;
  const std::string& pattern = want_match ? spec.must_match() : spec.must_not_match();
  auto regex = PosixRegex::compile(pattern, spec.ignore_case());
  if (!regex.ok()) return CheckOutcome::error(regex.error().message());
  std::vector<std::string> files = expandPaths(context, spec.path());
  if (files.empty()) {
    if (spec.missing() == rules::v1::MISSING_FAIL) {
      return CheckOutcome::fail("absent", want_match ? "a line matching " + pattern : "",
                                spec.path());
    }
    if (spec.missing() == rules::v1::MISSING_NOT_APPLICABLE) {
      return CheckOutcome::notApplicable("absent", spec.path());
    }
    return CheckOutcome::pass("absent", "no line matching " + pattern, spec.path());
  }
  std::string expected = (want_match ? "a line matching " : "no line matching ") + pattern;
  std::vector<std::string> hits;
  std::vector<std::string> hit_sources;
  for (const std::string& file : files) {
    // A glob such as /etc/sudoers* also names folders; only files have lines.
    if (auto st = context.root().lstat(file); st.ok() && S_ISDIR(st->st_mode)) continue;
    auto text = context.root().read(file, 16 << 20);
    if (!text.ok()) return CheckOutcome::error(text.error().message(), file);
    forEachLine(*text, [&](std::string_view line, size_t line_no) {
      if (hits.size() >= 5) return;
      std::string l = trimmed(line);
      if (spec.skip_comments() && !l.empty() && l[0] == '#') return;
      if (regex->search(line)) {
        hits.push_back(l.substr(0, 200));
        hit_sources.push_back(file + ":" + std::to_string(line_no));
      }
    });
    if (want_match && !hits.empty()) break;
  }
  if (want_match) {
    if (!hits.empty()) return CheckOutcome::pass(hits.front(), expected, hit_sources.front());
    return CheckOutcome::fail("no matching line", expected, joinList(files));
  }
  if (hits.empty()) return CheckOutcome::pass("no matching line", expected, joinList(files));
  return CheckOutcome::fail(joinList(hits, " | "), expected, joinList(hit_sources));
}

void validateContentCheck(const rules::v1::Check& check, std::vector<std::string>& problems) {
  const auto& spec = check.content();
  if (spec.path().empty() || spec.path()[0] != '/') problems.push_back("path: an absolute path");
  if (spec.expect_case() == rules::v1::ContentCheck::EXPECT_NOT_SET) {
    problems.push_back("give must_match or must_not_match");
    return;
  }
  const std::string& pattern = spec.expect_case() == rules::v1::ContentCheck::kMustMatch
                                   ? spec.must_match()
                                   : spec.must_not_match();
  auto regex = PosixRegex::compile(pattern, spec.ignore_case());
  if (!regex.ok()) problems.push_back(regex.error().message());
}

}  // namespace demarc::posture

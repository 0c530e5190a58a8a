// Inbound default-deny, read from the running kernel: nftables through
// libnftables (loaded at run time, so hosts without it still run the agent;
// iptables-nft rules live in nftables too) and legacy iptables through the
// getsockopt interface iptables itself uses.
#include <arpa/inet.h>
#include <dlfcn.h>
#include <linux/netfilter/x_tables.h>
#include <linux/netfilter_ipv4/ip_tables.h>
#include <linux/netfilter_ipv6/ip6_tables.h>
#include <netinet/in.h>
#include <nftables/libnftables.h>
#include <sys/socket.h>
#include <unistd.h>

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include <cstring>
#include <vector>

#include "agent/core/files.h"
#include "agent/posture/checks/check.h"
#include "agent/posture/checks/kinds.h"
#include "agent/posture/checks/util.h"
#include "agent/posture/scan_context.h"

namespace demarc::posture {
namespace {

struct FamilyVerdict {
  bool v4_deny = false;
  bool v6_deny = false;
  std::vector<std::string> seen;  // "nft inet filter input policy drop"
  std::vector<std::string> problems;
};

struct DlCloser {
  void operator()(void* h) const { ::dlclose(h); }
};

// `nft -j list ruleset`, without running nft.
void readNftables(FamilyVerdict& out) {
  std::unique_ptr<void, DlCloser> lib(::dlopen("libnftables.so.1", RTLD_NOW | RTLD_LOCAL));
  if (!lib) {
    out.problems.push_back("libnftables.so.1 is not installed; nftables rules not read");
    return;
  }
  auto sym = [&](const char* name) { return ::dlsym(lib.get(), name); };
  auto ctx_new = reinterpret_cast<decltype(&nft_ctx_new)>(sym("nft_ctx_new"));
  auto ctx_free = reinterpret_cast<decltype(&nft_ctx_free)>(sym("nft_ctx_free"));
  auto set_flags =
      reinterpret_cast<decltype(&nft_ctx_output_set_flags)>(sym("nft_ctx_output_set_flags"));
  auto buffer_output =
      reinterpret_cast<decltype(&nft_ctx_buffer_output)>(sym("nft_ctx_buffer_output"));
  auto buffer_error =
      reinterpret_cast<decltype(&nft_ctx_buffer_error)>(sym("nft_ctx_buffer_error"));
  auto get_output =
      reinterpret_cast<decltype(&nft_ctx_get_output_buffer)>(sym("nft_ctx_get_output_buffer"));
  auto get_error =
      reinterpret_cast<decltype(&nft_ctx_get_error_buffer)>(sym("nft_ctx_get_error_buffer"));
  auto run = reinterpret_cast<decltype(&nft_run_cmd_from_buffer)>(sym("nft_run_cmd_from_buffer"));
  if (!ctx_new || !ctx_free || !set_flags || !buffer_output || !buffer_error || !get_output ||
      !get_error || !run) {
    out.problems.push_back("libnftables.so.1 lacks the functions needed");
    return;
  }
  std::unique_ptr<nft_ctx, decltype(ctx_free)> ctx(ctx_new(NFT_CTX_DEFAULT), ctx_free);
  if (!ctx) {
    out.problems.push_back("libnftables could not create a context");
    return;
  }
  set_flags(ctx.get(), NFT_CTX_OUTPUT_JSON);
  buffer_output(ctx.get());
  buffer_error(ctx.get());
  if (run(ctx.get(), "list ruleset") != 0) {
    const char* err = get_error(ctx.get());
    out.problems.push_back("nft list ruleset: " + trimmed(err ? err : "failed"));
    return;
  }
  const char* json = get_output(ctx.get());
  google::protobuf::Struct doc;
  if (json == nullptr || *json == '\0') return;  // no tables at all
  if (!google::protobuf::util::JsonStringToMessage(json, &doc).ok()) {
    out.problems.push_back("nft list ruleset: output is not the JSON expected");
    return;
  }
  auto items = doc.fields().find("nftables");
  if (items == doc.fields().end()) return;
  for (const auto& item : items->second.list_value().values()) {
    auto chain = item.struct_value().fields().find("chain");
    if (chain == item.struct_value().fields().end()) continue;
    const auto& f = chain->second.struct_value().fields();
    auto str = [&](const char* k) {
      auto it = f.find(k);
      return it == f.end() ? std::string() : it->second.string_value();
    };
    if (str("hook") != "input" || str("type") != "filter") continue;
    std::string family = str("family");
    std::string policy = str("policy");
    out.seen.push_back("nft " + family + " " + str("table") + " " + str("name") + " policy " +
                       (policy.empty() ? "accept" : policy));
    if (policy != "drop") continue;
    if (family == "ip" || family == "inet") out.v4_deny = true;
    if (family == "ip6" || family == "inet") out.v6_deny = true;
  }
}

// The INPUT policy of a legacy xtables filter table. Templates over the
// IPv4 and IPv6 structs, which share their layout.
template <typename GetInfo, typename GetEntries, typename Entry>
void readLegacy(int domain, int level, int info_opt, int entries_opt, const char* label, bool* deny,
                FamilyVerdict& out) {
  UniqueFd fd(::socket(domain, SOCK_RAW, IPPROTO_RAW));
  if (!fd.valid()) {
    out.problems.push_back(std::string(label) + ": raw socket: " + std::strerror(errno));
    return;
  }
  GetInfo info{};
  std::strncpy(info.name, "filter", sizeof(info.name) - 1);
  socklen_t len = sizeof(info);
  if (::getsockopt(fd.get(), level, info_opt, &info, &len) != 0) {
    if (errno != ENOENT) {
      out.problems.push_back(std::string(label) + " filter table: " + std::strerror(errno));
    }
    return;
  }
  if (!(info.valid_hooks & (1u << NF_INET_LOCAL_IN))) return;
  std::vector<char> buf(sizeof(GetEntries) + info.size);
  auto* entries = reinterpret_cast<GetEntries*>(buf.data());
  std::strncpy(entries->name, "filter", sizeof(entries->name) - 1);
  entries->size = info.size;
  len = static_cast<socklen_t>(buf.size());
  if (::getsockopt(fd.get(), level, entries_opt, entries, &len) != 0) {
    out.problems.push_back(std::string(label) + " filter entries: " + std::strerror(errno));
    return;
  }
  unsigned offset = info.underflow[NF_INET_LOCAL_IN];
  if (offset + sizeof(Entry) > info.size) return;
  const auto* e =
      reinterpret_cast<const Entry*>(reinterpret_cast<const char*>(entries->entrytable) + offset);
  if (e->target_offset + sizeof(xt_standard_target) > e->next_offset ||
      offset + e->next_offset > info.size) {
    return;
  }
  const auto* target = reinterpret_cast<const xt_standard_target*>(
      reinterpret_cast<const char*>(e) + e->target_offset);
  bool drop = target->verdict == -NF_DROP - 1;
  out.seen.push_back(std::string(label) + " filter INPUT policy " + (drop ? "DROP" : "ACCEPT"));
  if (drop) *deny = true;
}

}  // namespace

CheckOutcome runFirewallCheck(const rules::v1::Check&, ScanContext& context) {
  if (!context.live()) {
    return CheckOutcome::notApplicable(
        "firewall rules live in the running kernel; an image has none");
  }
  FamilyVerdict v;
  readNftables(v);
  if (context.root().lstat("/proc/net/ip_tables_names").ok()) {
    readLegacy<ipt_getinfo, ipt_get_entries, ipt_entry>(
        AF_INET, IPPROTO_IP, IPT_SO_GET_INFO, IPT_SO_GET_ENTRIES, "iptables-legacy", &v.v4_deny, v);
  }
  if (context.root().lstat("/proc/net/ip6_tables_names").ok()) {
    readLegacy<ip6t_getinfo, ip6t_get_entries, ip6t_entry>(AF_INET6, IPPROTO_IPV6, IP6T_SO_GET_INFO,
                                                           IP6T_SO_GET_ENTRIES, "ip6tables-legacy",
                                                           &v.v6_deny, v);
  }
  bool ipv6 = context.root().lstat("/proc/net/if_inet6").ok();
  std::string observed = v.seen.empty() ? "no input filter chains" : joinList(v.seen, "; ");
  if (!v.problems.empty()) observed += " (" + joinList(v.problems, "; ") + ")";
  std::string expected =
      ipv6 ? "inbound policy drop for IPv4 and IPv6" : "inbound policy drop for IPv4";
  std::string source = "nftables ruleset, xtables filter tables";
  if (v.v4_deny && (v.v6_deny || !ipv6)) return CheckOutcome::pass(observed, expected, source);
  if (!v.problems.empty() && v.seen.empty()) return CheckOutcome::error(observed, source);
  std::string missing = !v.v4_deny ? (ipv6 && !v.v6_deny ? "IPv4 and IPv6" : "IPv4") : "IPv6";
  return CheckOutcome::fail(observed + "; " + missing + " inbound accepted by default", expected,
                            source);
}

void validateFirewallCheck(const rules::v1::Check&, std::vector<std::string>&) {}

}  // namespace demarc::posture

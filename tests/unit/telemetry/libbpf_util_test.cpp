// What a failed load tells: the program libbpf stopped at and the kernel's
// reason, read from libbpf's own log text (as libbpf 1.1 writes it).
#include "agent/telemetry/libbpf_util.h"

#include <gtest/gtest.h>

namespace demarc::telemetry {
namespace {

TEST(FailedProgram, NamesTheHookTheKernelLacks) {
  std::string log =
      "libbpf: prog 'udp_sent': failed to find kernel BTF type ID of 'sock_send_length': -3\n"
      "libbpf: prog 'udp_sent': failed to prepare load attributes: -3\n"
      "libbpf: prog 'udp_sent': failed to load: -3\n"
      "libbpf: failed to load object 'telemetry_bpf'\n"
      "libbpf: failed to load BPF skeleton 'telemetry_bpf': -3\n";
  auto failed = failedProgram(log);
  ASSERT_TRUE(failed.has_value());
  EXPECT_EQ(failed->program, "udp_sent");
  EXPECT_EQ(failed->reason, "the kernel has no sock_send_length");
}

TEST(FailedProgram, KeepsTheLastLinesOfTheVerifierLog) {
  std::string log =
      "libbpf: prog 'exec_tp': BPF program load failed: Invalid argument\n"
      "libbpf: prog 'exec_tp': -- BEGIN PROG LOAD LOG --\n"
      "0: R1=ctx(off=0,imm=0) R10=fp0\n"
      "; int exec_tp(struct trace_event_raw_sched_process_exec* ctx) {\n"
      "0: (bf) r6 = r1\n"
      "unknown func bpf_loop#181\n"
      "processed 312 insns (limit 1000000) max_states_per_insn 0\n"
      "-- END PROG LOAD LOG --\n"
      "libbpf: prog 'exec_tp': failed to load: -22\n"
      "libbpf: failed to load object 'telemetry_bpf'\n";
  auto failed = failedProgram(log);
  ASSERT_TRUE(failed.has_value());
  EXPECT_EQ(failed->program, "exec_tp");
  EXPECT_EQ(failed->reason,
            "verifier: 0: (bf) r6 = r1 | unknown func bpf_loop#181 | processed 312 insns (limit "
            "1000000) max_states_per_insn 0");
}

TEST(FailedProgram, TheLastProgramNamedIsTheOneThatFailed) {
  // An earlier warning about another program must not be taken for the failure.
  std::string log =
      "libbpf: prog 'fork_btf': some earlier warning\n"
      "libbpf: prog 'priv_bpf_enter': failed to load: -7\n";
  auto failed = failedProgram(log);
  ASSERT_TRUE(failed.has_value());
  EXPECT_EQ(failed->program, "priv_bpf_enter");
  // libbpf's number, in words.
  EXPECT_EQ(failed->reason, "failed to load: Argument list too long");
}

TEST(FailedProgram, NothingWhenNoProgramIsNamed) {
  EXPECT_FALSE(failedProgram("libbpf: map 'events': failed to create: -1\n").has_value());
  EXPECT_FALSE(failedProgram("").has_value());
}

TEST(NoHooksLoad, BlamesPrivilegeOnlyWhenEverySetWasRefusedForIt) {
  auto kernel = noHooksLoad("telemetry", {"tp_btf: exec_btf: verifier: x", "tracepoint: y"}, false);
  EXPECT_EQ(kernel.find("CAP_BPF"), std::string::npos) << kernel;
  EXPECT_NE(kernel.find("tp_btf: exec_btf: verifier: x; tracepoint: y"), std::string::npos);
  auto refused = noHooksLoad("telemetry", {"tp_btf: Operation not permitted"}, true);
  EXPECT_NE(refused.find("CAP_BPF"), std::string::npos) << refused;
}

}  // namespace
}  // namespace demarc::telemetry

// SPDX-License-Identifier: GPL-2.0
// The canary: the smallest probe that proves this kernel loads demarc's CO-RE
// programs. It reports exec events (optionally only children of one process)
// through a ring buffer and counts what the ring buffer could not take.
// Two hooks for the same event: tp_btf where the kernel has BTF-typed
// tracepoints, the plain tracepoint otherwise; user space loads one.
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "canary.h"

char LICENSE[] SEC("license") = "GPL";

// Set before load: report only children of this process (0: everyone).
const volatile __u32 filter_ppid = 0;

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 64 * 1024);
} events SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u64);
} drops SEC(".maps");

static __always_inline int report(struct task_struct *task, const char *filename, __u32 hook) {
  __u32 ppid = BPF_CORE_READ(task, real_parent, tgid);
  if (filter_ppid != 0 && ppid != filter_ppid) return 0;
  struct canary_exec_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
  if (!e) {
    __u32 zero = 0;
    __u64 *count = bpf_map_lookup_elem(&drops, &zero);
    if (count) *count += 1;
    return 0;
  }
  e->pid = BPF_CORE_READ(task, tgid);
  e->ppid = ppid;
  e->uid = (__u32)bpf_get_current_uid_gid();
  e->hook = hook;
  bpf_get_current_comm(e->comm, sizeof(e->comm));
  bpf_probe_read_kernel_str(e->filename, sizeof(e->filename), filename);
  bpf_ringbuf_submit(e, 0);
  return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(canary_exec_btf, struct task_struct *task, pid_t old_pid, struct linux_binprm *bprm) {
  return report(task, BPF_CORE_READ(bprm, filename), 1);
}

SEC("tracepoint/sched/sched_process_exec")
int canary_exec_tp(struct trace_event_raw_sched_process_exec *ctx) {
  // The filename is a __data_loc string: low 16 bits are its offset.
  unsigned short offset = ctx->__data_loc_filename & 0xFFFF;
  return report((struct task_struct *)bpf_get_current_task(), (const char *)ctx + offset, 2);
}

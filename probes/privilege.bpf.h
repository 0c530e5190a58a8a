// Privilege changes through their system calls: the setuid and setgid
// families, capset, ptrace attach, BPF program loads and kernel module
// loads. Each call is seen on entry (the credentials before, the arguments)
// and on exit (the result, the credentials after). These are per-syscall
// tracepoints: attached, they move every system call of the host onto the
// tracing entry path, a cost the benchmark measures; they are optional
// (telemetry.privilege_events). Included by telemetry.bpf.c.
#ifndef DEMARC_PROBES_PRIVILEGE_BPF_H
#define DEMARC_PROBES_PRIVILEGE_BPF_H

#include "common.bpf.h"
#include "privilege.h"

#define DM_PTRACE_ATTACH 16
#define DM_PTRACE_SEIZE 0x4206
#define DM_BPF_PROG_LOAD 5
#define DM_BPF_ATTR_PROG_NAME 48 /* offsetof(union bpf_attr, prog_name): UAPI */

struct priv_pending {
  __u32 kind;
  __u32 syscall;
  __u64 arg[3];
  __u32 target;
  __u32 pad;
  struct priv_creds before;
  char name[16];
};

// Calls between entry and exit, by thread. LRU: a thread that never
// returns (killed in the call) cannot fill it.
struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 10240);
  __type(key, __u64);
  __type(value, struct priv_pending);
} priv_inflight SEC(".maps");

static __always_inline void read_creds(struct priv_creds* c) {
  struct task_struct* task = (struct task_struct*)bpf_get_current_task();
  const struct cred* cred = BPF_CORE_READ(task, cred);
  c->uid = BPF_CORE_READ(cred, uid.val);
  c->euid = BPF_CORE_READ(cred, euid.val);
  c->suid = BPF_CORE_READ(cred, suid.val);
  c->fsuid = BPF_CORE_READ(cred, fsuid.val);
  c->gid = BPF_CORE_READ(cred, gid.val);
  c->egid = BPF_CORE_READ(cred, egid.val);
  c->sgid = BPF_CORE_READ(cred, sgid.val);
  c->fsgid = BPF_CORE_READ(cred, fsgid.val);
  // kernel_cap_t is a u64 (6.3+) or two u32s: eight bytes either way.
  c->cap_effective = 0;
  c->cap_permitted = 0;
  BPF_CORE_READ_INTO(&c->cap_effective, cred, cap_effective);
  BPF_CORE_READ_INTO(&c->cap_permitted, cred, cap_permitted);
}

// A privilege call on entry: its arguments and the credentials before it,
// kept by thread until its exit.
static __always_inline int priv_enter_args(__u32 kind, __u32 sys, __u64 a0, __u64 a1, __u64 a2) {
  if (current_ignored()) return 0;
  struct priv_pending p = {};
  p.kind = kind;
  p.syscall = sys;
  p.arg[0] = a0;
  p.arg[1] = a1;
  p.arg[2] = a2;
  if (kind == PRIV_PTRACE) p.target = (__u32)a1;
  if (kind == PRIV_BPF_LOAD) {
    const char* attr = (const char*)a1;
    __u32 prog_type = 0;
    bpf_probe_read_user(&prog_type, sizeof(prog_type), attr);
    p.arg[0] = prog_type;
    bpf_probe_read_user(p.name, sizeof(p.name), attr + DM_BPF_ATTR_PROG_NAME);
  }
  read_creds(&p.before);
  __u64 id = bpf_get_current_pid_tgid();
  bpf_map_update_elem(&priv_inflight, &id, &p, BPF_ANY);
  return 0;
}

// nargs: how many arguments the syscall has. A program may not read past
// its tracepoint's record (the kernel refuses to attach it, EACCES), so
// the reads beyond are compiled out for each syscall.
static __always_inline int priv_enter(__u32 kind, __u32 sys, const int nargs,
                                      const struct trace_event_raw_sys_enter* ctx) {
  return priv_enter_args(kind, sys, ctx->args[0], nargs > 1 ? ctx->args[1] : 0,
                         nargs > 2 ? ctx->args[2] : 0);
}

static __always_inline int priv_exit_ret(long ret) {
  __u64 id = bpf_get_current_pid_tgid();
  struct priv_pending* p = bpf_map_lookup_elem(&priv_inflight, &id);
  if (!p) return 0;
  if (admit(DM_EVENT_PRIV)) {
    struct priv_event* e = reserve(sizeof(*e), DM_EVENT_PRIV);
    if (e) {
      header(&e->h, DM_EVENT_PRIV, id >> 32);
      e->kind = p->kind;
      e->syscall = p->syscall;
      e->pid = (__u32)id;
      e->target = p->target;
      e->ret = ret;
      e->arg[0] = p->arg[0];
      e->arg[1] = p->arg[1];
      e->arg[2] = p->arg[2];
      e->before = p->before;
      read_creds(&e->after);
      e->cgroup_id = bpf_get_current_cgroup_id();
      bpf_get_current_comm(e->comm, sizeof(e->comm));
      __builtin_memcpy(e->name, p->name, sizeof(e->name));
      submit(e);
    }
  }
  bpf_map_delete_elem(&priv_inflight, &id);
  return 0;
}

static __always_inline int priv_exit(const struct trace_event_raw_sys_exit* ctx) {
  return priv_exit_ret(ctx->ret);
}

#define PRIV_SYSCALL(name, kind, sys, nargs)                       \
  SEC("tracepoint/syscalls/sys_enter_" #name)                      \
  int priv_##name##_enter(struct trace_event_raw_sys_enter* ctx) { \
    return priv_enter(kind, sys, nargs, ctx);                      \
  }                                                                \
  SEC("tracepoint/syscalls/sys_exit_" #name)                       \
  int priv_##name##_exit(struct trace_event_raw_sys_exit* ctx) { return priv_exit(ctx); }

PRIV_SYSCALL(setuid, PRIV_SETUID, PRIV_SYS_SETUID, 1)
PRIV_SYSCALL(setreuid, PRIV_SETUID, PRIV_SYS_SETREUID, 2)
PRIV_SYSCALL(setresuid, PRIV_SETUID, PRIV_SYS_SETRESUID, 3)
PRIV_SYSCALL(setfsuid, PRIV_SETUID, PRIV_SYS_SETFSUID, 1)
PRIV_SYSCALL(setgid, PRIV_SETGID, PRIV_SYS_SETGID, 1)
PRIV_SYSCALL(setregid, PRIV_SETGID, PRIV_SYS_SETREGID, 2)
PRIV_SYSCALL(setresgid, PRIV_SETGID, PRIV_SYS_SETRESGID, 3)
PRIV_SYSCALL(setfsgid, PRIV_SETGID, PRIV_SYS_SETFSGID, 1)
PRIV_SYSCALL(capset, PRIV_CAPSET, PRIV_SYS_CAPSET, 2)
PRIV_SYSCALL(init_module, PRIV_MODULE_LOAD, PRIV_SYS_INIT_MODULE, 3)
PRIV_SYSCALL(finit_module, PRIV_MODULE_LOAD, PRIV_SYS_FINIT_MODULE, 3)

SEC("tracepoint/syscalls/sys_enter_ptrace")
int priv_ptrace_enter(struct trace_event_raw_sys_enter* ctx) {
  long request = ctx->args[0];
  if (request != DM_PTRACE_ATTACH && request != DM_PTRACE_SEIZE) return 0;
  return priv_enter(PRIV_PTRACE, PRIV_SYS_PTRACE, 4, ctx);
}

SEC("tracepoint/syscalls/sys_exit_ptrace")
int priv_ptrace_exit(struct trace_event_raw_sys_exit* ctx) { return priv_exit(ctx); }

SEC("tracepoint/syscalls/sys_enter_bpf")
int priv_bpf_enter(struct trace_event_raw_sys_enter* ctx) {
  if (ctx->args[0] != DM_BPF_PROG_LOAD) return 0;
  return priv_enter(PRIV_BPF_LOAD, PRIV_SYS_BPF, 3, ctx);
}

SEC("tracepoint/syscalls/sys_exit_bpf")
int priv_bpf_exit(struct trace_event_raw_sys_exit* ctx) { return priv_exit(ctx); }

// The same calls from fentry/fexit programs, where the kernel allows them
// (no lockdown): on the kernel's own function for each call, so that no
// syscall tracepoint puts every system call of the host on the tracing
// path. The setuid and setgid families have per-syscall functions shared by
// every entry (native, 32-bit and 16-bit-uid); the other calls are taken at
// the architecture's syscall wrapper, whose argument is the caller's
// registers. The same records either way.
#if defined(__TARGET_ARCH_x86)
#define DM_SYSCALL_WRAPPER(name) "__x64_sys_" #name
#elif defined(__TARGET_ARCH_arm64)
#define DM_SYSCALL_WRAPPER(name) "__arm64_sys_" #name
#endif

#define PRIV_FUNC1(name, kind, sys)                                                             \
  SEC("fentry/__sys_" #name)                                                                    \
  int BPF_PROG(priv_##name##_fentry, __u32 a0) { return priv_enter_args(kind, sys, a0, 0, 0); } \
  SEC("fexit/__sys_" #name)                                                                     \
  int BPF_PROG(priv_##name##_fexit, __u32 a0, long ret) { return priv_exit_ret(ret); }
#define PRIV_FUNC2(name, kind, sys)                        \
  SEC("fentry/__sys_" #name)                               \
  int BPF_PROG(priv_##name##_fentry, __u32 a0, __u32 a1) { \
    return priv_enter_args(kind, sys, a0, a1, 0);          \
  }                                                        \
  SEC("fexit/__sys_" #name)                                \
  int BPF_PROG(priv_##name##_fexit, __u32 a0, __u32 a1, long ret) { return priv_exit_ret(ret); }
#define PRIV_FUNC3(name, kind, sys)                                           \
  SEC("fentry/__sys_" #name)                                                  \
  int BPF_PROG(priv_##name##_fentry, __u32 a0, __u32 a1, __u32 a2) {          \
    return priv_enter_args(kind, sys, a0, a1, a2);                            \
  }                                                                           \
  SEC("fexit/__sys_" #name)                                                   \
  int BPF_PROG(priv_##name##_fexit, __u32 a0, __u32 a1, __u32 a2, long ret) { \
    return priv_exit_ret(ret);                                                \
  }

PRIV_FUNC1(setuid, PRIV_SETUID, PRIV_SYS_SETUID)
PRIV_FUNC2(setreuid, PRIV_SETUID, PRIV_SYS_SETREUID)
PRIV_FUNC3(setresuid, PRIV_SETUID, PRIV_SYS_SETRESUID)
PRIV_FUNC1(setfsuid, PRIV_SETUID, PRIV_SYS_SETFSUID)
PRIV_FUNC1(setgid, PRIV_SETGID, PRIV_SYS_SETGID)
PRIV_FUNC2(setregid, PRIV_SETGID, PRIV_SYS_SETREGID)
PRIV_FUNC3(setresgid, PRIV_SETGID, PRIV_SYS_SETRESGID)
PRIV_FUNC1(setfsgid, PRIV_SETGID, PRIV_SYS_SETFSGID)

// At a syscall wrapper: `filter` decides from the arguments whether the call
// is one to record (ptrace attach or seize, a BPF program load).
#define PRIV_WRAPPER(name, kind, sys, filter)                               \
  SEC("fentry/" DM_SYSCALL_WRAPPER(name))                                   \
  int BPF_PROG(priv_##name##_fentry, const struct pt_regs* regs) {          \
    __u64 a0 = PT_REGS_PARM1_CORE_SYSCALL(regs);                            \
    __u64 a1 = PT_REGS_PARM2_CORE_SYSCALL(regs);                            \
    __u64 a2 = PT_REGS_PARM3_CORE_SYSCALL(regs);                            \
    if (!(filter)) return 0;                                                \
    return priv_enter_args(kind, sys, a0, a1, a2);                          \
  }                                                                         \
  SEC("fexit/" DM_SYSCALL_WRAPPER(name))                                    \
  int BPF_PROG(priv_##name##_fexit, const struct pt_regs* regs, long ret) { \
    return priv_exit_ret(ret);                                              \
  }

PRIV_WRAPPER(capset, PRIV_CAPSET, PRIV_SYS_CAPSET, true)
PRIV_WRAPPER(ptrace, PRIV_PTRACE, PRIV_SYS_PTRACE, a0 == DM_PTRACE_ATTACH || a0 == DM_PTRACE_SEIZE)
PRIV_WRAPPER(bpf, PRIV_BPF_LOAD, PRIV_SYS_BPF, a0 == DM_BPF_PROG_LOAD)
PRIV_WRAPPER(init_module, PRIV_MODULE_LOAD, PRIV_SYS_INIT_MODULE, true)
PRIV_WRAPPER(finit_module, PRIV_MODULE_LOAD, PRIV_SYS_FINIT_MODULE, true)

#endif

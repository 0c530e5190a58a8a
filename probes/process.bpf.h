// Process activity: exec (with the whole argument list, in chunks, and the
// working directory), fork and exit. Each hook exists twice: tp_btf where
// the kernel has BTF-typed tracepoints, the plain tracepoint otherwise; user
// space autoloads one set. Included by telemetry.bpf.c.
#ifndef DEMARC_PROBES_PROCESS_BPF_H
#define DEMARC_PROBES_PROCESS_BPF_H

#include "common.bpf.h"
#include "process.h"

static __always_inline __u64 start_boottime(struct task_struct* task) {
  if (bpf_core_field_exists(task->start_boottime)) return BPF_CORE_READ(task, start_boottime);
  return BPF_CORE_READ(task, start_time);
}

struct cwd_ctx {
  struct dentry* dentry;
  struct vfsmount* vfsmnt;
  struct mount* mnt;
  __u32 depth;
  __u32 flags;
};

struct cwd_scratch {
  char names[PROC_CWD_DEPTH][PROC_CWD_NAME_LEN];
  struct cwd_ctx walk;  // the bounded walk's state (dm_cwd_bounded)
};

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct cwd_scratch);
} cwd_scratch SEC(".maps");

// One step up the working directory: a component, or a mount crossing;
// 1 ends the walk at the root.
static __always_inline long cwd_step_body(struct cwd_ctx* c) {
  // Locals: CO-RE relocates kernel struct accesses, not this context's.
  struct dentry* dentry = c->dentry;
  struct vfsmount* vfsmnt = c->vfsmnt;
  struct mount* mnt = c->mnt;
  if (dentry == BPF_CORE_READ(vfsmnt, mnt_root)) {
    struct mount* parent = BPF_CORE_READ(mnt, mnt_parent);
    if (parent == mnt) return 1;  // the root of the namespace
    c->dentry = BPF_CORE_READ(mnt, mnt_mountpoint);
    c->mnt = parent;
    c->vfsmnt = (struct vfsmount*)((char*)parent + bpf_core_field_offset(struct mount, mnt));
    return 0;
  }
  struct dentry* up = BPF_CORE_READ(dentry, d_parent);
  if (up == dentry) return 1;
  __u32 depth = c->depth;
  if (depth >= PROC_CWD_DEPTH) {
    c->flags |= PROC_EXEC_CWD_TRUNCATED;
    return 1;
  }
  __u32 zero = 0;
  struct cwd_scratch* scratch = bpf_map_lookup_elem(&cwd_scratch, &zero);
  if (!scratch) return 1;
  if (BPF_CORE_READ(dentry, d_name.len) >= PROC_CWD_NAME_LEN) c->flags |= PROC_EXEC_CWD_TRUNCATED;
  bpf_probe_read_kernel_str(scratch->names[depth & (PROC_CWD_DEPTH - 1)], PROC_CWD_NAME_LEN,
                            BPF_CORE_READ(dentry, d_name.name));
  c->depth = depth + 1;
  c->dentry = up;
  return 0;
}

static long cwd_step(__u32 i, void* data) { return cwd_step_body(data); }

// Without bpf_loop, the walk is an unrolled loop in a global function: the
// verifier checks it once on its own, with unknown arguments, instead of
// inside every path of the exec hook (where the walk's states multiply
// with the argument list's and pass its million-instruction limit). Global
// functions take scalars only (Linux 5.10): pointers travel as integers
// and are read with bpf_probe_read_kernel. The walk's state lives in map
// memory, whose contents the verifier does not follow, so each step's
// states are alike and pruned instead of one per depth reached. Returns
// the depth, and the flags << 16.
__noinline int dm_cwd_bounded(__u64 dentry, __u64 vfsmnt, __u64 mnt) {
  __u32 zero = 0;
  struct cwd_scratch* scratch = bpf_map_lookup_elem(&cwd_scratch, &zero);
  if (!scratch) return 0;
  struct cwd_ctx* c = &scratch->walk;
  c->dentry = (struct dentry*)dentry;
  c->vfsmnt = (struct vfsmount*)vfsmnt;
  c->mnt = (struct mount*)mnt;
  c->depth = 0;
  c->flags = 0;
  // Unrolled: kernels before 6.3 refuse a loop whose back edge is a fall
  // through ("back-edge from insn"), which clang's loop rotation makes.
#pragma unroll
  for (__u32 i = 0; i < PROC_CWD_DEPTH * 2; ++i) {
    if (cwd_step_body(c)) break;
  }
  return (int)(c->depth | (c->flags << 16));
}

// The working directory, leaf first, crossing mount points. `loop`: with
// bpf_loop (Linux 5.17), which the verifier checks once; without it, a
// bounded loop the verifier walks step by step (older kernels). A constant
// at each call site: each program holds one of the two.
static __always_inline void read_cwd(struct task_struct* task, struct proc_exec_event* e,
                                     bool loop) {
  struct cwd_ctx c = {};
  c.dentry = BPF_CORE_READ(task, fs, pwd.dentry);
  c.vfsmnt = BPF_CORE_READ(task, fs, pwd.mnt);
  c.mnt = (struct mount*)((char*)c.vfsmnt - bpf_core_field_offset(struct mount, mnt));
  if (loop) {
    bpf_loop(PROC_CWD_DEPTH * 2, cwd_step, &c, 0);
  } else {
    int walked = dm_cwd_bounded((__u64)c.dentry, (__u64)c.vfsmnt, (__u64)c.mnt);
    c.depth = walked & 0xffff;
    c.flags = walked >> 16;
  }
  __u32 zero = 0;
  struct cwd_scratch* scratch = bpf_map_lookup_elem(&cwd_scratch, &zero);
  if (scratch) bpf_probe_read_kernel(e->cwd, sizeof(e->cwd), scratch->names);
  e->cwd_depth = c.depth;
  e->flags |= c.flags;
}

struct args_ctx {
  __u32 tgid;
  __u32 chunks;
  __u32 total;
  unsigned long arg_start;
  __u64 exec_ktime;
};

// One chunk of the argument list as its own record; 1 stops the loop.
static __always_inline long send_args_chunk_body(__u32 i, struct args_ctx* ctx) {
  if (i >= ctx->chunks) return 1;
  struct proc_args_event* a = reserve(sizeof(*a), DM_EVENT_ARGS);
  if (!a) return 1;
  header(&a->h, DM_EVENT_ARGS, ctx->tgid);
  a->index = i;
  a->exec_ktime = ctx->exec_ktime;
  __u64 offset = (__u64)i * PROC_ARGS_CHUNK;
  __u64 n = (__u64)ctx->total > offset ? (__u64)ctx->total - offset : 0;
  // The bound must be the last thing done to n where the verifier sees it:
  // with i a constant (written-out chunks), clang would fold it away.
  barrier_var(n);
  if (n > PROC_ARGS_CHUNK) n = PROC_ARGS_CHUNK;
  if (bpf_probe_read_user(a->data, n, (const void*)(ctx->arg_start + offset)) != 0) {
    n = 0;  // user space sees an empty chunk and marks the list lost
  }
  a->size = n;
  submit(a);
  return 0;
}

static long send_args_chunk(__u32 i, void* data) { return send_args_chunk_body(i, data); }

// Without bpf_loop: the chunks one after the other in a global function,
// for the same reasons as dm_cwd_bounded (written out: clang does not
// unroll this loop, and a rotated loop is refused before 6.3).
// (clang-format lays these lines out differently from run to run.)
// clang-format off
#define DM_ARGS_CHUNK(i) \
  if (send_args_chunk_body(i, &ctx)) return 0;
#define DM_ARGS_CHUNKS_8(i) \
  DM_ARGS_CHUNK(i) DM_ARGS_CHUNK(i + 1) DM_ARGS_CHUNK(i + 2) DM_ARGS_CHUNK(i + 3) \
  DM_ARGS_CHUNK(i + 4) DM_ARGS_CHUNK(i + 5) DM_ARGS_CHUNK(i + 6) DM_ARGS_CHUNK(i + 7)
// clang-format on
_Static_assert(PROC_ARGS_MAX_CHUNKS == 32, "dm_args_bounded sends 32 chunks");

__noinline int dm_args_bounded(__u32 tgid, __u32 chunks, __u32 total, __u64 arg_start,
                               __u64 exec_ktime) {
  struct args_ctx ctx = {tgid, chunks, total, arg_start, exec_ktime};
  DM_ARGS_CHUNKS_8(0)
  DM_ARGS_CHUNKS_8(8)
  DM_ARGS_CHUNKS_8(16)
  DM_ARGS_CHUNKS_8(24)
  return 0;
}

static __always_inline int on_exec(struct task_struct* task, const char* filename, __u32 hook,
                                   bool loop) {
  __u32 tgid = BPF_CORE_READ(task, tgid);
  if (!wanted(DM_EVENT_EXEC)) return 0;
  struct proc_exec_event* e = reserve(sizeof(*e), DM_EVENT_EXEC);
  if (!e) return 0;
  header(&e->h, DM_EVENT_EXEC, tgid);
  e->pid = BPF_CORE_READ(task, pid);
  e->ppid = BPF_CORE_READ(task, real_parent, tgid);
  e->uid = BPF_CORE_READ(task, cred, uid.val);
  e->gid = BPF_CORE_READ(task, cred, gid.val);
  e->euid = BPF_CORE_READ(task, cred, euid.val);
  e->egid = BPF_CORE_READ(task, cred, egid.val);
  e->loginuid = (__u32)-1;
  if (bpf_core_field_exists(task->loginuid)) e->loginuid = BPF_CORE_READ(task, loginuid.val);
  e->hook = hook;
  e->cgroup_id = bpf_get_current_cgroup_id();
  e->inode = BPF_CORE_READ(task, mm, exe_file, f_inode, i_ino);
  e->dev = BPF_CORE_READ(task, mm, exe_file, f_inode, i_sb, s_dev);
  e->flags = 0;
  e->exe_mode = BPF_CORE_READ(task, mm, exe_file, f_inode, i_mode);
  e->cap_permitted = 0;
  e->cap_effective = 0;
  // kernel_cap_t is a u64 (6.3+) or two u32s: eight bytes either way.
  BPF_CORE_READ_INTO(&e->cap_permitted, task, cred, cap_permitted);
  BPF_CORE_READ_INTO(&e->cap_effective, task, cred, cap_effective);
  if ((e->exe_mode & 04000) && e->euid != e->uid) e->flags |= PROC_EXEC_SETUID;
  if ((e->exe_mode & 02010) == 02010 && e->egid != e->gid) e->flags |= PROC_EXEC_SETGID;
  if (e->euid != 0 && e->cap_permitted != 0) e->flags |= PROC_EXEC_CAPS;
  e->start_boottime = start_boottime(task);
  bpf_get_current_comm(e->comm, sizeof(e->comm));
  bpf_probe_read_kernel_str(e->filename, sizeof(e->filename), filename);
  read_cwd(task, e, loop);

  unsigned long arg_start = BPF_CORE_READ(task, mm, arg_start);
  unsigned long arg_end = BPF_CORE_READ(task, mm, arg_end);
  __u64 size = arg_end > arg_start ? arg_end - arg_start : 0;
  __u64 max = (__u64)PROC_ARGS_CHUNK * PROC_ARGS_MAX_CHUNKS;
  if (size > max) {
    e->flags |= PROC_EXEC_ARGS_TRUNCATED;
  }
  e->args_size = size > max ? max : size;
  e->args_chunks = (e->args_size + PROC_ARGS_CHUNK - 1) / PROC_ARGS_CHUNK;
  __u64 exec_ktime = e->h.ktime;
  __u32 chunks = e->args_chunks;
  __u32 total = e->args_size;
  submit(e);

  if (loop) {
    struct args_ctx ctx = {tgid, chunks, total, arg_start, exec_ktime};
    // bpf_loop: the verifier checks the body once, not once per chunk.
    bpf_loop(PROC_ARGS_MAX_CHUNKS, send_args_chunk, &ctx, 0);
  } else {
    dm_args_bounded(tgid, chunks, total, arg_start, exec_ktime);
  }
  return 0;
}

static __always_inline int on_fork(struct task_struct* parent, struct task_struct* child) {
  __u32 pid = BPF_CORE_READ(child, pid);
  __u32 tgid = BPF_CORE_READ(child, tgid);
  if (pid != tgid) return 0;  // a new thread, not a new process
  __u32 parent_tgid = BPF_CORE_READ(parent, tgid);
  if (!wanted(DM_EVENT_FORK)) return 0;  // current: the parent
  struct proc_fork_event* e = reserve(sizeof(*e), DM_EVENT_FORK);
  if (!e) return 0;
  header(&e->h, DM_EVENT_FORK, tgid);
  e->parent_tgid = parent_tgid;
  e->pad = 0;
  e->start_boottime = start_boottime(child);
  submit(e);
  return 0;
}

static __always_inline int on_exit(struct task_struct* task) {
  __u32 pid = BPF_CORE_READ(task, pid);
  __u32 tgid = BPF_CORE_READ(task, tgid);
  if (pid != tgid) return 0;  // threads end with their process
  if (!wanted(DM_EVENT_EXIT)) return 0;
  struct proc_exit_event* e = reserve(sizeof(*e), DM_EVENT_EXIT);
  if (!e) return 0;
  header(&e->h, DM_EVENT_EXIT, tgid);
  e->pid = pid;
  e->ppid = BPF_CORE_READ(task, real_parent, tgid);
  e->exit_code = BPF_CORE_READ(task, exit_code);
  e->pad = 0;
  e->start_boottime = start_boottime(task);
  bpf_get_current_comm(e->comm, sizeof(e->comm));
  submit(e);
  return 0;
}

// The exec hooks exist with bpf_loop and, for kernels before 5.17, with
// bounded loops (*_bounded); user space loads one of the two.
SEC("tp_btf/sched_process_exec")
int BPF_PROG(exec_btf, struct task_struct* task, pid_t old_pid, struct linux_binprm* bprm) {
  return on_exec(task, BPF_CORE_READ(bprm, filename), DM_HOOK_TP_BTF, true);
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(exec_btf_bounded, struct task_struct* task, pid_t old_pid, struct linux_binprm* bprm) {
  return on_exec(task, BPF_CORE_READ(bprm, filename), DM_HOOK_TP_BTF, false);
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(fork_btf, struct task_struct* parent, struct task_struct* child) {
  return on_fork(parent, child);
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(exit_btf, struct task_struct* task) { return on_exit(task); }

static __always_inline int on_exec_tp(struct trace_event_raw_sched_process_exec* ctx, bool loop) {
  // The filename is a __data_loc string: low 16 bits are its offset.
  unsigned short offset = ctx->__data_loc_filename & 0xFFFF;
  return on_exec((struct task_struct*)bpf_get_current_task(), (const char*)ctx + offset,
                 DM_HOOK_TRACEPOINT, loop);
}

SEC("tracepoint/sched/sched_process_exec")
int exec_tp(struct trace_event_raw_sched_process_exec* ctx) { return on_exec_tp(ctx, true); }

SEC("tracepoint/sched/sched_process_exec")
int exec_tp_bounded(struct trace_event_raw_sched_process_exec* ctx) {
  return on_exec_tp(ctx, false);
}

SEC("tracepoint/sched/sched_process_fork")
int fork_tp(struct trace_event_raw_sched_process_fork* ctx) {
  // Only the child's id is at hand here, and it may be a new thread's: with
  // this fallback hook, thread creations are reported as forks too (the
  // tp_btf hook sees the child and reports processes only).
  struct task_struct* parent = (struct task_struct*)bpf_get_current_task();
  __u32 parent_tgid = BPF_CORE_READ(parent, tgid);
  if (!wanted(DM_EVENT_FORK)) return 0;
  struct proc_fork_event* e = reserve(sizeof(*e), DM_EVENT_FORK);
  if (!e) return 0;
  header(&e->h, DM_EVENT_FORK, ctx->child_pid);
  e->parent_tgid = parent_tgid;
  e->pad = 0;
  e->start_boottime = 0;  // unknown from this hook
  submit(e);
  return 0;
}

SEC("tracepoint/sched/sched_process_exit")
int exit_tp(void* ctx) { return on_exit((struct task_struct*)bpf_get_current_task()); }

#endif

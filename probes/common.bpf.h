// Shared by every program in telemetry.bpf.c: the ring buffer, the per-CPU
// counters of what was dropped and throttled, the filters and the record
// header. Include after vmlinux.h and the libbpf headers.
#ifndef DEMARC_PROBES_COMMON_BPF_H
#define DEMARC_PROBES_COMMON_BPF_H

#include "events.h"

// Set before load.
const volatile __u32 self_tgid = 0;     // the agent: its activity is not reported
const volatile __u32 filter_flags = 0;  // DM_FILTER_*
const volatile __u32 rate_limit = 0;    // events per second, per CPU and type; 0: none
// Wake the reader only once this much is waiting: under load it drains in
// large batches instead of once per event; when quiet, it reads on its
// poll timeout. 0: wake on every event.
const volatile __u64 wakeup_bytes = 0;
// Whether tracing programs have bpf_get_current_ancestor_cgroup_id (not on
// 5.10): without it, the cgroup filters read the ancestors' ids from the
// task's cgroup (cgroup_mark).
const volatile bool ancestor_cgroup_helper = true;

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 1 << 22);  // resized from config before load
} events SEC(".maps");

// Events the ring buffer could not take, per CPU and type.
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, DM_EVENT_TYPES);
  __type(key, __u32);
  __type(value, __u64);
} drops SEC(".maps");

// Events the rate limit held back, per CPU and type.
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, DM_EVENT_TYPES);
  __type(key, __u32);
  __type(value, __u64);
} throttled SEC(".maps");

struct rate_window {
  __u64 start;
  __u64 count;
};

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, DM_EVENT_TYPES);
  __type(key, __u32);
  __type(value, struct rate_window);
} rate_windows SEC(".maps");

struct comm_key {
  char comm[DM_COMM_LEN];
};

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 256);
  __type(key, struct comm_key);
  __type(value, __u8);
} filter_comm SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 256);
  __type(key, __u32);
  __type(value, __u8);
} filter_uid SEC(".maps");

// cgroup id -> DM_CGROUP_IGNORED or DM_CGROUP_ONLY, for its subtree.
struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 256);
  __type(key, __u64);
  __type(value, __u8);
} filter_cgroup SEC(".maps");

#define DM_AF_INET 2
#define DM_AF_INET6 10

// Socket fields. Where the hook hands over a BTF-typed socket (tp_btf) a
// field is a plain load the verifier checks; where it hands over an address
// (a plain tracepoint) it takes a bpf_probe_read_kernel, several times
// dearer on paths that run for every TCP state change of the host. `direct`
// is a constant at every call site, so each program keeps one of the two.
#define DM_SK_FIELD(direct, sk, field) ((direct) ? (sk)->field : BPF_CORE_READ(sk, field))

static __always_inline __u32 sock_netns(const struct sock* sk, bool direct) {
  return direct ? sk->__sk_common.skc_net.net->ns.inum
                : BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum);
}

// A socket's bound (local) and connected (remote) address into 16 bytes;
// IPv4 fills the first 4 (the caller zeroes the rest).
static __always_inline void sock_local_addr(const struct sock* sk, __u16 family, __u8* out,
                                            bool direct) {
  if (family == DM_AF_INET) {
    __u32 addr = DM_SK_FIELD(direct, sk, __sk_common.skc_rcv_saddr);
    __builtin_memcpy(out, &addr, sizeof(addr));
  } else if (direct) {
    __builtin_memcpy(out, sk->__sk_common.skc_v6_rcv_saddr.in6_u.u6_addr8, 16);
  } else {
    BPF_CORE_READ_INTO((__u8(*)[16])out, sk, __sk_common.skc_v6_rcv_saddr.in6_u.u6_addr8);
  }
}

static __always_inline void sock_remote_addr(const struct sock* sk, __u16 family, __u8* out,
                                             bool direct) {
  if (family == DM_AF_INET) {
    __u32 addr = DM_SK_FIELD(direct, sk, __sk_common.skc_daddr);
    __builtin_memcpy(out, &addr, sizeof(addr));
  } else if (direct) {
    __builtin_memcpy(out, sk->__sk_common.skc_v6_daddr.in6_u.u6_addr8, 16);
  } else {
    BPF_CORE_READ_INTO((__u8(*)[16])out, sk, __sk_common.skc_v6_daddr.in6_u.u6_addr8);
  }
}

static __always_inline void count(void* map, __u32 type) {
  __u64* n = bpf_map_lookup_elem(map, &type);
  if (n) *n += 1;
}

// The rate limit: a one-second window per CPU and type.
static __always_inline bool admit(__u32 type) {
  if (rate_limit == 0) return true;
  struct rate_window* w = bpf_map_lookup_elem(&rate_windows, &type);
  if (!w) return true;
  __u64 now = bpf_ktime_get_boot_ns();
  if (now - w->start >= 1000000000ull) {
    w->start = now;
    w->count = 0;
  }
  if (w->count >= rate_limit) {
    count(&throttled, type);
    return false;
  }
  w->count += 1;
  return true;
}

// Reserves a record of `type`, counting it as dropped when the ring is full.
static __always_inline void* reserve(__u64 size, __u32 type) {
  void* e = bpf_ringbuf_reserve(&events, size, 0);
  if (!e) count(&drops, type);
  return e;
}

static __always_inline void submit(void* e) {
  __u64 flags = 0;
  if (wakeup_bytes != 0) {
    flags = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= wakeup_bytes ? BPF_RB_FORCE_WAKEUP
                                                                          : BPF_RB_NO_WAKEUP;
  }
  bpf_ringbuf_submit(e, flags);
}

// `ktime`: when it happened, for a caller that has just read the clock (a
// clock read is tens of ns in a VM, on paths run for every connection).
static __always_inline void header_at(struct dm_header* h, __u32 type, __u32 tgid, __u64 ktime) {
  h->type = type;
  h->tgid = tgid;
  h->ktime = ktime;
}

static __always_inline void header(struct dm_header* h, __u32 type, __u32 tgid) {
  header_at(h, type, tgid, bpf_ktime_get_boot_ns());
}

// struct cgroup before Linux 6.0: its depth and its ancestors' ids by
// level, which is what bpf_get_current_ancestor_cgroup_id reads (6.0 keeps
// pointers to the ancestors instead).
struct cgroup___ancestor_ids {
  int level;
  __u64 ancestor_ids[];
} __attribute__((preserve_access_index));

// The value of the nearest marked cgroup around the current task: its own,
// then its ancestors from the closest up (0: none).
static __always_inline __u8 cgroup_mark(void) {
  __u64 id = bpf_get_current_cgroup_id();
  __u8* mark = bpf_map_lookup_elem(&filter_cgroup, &id);
  if (mark) return *mark;
  struct cgroup___ancestor_ids* cgroup = 0;
  int own_level = 0;
  if (!ancestor_cgroup_helper) {
    struct task_struct* task = (struct task_struct*)bpf_get_current_task();
    cgroup = (struct cgroup___ancestor_ids*)BPF_CORE_READ(task, cgroups, dfl_cgrp);
    own_level = BPF_CORE_READ(cgroup, level);
  }
#pragma unroll
  for (int level = DM_CGROUP_LEVELS - 1; level >= 0; --level) {
    if (ancestor_cgroup_helper) {
      id = bpf_get_current_ancestor_cgroup_id(level);
    } else {
      id = 0;
      if (level <= own_level) {
        if (bpf_core_field_exists(cgroup->ancestor_ids)) {
          bpf_probe_read_kernel(
              &id, sizeof(id),
              (char*)cgroup + bpf_core_field_offset(struct cgroup___ancestor_ids, ancestor_ids) +
                  level * sizeof(__u64));
        } else {  // 6.0 and later: pointers to the ancestors
          struct cgroup* ancestor = 0;
          bpf_probe_read_kernel(&ancestor, sizeof(ancestor),
                                (char*)cgroup + bpf_core_field_offset(struct cgroup, ancestors) +
                                    level * sizeof(ancestor));
          if (ancestor) id = BPF_CORE_READ(ancestor, kn, id);
        }
      }
    }
    if (id == 0) continue;
    mark = bpf_map_lookup_elem(&filter_cgroup, &id);
    if (mark) return *mark;
  }
  return 0;
}

// Whether the configured filters exclude the current task (comm, uid,
// cgroup). The agent's own process is always excluded.
static __always_inline bool current_ignored(void) {
  if ((bpf_get_current_pid_tgid() >> 32) == self_tgid) return true;
  if (filter_flags & DM_FILTER_IGNORE_COMM) {
    struct comm_key key = {};
    bpf_get_current_comm(key.comm, sizeof(key.comm));
    if (bpf_map_lookup_elem(&filter_comm, &key)) return true;
  }
  if (filter_flags & DM_FILTER_IGNORE_UID) {
    __u32 uid = (__u32)bpf_get_current_uid_gid();
    if (bpf_map_lookup_elem(&filter_uid, &uid)) return true;
  }
  if (filter_flags & (DM_FILTER_IGNORE_CGROUP | DM_FILTER_ONLY_CGROUP)) {
    __u8 mark = cgroup_mark();
    if (mark == DM_CGROUP_IGNORED) return true;
    if ((filter_flags & DM_FILTER_ONLY_CGROUP) && mark != DM_CGROUP_ONLY) return true;
  }
  return false;
}

// Filters, then the rate limit: whether an event about the current task
// of `type` is to be recorded.
static __always_inline bool wanted(__u32 type) { return !current_ignored() && admit(type); }

#endif

// TCP connections through sock:inet_sock_set_state: outbound connects,
// inbound accepts, listens, and closes with the bytes each way. The
// transitions that happen in the socket owner's process context (connect,
// listen) record the owner; accepts complete in softirq context and are
// attributed to the process that owns the listening socket. Included by
// telemetry.bpf.c.
#ifndef DEMARC_PROBES_NETWORK_BPF_H
#define DEMARC_PROBES_NETWORK_BPF_H

#include "common.bpf.h"
#include "network.h"

struct sock_owner {
  __u32 tgid;
  __u32 pid;
  __u32 uid;
  __u32 established;
  __u64 cgroup_id;
  __u64 start_ktime;
  char comm[DM_COMM_LEN];
};

// Sockets being followed: connects from SYN_SENT, accepts from ESTABLISHED,
// until CLOSE. A socket that does not fit is counted as a dropped event.
struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 65536);
  __uint(map_flags, BPF_F_NO_PREALLOC);
  __type(key, __u64);  // the socket's address
  __type(value, struct sock_owner);
} tcp_socks SEC(".maps");

struct listener_key {
  __u32 netns;
  __u16 port;
  __u16 family;
};

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 16384);
  __uint(map_flags, BPF_F_NO_PREALLOC);
  __type(key, struct listener_key);
  __type(value, struct sock_owner);
} tcp_listeners SEC(".maps");

static __always_inline void owner_from_current(struct sock_owner* o) {
  __u64 id = bpf_get_current_pid_tgid();
  o->tgid = id >> 32;
  o->pid = (__u32)id;
  o->uid = (__u32)bpf_get_current_uid_gid();
  o->established = 0;
  o->cgroup_id = bpf_get_current_cgroup_id();
  o->start_ktime = bpf_ktime_get_boot_ns();
  bpf_get_current_comm(o->comm, sizeof(o->comm));
}

static __always_inline struct listener_key listener_of(const struct sock* sk, __u16 family,
                                                       bool direct) {
  struct listener_key k = {};
  k.netns = sock_netns(sk, direct);
  k.port = DM_SK_FIELD(direct, sk, __sk_common.skc_num);
  k.family = family;
  return k;
}

// A TCP socket's source port and, at its close, its byte counters.
struct tcp_counts {
  __u16 sport;  // network order
  __u64 bytes_sent;
  __u64 bytes_retrans;
  __u64 bytes_received;
};

static __always_inline void tcp_counts_of(const struct sock* sk, bool direct, bool close,
                                          struct tcp_counts* c) {
  if (direct) {
    // tcp_sock and inet_sock extend struct sock; the verifier allows
    // their fields through the checked conversion.
    const struct tcp_sock* tp = bpf_skc_to_tcp_sock((void*)sk);
    if (!tp) return;
    c->sport = tp->inet_conn.icsk_inet.inet_sport;
    if (!close) return;
    c->bytes_sent = tp->bytes_sent;
    c->bytes_retrans = tp->bytes_retrans;
    c->bytes_received = tp->bytes_received;
  } else {
    const struct tcp_sock* tp = (const struct tcp_sock*)sk;
    c->sport = BPF_CORE_READ((const struct inet_sock*)sk, inet_sport);
    if (!close) return;
    c->bytes_sent = BPF_CORE_READ(tp, bytes_sent);
    c->bytes_retrans = BPF_CORE_READ(tp, bytes_retrans);
    c->bytes_received = BPF_CORE_READ(tp, bytes_received);
  }
}

// `ktime`: when the change happened.
static __always_inline void emit_tcp(const struct sock* sk, __u16 family, __u32 kind,
                                     const struct sock_owner* o, __u32 flags, __u64 ktime,
                                     __u16 hook, bool direct) {
  struct tcp_counts c = {};
  tcp_counts_of(sk, direct, kind == NET_TCP_CLOSE, &c);
  struct net_tcp_event* e = reserve(sizeof(*e), DM_EVENT_TCP);
  if (!e) return;
  header_at(&e->h, DM_EVENT_TCP, o->tgid, ktime);
  e->kind = kind;
  e->pid = o->pid;
  e->uid = o->uid;
  e->netns = sock_netns(sk, direct);
  e->family = family;
  // inet_sport, as the tracepoint itself reports it: on an active close,
  // skc_num is already released when the socket reaches CLOSE.
  e->lport = bpf_ntohs(c.sport);
  e->rport = bpf_ntohs(DM_SK_FIELD(direct, sk, __sk_common.skc_dport));
  e->hook = hook;
  e->flags = flags;
  e->pad = 0;
  __builtin_memset(e->laddr, 0, sizeof(e->laddr));
  __builtin_memset(e->raddr, 0, sizeof(e->raddr));
  sock_local_addr(sk, family, e->laddr, direct);
  sock_remote_addr(sk, family, e->raddr, direct);
  e->cgroup_id = o->cgroup_id;
  e->start_ktime = o->start_ktime;
  e->bytes_sent = 0;
  e->bytes_received = 0;
  if (kind == NET_TCP_CLOSE) {
    // Payload bytes only. The RFC 4898 counters count sequence space, where
    // SYN and FIN take one each: bytes_sent counts payload as transmitted
    // (retransmissions again, so they are taken off), bytes_received
    // counts the peer's FIN, which tcp_fin() marks with SOCK_DONE.
    e->bytes_sent = c.bytes_sent - c.bytes_retrans;
    __u64 received = c.bytes_received;
    unsigned long sk_flags = DM_SK_FIELD(direct, sk, __sk_common.skc_flags);
    if ((sk_flags & (1ul << SOCK_DONE)) && received > 0) received -= 1;
    e->bytes_received = received;
  }
  __builtin_memcpy(e->comm, o->comm, sizeof(e->comm));
  submit(e);
}

// The state changes that make or end a record; the rest (FIN_WAIT1,
// CLOSE_WAIT, a new child in SYN_RECV, ...) leave before reading anything.
static __always_inline bool tcp_change_wanted(int old, int new) {
  return new == TCP_SYN_SENT || new == TCP_LISTEN || new == TCP_CLOSE ||
         (new == TCP_ESTABLISHED && (old == TCP_SYN_SENT || old == TCP_SYN_RECV));
}

static __always_inline int on_tcp_state(const struct sock* sk, int old, int new, __u16 hook,
                                        bool direct) {
  __u16 family = DM_SK_FIELD(direct, sk, __sk_common.skc_family);
  if (family != DM_AF_INET && family != DM_AF_INET6) return 0;
  __u64 key = (__u64)sk;
  struct sock_owner o = {};
  if (new == TCP_SYN_SENT || new == TCP_LISTEN) {
    // connect() or listen(): the owner is the current task.
    if (current_ignored() || !admit(DM_EVENT_TCP)) return 0;
    owner_from_current(&o);
    if (new == TCP_SYN_SENT) {
      if (bpf_map_update_elem(&tcp_socks, &key, &o, BPF_ANY) != 0) count(&drops, DM_EVENT_TCP);
      return 0;
    }
    struct listener_key lk = listener_of(sk, family, direct);
    if (bpf_map_update_elem(&tcp_listeners, &lk, &o, BPF_ANY) != 0) count(&drops, DM_EVENT_TCP);
    emit_tcp(sk, family, NET_TCP_LISTEN, &o, 0, o.start_ktime, hook, direct);
    return 0;
  }
  if (old == TCP_LISTEN && new == TCP_CLOSE) {
    // (A new child socket also leaves LISTEN, for SYN_RECV: it starts as a
    // copy of the listener.)
    struct listener_key lk = listener_of(sk, family, direct);
    bpf_map_delete_elem(&tcp_listeners, &lk);
    return 0;
  }
  if (new == TCP_ESTABLISHED && old == TCP_SYN_SENT) {
    struct sock_owner* found = bpf_map_lookup_elem(&tcp_socks, &key);
    if (!found) return 0;
    found->established = 1;
    o = *found;
    emit_tcp(sk, family, NET_TCP_CONNECT, &o, 0, bpf_ktime_get_boot_ns(), hook, direct);
    return 0;
  }
  if (new == TCP_ESTABLISHED && old == TCP_SYN_RECV) {
    struct listener_key lk = listener_of(sk, family, direct);
    struct sock_owner* listener = bpf_map_lookup_elem(&tcp_listeners, &lk);
    if (!listener) return 0;  // not followed (filtered, or listening before we started)
    if (!admit(DM_EVENT_TCP)) return 0;
    o = *listener;
    o.established = 1;
    o.start_ktime = bpf_ktime_get_boot_ns();
    if (bpf_map_update_elem(&tcp_socks, &key, &o, BPF_ANY) != 0) count(&drops, DM_EVENT_TCP);
    emit_tcp(sk, family, NET_TCP_ACCEPT, &o, 0, o.start_ktime, hook, direct);
    return 0;
  }
  if (new == TCP_CLOSE) {
    struct sock_owner* found = bpf_map_lookup_elem(&tcp_socks, &key);
    if (!found) return 0;
    o = *found;
    bpf_map_delete_elem(&tcp_socks, &key);
    emit_tcp(sk, family, NET_TCP_CLOSE, &o, o.established ? 0 : NET_TCP_FAILED,
             bpf_ktime_get_boot_ns(), hook, direct);
  }
  return 0;
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(tcp_state_btf, const struct sock* sk, int oldstate, int newstate) {
  if (!tcp_change_wanted(oldstate, newstate) || sk->sk_protocol != IPPROTO_TCP) return 0;
  return on_tcp_state(sk, oldstate, newstate, DM_HOOK_TP_BTF, true);
}

SEC("tracepoint/sock/inet_sock_set_state")
int tcp_state_tp(struct trace_event_raw_inet_sock_set_state* ctx) {
  if (!tcp_change_wanted(ctx->oldstate, ctx->newstate) || ctx->protocol != IPPROTO_TCP) return 0;
  return on_tcp_state((const struct sock*)ctx->skaddr, ctx->oldstate, ctx->newstate,
                      DM_HOOK_TRACEPOINT, false);
}

#endif

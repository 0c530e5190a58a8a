// UDP flows: datagram and byte counts per process, socket and peer, summed
// in the kernel and read by user space once per interval. Counted where a
// datagram is sent or received, in the process's own context: the
// sock:sock_send_length and sock_recv_length tracepoints (tp_btf) give the
// socket and the size; the peer is the connected one, or for unconnected
// sockets the address sendmsg was given or recvmsg returned, which the
// cgroup sendmsg/recvmsg hooks (they run only for UDP, only when an address
// is passed) leave in socket storage for the tracepoint that follows.
// Nothing runs per packet, and nothing for TCP beyond a protocol check on
// send and receive calls. The flow maps are double-buffered: user space
// flips udp_active and drains the other map, so no count is lost to the
// read. The cgroup hooks return 1 always: they never refuse a call.
// Kernels before 6.3 lack the length tracepoints: there the fexit programs
// at the end count the same at the UDP send and receive functions.
// Included by telemetry.bpf.c.
#ifndef DEMARC_PROBES_UDP_BPF_H
#define DEMARC_PROBES_UDP_BPF_H

#include "common.bpf.h"
#include "udp.h"

#define DM_IPPROTO_UDP 17

__u32 udp_active = 0;  // which flow map the programs write; flipped by user space

// The peer of the datagram being sent or received, between the cgroup hook
// and the tracepoint; used once.
struct udp_peer {
  __u32 set;
  __u16 family;
  __u16 port;  // host byte order
  __u8 addr[16];
};

struct {
  __uint(type, BPF_MAP_TYPE_SK_STORAGE);
  __uint(map_flags, BPF_F_NO_PREALLOC);
  __type(key, int);
  __type(value, struct udp_peer);
} udp_peers SEC(".maps");

struct udp_flows {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, UDP_FLOWS_MAX);
  __uint(map_flags, BPF_F_NO_PREALLOC);
  __type(key, struct udp_flow_key);
  __type(value, struct udp_flow_value);
};
struct udp_flows udp_flows_0 SEC(".maps");
struct udp_flows udp_flows_1 SEC(".maps");

static __always_inline int remember_peer(struct bpf_sock_addr* ctx, bool v6) {
  struct bpf_sock* sk = ctx->sk;
  if (!sk) return 1;
  struct udp_peer* p = bpf_sk_storage_get(&udp_peers, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
  if (!p) return 1;
  p->set = 1;
  p->port = bpf_ntohs((__u16)ctx->user_port);
  if (v6) {
    p->family = DM_AF_INET6;
    __u32 a0 = ctx->user_ip6[0], a1 = ctx->user_ip6[1], a2 = ctx->user_ip6[2],
          a3 = ctx->user_ip6[3];
    __builtin_memcpy(p->addr, &a0, 4);
    __builtin_memcpy(p->addr + 4, &a1, 4);
    __builtin_memcpy(p->addr + 8, &a2, 4);
    __builtin_memcpy(p->addr + 12, &a3, 4);
  } else {
    p->family = DM_AF_INET;
    __u32 a = ctx->user_ip4;
    __builtin_memset(p->addr, 0, sizeof(p->addr));
    __builtin_memcpy(p->addr, &a, 4);
  }
  return 1;
}

SEC("cgroup/sendmsg4")
int udp_sendmsg4(struct bpf_sock_addr* ctx) { return remember_peer(ctx, false); }
SEC("cgroup/sendmsg6")
int udp_sendmsg6(struct bpf_sock_addr* ctx) { return remember_peer(ctx, true); }
SEC("cgroup/recvmsg4")
int udp_recvmsg4(struct bpf_sock_addr* ctx) { return remember_peer(ctx, false); }
SEC("cgroup/recvmsg6")
int udp_recvmsg6(struct bpf_sock_addr* ctx) { return remember_peer(ctx, true); }

// Adds one datagram of `ret` bytes to its flow: the current process, the
// socket, and the peer given (set: an address passed to or returned by the
// call) or else the socket's connected one.
static __always_inline int udp_record(struct sock* sk, __u16 family, int ret, bool sent,
                                      const struct udp_peer* peer) {
  if (current_ignored()) return 0;
  struct udp_flow_key k = {};
  __u64 id = bpf_get_current_pid_tgid();
  k.tgid = id >> 32;
  k.family = family;
  k.lport = sk->__sk_common.skc_num;
  sock_local_addr(sk, family, k.laddr, true);
  if (peer->set) {
    // On an IPv6 socket the peer may be an IPv4 one (sendto with an
    // AF_INET address).
    k.rport = peer->port;
    if (peer->family == family) {
      __builtin_memcpy(k.raddr, peer->addr, 16);
    } else if (peer->family == DM_AF_INET) {  // as an IPv4-mapped IPv6 address
      k.raddr[10] = 0xff;
      k.raddr[11] = 0xff;
      __builtin_memcpy(k.raddr + 12, peer->addr, 4);
    }
  } else {
    k.rport = bpf_ntohs(sk->__sk_common.skc_dport);
    sock_remote_addr(sk, family, k.raddr, true);
  }
  void* flows = udp_active ? (void*)&udp_flows_1 : (void*)&udp_flows_0;
  struct udp_flow_value* v = bpf_map_lookup_elem(flows, &k);
  __u64 now = bpf_ktime_get_boot_ns();
  if (!v) {
    struct udp_flow_value fresh = {};
    fresh.first_ktime = now;
    fresh.uid = (__u32)bpf_get_current_uid_gid();
    fresh.cgroup_id = bpf_get_current_cgroup_id();
    bpf_get_current_comm(fresh.comm, sizeof(fresh.comm));
    if (bpf_map_update_elem(flows, &k, &fresh, BPF_NOEXIST) != 0 &&
        bpf_map_lookup_elem(flows, &k) == 0) {
      count(&drops, DM_EVENT_UDP);  // the flow table is full
      return 0;
    }
    v = bpf_map_lookup_elem(flows, &k);
    if (!v) return 0;
  }
  if (sent) {
    __sync_fetch_and_add(&v->packets_sent, 1);
    __sync_fetch_and_add(&v->bytes_sent, ret);
  } else {
    __sync_fetch_and_add(&v->packets_received, 1);
    __sync_fetch_and_add(&v->bytes_received, ret);
  }
  v->last_ktime = now;
  return 0;
}

static __always_inline int udp_count(struct sock* sk, int ret, bool sent) {
  if (ret < 0) return 0;
  // Runs for every send and receive of every socket: the socket is read
  // with plain loads (tp_btf), and all but UDP leave at once.
  if (sk->sk_protocol != DM_IPPROTO_UDP) return 0;
  __u16 family = sk->__sk_common.skc_family;
  if (family != DM_AF_INET && family != DM_AF_INET6) return 0;
  struct udp_peer given = {};
  struct udp_peer* peer = bpf_sk_storage_get(&udp_peers, sk, 0, 0);
  if (peer && peer->set) {
    given = *peer;
    peer->set = 0;  // used once
  }
  return udp_record(sk, family, ret, sent, &given);
}

SEC("tp_btf/sock_send_length")
int BPF_PROG(udp_sent, struct sock* sk, int ret, int flags) { return udp_count(sk, ret, true); }

SEC("tp_btf/sock_recv_length")
int BPF_PROG(udp_received, struct sock* sk, int ret, int flags) {
  return udp_count(sk, ret, false);
}

// Kernels before 6.3 have no length tracepoints. Where fexit programs load
// (kernels without lockdown), the UDP send and receive functions give the
// same: the socket, the payload bytes (their result) and the peer (the
// address in the message, if one was passed or asked for). They run for
// UDP alone.
struct dm_sockaddr_in6 {
  __u16 family;
  __u16 port;
  __u32 flowinfo;
  __u8 addr[16];
};

static __always_inline void peer_from_msg(struct msghdr* msg, struct udp_peer* p) {
  void* name = msg->msg_name;
  if (!name) return;
  struct dm_sockaddr_in6 sa = {};
  if (bpf_probe_read_kernel(&sa, sizeof(sa), name) != 0) return;
  if (sa.family == DM_AF_INET) {
    p->family = DM_AF_INET;
    __builtin_memcpy(p->addr, &sa.flowinfo, 4);  // sin_addr sits where sin6_flowinfo does
  } else if (sa.family == DM_AF_INET6) {
    p->family = DM_AF_INET6;
    __builtin_memcpy(p->addr, sa.addr, 16);
  } else {
    return;
  }
  p->port = bpf_ntohs(sa.port);
  p->set = 1;
}

// `family`: the socket family the function serves. udpv6_sendmsg hands an
// IPv4 destination on to udp_sendmsg: counted once, by the IPv6 function.
static __always_inline int udp_count_msg(struct sock* sk, struct msghdr* msg, int ret, bool sent,
                                         __u16 family) {
  if (ret < 0) return 0;
  if (sk->sk_protocol != DM_IPPROTO_UDP || sk->__sk_common.skc_family != family) return 0;
  struct udp_peer given = {};
  peer_from_msg(msg, &given);
  return udp_record(sk, family, ret, sent, &given);
}

SEC("fexit/udp_sendmsg")
int BPF_PROG(udp_sendmsg_exit, struct sock* sk, struct msghdr* msg, size_t len, int ret) {
  return udp_count_msg(sk, msg, ret, true, DM_AF_INET);
}

SEC("fexit/udpv6_sendmsg")
int BPF_PROG(udpv6_sendmsg_exit, struct sock* sk, struct msghdr* msg, size_t len, int ret) {
  return udp_count_msg(sk, msg, ret, true, DM_AF_INET6);
}

// The receive functions lost their `noblock` argument in 5.19; the result
// follows the arguments, so each exists in both shapes and user space
// loads the one the kernel's BTF describes.
SEC("fexit/udp_recvmsg")
int BPF_PROG(udp_recvmsg_exit, struct sock* sk, struct msghdr* msg, size_t len, int flags,
             int* addr_len, int ret) {
  return udp_count_msg(sk, msg, ret, false, DM_AF_INET);
}

SEC("fexit/udpv6_recvmsg")
int BPF_PROG(udpv6_recvmsg_exit, struct sock* sk, struct msghdr* msg, size_t len, int flags,
             int* addr_len, int ret) {
  return udp_count_msg(sk, msg, ret, false, DM_AF_INET6);
}

SEC("fexit/udp_recvmsg")
int BPF_PROG(udp_recvmsg_exit_noblock, struct sock* sk, struct msghdr* msg, size_t len, int noblock,
             int flags, int* addr_len, int ret) {
  return udp_count_msg(sk, msg, ret, false, DM_AF_INET);
}

SEC("fexit/udpv6_recvmsg")
int BPF_PROG(udpv6_recvmsg_exit_noblock, struct sock* sk, struct msghdr* msg, size_t len,
             int noblock, int flags, int* addr_len, int ret) {
  return udp_count_msg(sk, msg, ret, false, DM_AF_INET6);
}

#endif

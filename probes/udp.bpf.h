// UDP flows: packet and byte counts per process, socket and peer, summed in
// the kernel and read by user space once per interval. Packets are counted
// by cgroup_skb programs on the root cgroup (every datagram, with its real
// peer, whether the socket is connected or not); the owning process is
// stamped into socket storage when the socket is created (cgroup/
// sock_create, in the creator's context), or at its first send for sockets
// older than the probe. The flow maps are double-buffered: user space flips
// udp_active and drains the other map, so no count is lost to the read.
// cgroup_skb programs return 1 always: they never drop a packet. Included
// by telemetry.bpf.c.
#ifndef DEMARC_PROBES_UDP_BPF_H
#define DEMARC_PROBES_UDP_BPF_H

#include "common.bpf.h"
#include "udp.h"

#define DM_IPPROTO_UDP 17
#define DM_SOCK_DGRAM 2

__u32 udp_active = 0;  // which flow map the programs write; flipped by user space

struct udp_owner {
  __u32 tgid;
  __u32 uid;
  __u64 cgroup_id;
  char comm[DM_COMM_LEN];
  __u32 ignored;  // the filters exclude it: not counted
  __u32 pad;
};

struct {
  __uint(type, BPF_MAP_TYPE_SK_STORAGE);
  __uint(map_flags, BPF_F_NO_PREALLOC);
  __type(key, int);
  __type(value, struct udp_owner);
} udp_owners SEC(".maps");

struct udp_flows {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, UDP_FLOWS_MAX);
  __uint(map_flags, BPF_F_NO_PREALLOC);
  __type(key, struct udp_flow_key);
  __type(value, struct udp_flow_value);
};
struct udp_flows udp_flows_0 SEC(".maps");
struct udp_flows udp_flows_1 SEC(".maps");

static __always_inline void owner_of_current(struct udp_owner* o) {
  o->tgid = bpf_get_current_pid_tgid() >> 32;
  o->uid = (__u32)bpf_get_current_uid_gid();
  o->cgroup_id = bpf_get_current_cgroup_id();
  bpf_get_current_comm(o->comm, sizeof(o->comm));
  o->ignored = current_ignored();
  o->pad = 0;
}

SEC("cgroup/sock_create")
int udp_sock_create(struct bpf_sock* sk) {
  if (sk->type != DM_SOCK_DGRAM || sk->protocol != DM_IPPROTO_UDP) return 1;
  struct udp_owner* o = bpf_sk_storage_get(&udp_owners, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
  if (o) owner_of_current(o);
  return 1;
}

// The flow's addresses and ports from the packet; false when it is not a
// UDP datagram this code reads (IPv6 extension headers are not followed).
static __always_inline bool udp_tuple(struct __sk_buff* skb, bool egress, struct udp_flow_key* k,
                                      __u32* payload) {
  __u8 version = 0;
  if (bpf_skb_load_bytes(skb, 0, &version, 1) != 0) return false;
  version >>= 4;
  __u32 udp_at = 0;
  __u8 src[16] = {}, dst[16] = {};
  if (version == 4) {
    struct iphdr ip;
    if (bpf_skb_load_bytes(skb, 0, &ip, sizeof(ip)) != 0 || ip.protocol != DM_IPPROTO_UDP) {
      return false;
    }
    if (ip.frag_off & bpf_htons(0x1fff)) return false;  // a later fragment: no UDP header
    udp_at = (ip.ihl & 0xf) * 4;
    __builtin_memcpy(src, &ip.saddr, 4);
    __builtin_memcpy(dst, &ip.daddr, 4);
    k->family = 2;  // AF_INET
  } else if (version == 6) {
    struct ipv6hdr ip6;
    if (bpf_skb_load_bytes(skb, 0, &ip6, sizeof(ip6)) != 0 || ip6.nexthdr != DM_IPPROTO_UDP) {
      return false;
    }
    udp_at = sizeof(ip6);
    __builtin_memcpy(src, &ip6.saddr, 16);
    __builtin_memcpy(dst, &ip6.daddr, 16);
    k->family = 10;  // AF_INET6
  } else {
    return false;
  }
  struct udphdr udp;
  if (bpf_skb_load_bytes(skb, udp_at, &udp, sizeof(udp)) != 0) return false;
  __u16 len = bpf_ntohs(udp.len);
  *payload = len >= sizeof(udp) ? len - sizeof(udp) : 0;
  if (egress) {
    __builtin_memcpy(k->laddr, src, 16);
    __builtin_memcpy(k->raddr, dst, 16);
    k->lport = bpf_ntohs(udp.source);
    k->rport = bpf_ntohs(udp.dest);
  } else {
    __builtin_memcpy(k->laddr, dst, 16);
    __builtin_memcpy(k->raddr, src, 16);
    k->lport = bpf_ntohs(udp.dest);
    k->rport = bpf_ntohs(udp.source);
  }
  return true;
}

static __always_inline int udp_count(struct __sk_buff* skb, bool egress) {
  struct udp_flow_key k = {};
  __u32 payload = 0;
  if (!udp_tuple(skb, egress, &k, &payload)) return 1;
  struct bpf_sock* sk = skb->sk;
  if (!sk) return 1;
  sk = bpf_sk_fullsock(sk);
  if (!sk) return 1;
  struct udp_owner* o = bpf_sk_storage_get(&udp_owners, sk, 0, 0);
  if (!o && egress) {
    // A socket older than the probe: its first send is in its owner's
    // context.
    o = bpf_sk_storage_get(&udp_owners, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
    if (o) owner_of_current(o);
  }
  if (o && o->ignored) return 1;
  k.tgid = o ? o->tgid : 0;
  void* flows = udp_active ? (void*)&udp_flows_1 : (void*)&udp_flows_0;
  struct udp_flow_value* v = bpf_map_lookup_elem(flows, &k);
  __u64 now = bpf_ktime_get_boot_ns();
  if (!v) {
    struct udp_flow_value fresh = {};
    fresh.first_ktime = now;
    if (o) {
      fresh.uid = o->uid;
      fresh.cgroup_id = o->cgroup_id;
      __builtin_memcpy(fresh.comm, o->comm, sizeof(fresh.comm));
    }
    if (bpf_map_update_elem(flows, &k, &fresh, BPF_NOEXIST) != 0 &&
        bpf_map_lookup_elem(flows, &k) == 0) {
      count(&drops, DM_EVENT_UDP);  // the flow table is full
      return 1;
    }
    v = bpf_map_lookup_elem(flows, &k);
    if (!v) return 1;
  }
  if (egress) {
    __sync_fetch_and_add(&v->packets_sent, 1);
    __sync_fetch_and_add(&v->bytes_sent, payload);
  } else {
    __sync_fetch_and_add(&v->packets_received, 1);
    __sync_fetch_and_add(&v->bytes_received, payload);
  }
  v->last_ktime = now;
  return 1;
}

SEC("cgroup_skb/egress")
int udp_egress(struct __sk_buff* skb) { return udp_count(skb, true); }

SEC("cgroup_skb/ingress")
int udp_ingress(struct __sk_buff* skb) { return udp_count(skb, false); }

#endif

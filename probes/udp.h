/* UDP flows, shared between udp.bpf.h and user space. */
#ifndef DEMARC_PROBES_UDP_H
#define DEMARC_PROBES_UDP_H

#include "events.h"

/* One flow: a process's socket and one peer. */
struct udp_flow_key {
  __u32 tgid; /* 0: the socket's process is not known */
  __u16 family;
  __u16 lport; /* host byte order */
  __u16 rport;
  __u16 pad;
  __u8 laddr[16]; /* IPv4: the first 4 bytes */
  __u8 raddr[16];
};

struct udp_flow_value {
  __u64 packets_sent;
  __u64 bytes_sent; /* UDP payload */
  __u64 packets_received;
  __u64 bytes_received;
  __u64 first_ktime;
  __u64 last_ktime;
  __u64 cgroup_id;
  __u32 uid;
  __u32 pad;
  char comm[DM_COMM_LEN];
};

#define UDP_FLOWS_MAX 16384

#endif

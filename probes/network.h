/* Network events, shared between network.bpf.h and user space. */
#ifndef DEMARC_PROBES_NETWORK_H
#define DEMARC_PROBES_NETWORK_H

#include "events.h"

enum net_tcp_kind {
  NET_TCP_CONNECT = 1, /* an outbound connection was established */
  NET_TCP_ACCEPT = 2,  /* an inbound one (attributed to the listener's owner) */
  NET_TCP_LISTEN = 3,
  NET_TCP_CLOSE = 4, /* a connect or accept ended; bytes are final */
};

#define NET_TCP_FAILED 1u /* close: the connection was never established */

struct net_tcp_event {
  struct dm_header h; /* tgid: the process the socket belongs to */
  __u32 kind;         /* enum net_tcp_kind */
  __u32 pid;          /* its thread */
  __u32 uid;
  __u32 netns;  /* network namespace inode */
  __u16 family; /* AF_INET or AF_INET6 */
  __u16 lport;  /* host byte order */
  __u16 rport;
  __u16 hook; /* enum dm_hook */
  __u32 flags;
  __u32 pad;
  __u8 laddr[16]; /* IPv4: the first 4 bytes */
  __u8 raddr[16];
  __u64 cgroup_id;
  __u64 start_ktime; /* close: when the connect or accept began */
  __u64 bytes_sent;  /* close: acknowledged by the peer */
  __u64 bytes_received;
  char comm[DM_COMM_LEN];
};

#endif

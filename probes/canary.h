/* Shared between canary.bpf.c and user space: fixed-width fields only. */
#ifndef DEMARC_PROBES_CANARY_H
#define DEMARC_PROBES_CANARY_H

#define CANARY_COMM_LEN 16
#define CANARY_PATH_LEN 256

struct canary_exec_event {
  __u32 pid;   /* thread group id of the new program */
  __u32 ppid;  /* thread group id of its parent */
  __u32 uid;
  __u32 hook;  /* 1: tp_btf, 2: tracepoint */
  char comm[CANARY_COMM_LEN];
  char filename[CANARY_PATH_LEN];
};

#endif

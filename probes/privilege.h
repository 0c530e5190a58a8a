/* Privilege events, shared between privilege.bpf.h and user space. */
#ifndef DEMARC_PROBES_PRIVILEGE_H
#define DEMARC_PROBES_PRIVILEGE_H

#include "events.h"

enum priv_kind {
  PRIV_SETUID = 1, /* setuid, setreuid, setresuid, setfsuid: arg0..2 the ids asked for */
  PRIV_SETGID = 2, /* setgid, setregid, setresgid, setfsgid */
  PRIV_CAPSET = 3,
  PRIV_PTRACE = 4,      /* attach or seize: arg0 the request, target the pid */
  PRIV_BPF_LOAD = 5,    /* a BPF program load: arg0 the program type, name its name */
  PRIV_MODULE_LOAD = 6, /* init_module or finit_module: arg0 the fd (finit) */
};

/* Which syscall of the family: user space names it. */
enum priv_syscall {
  PRIV_SYS_SETUID = 1,
  PRIV_SYS_SETREUID,
  PRIV_SYS_SETRESUID,
  PRIV_SYS_SETFSUID,
  PRIV_SYS_SETGID,
  PRIV_SYS_SETREGID,
  PRIV_SYS_SETRESGID,
  PRIV_SYS_SETFSGID,
  PRIV_SYS_CAPSET,
  PRIV_SYS_PTRACE,
  PRIV_SYS_BPF,
  PRIV_SYS_INIT_MODULE,
  PRIV_SYS_FINIT_MODULE,
};

struct priv_creds {
  __u32 uid, euid, suid, fsuid;
  __u32 gid, egid, sgid, fsgid;
  __u64 cap_effective;
  __u64 cap_permitted;
};

struct priv_event {
  struct dm_header h;
  __u32 kind;    /* enum priv_kind */
  __u32 syscall; /* enum priv_syscall */
  __u32 pid;     /* the thread */
  __u32 target;  /* ptrace: the traced pid */
  __s64 ret;     /* the syscall's result: 0 or a new fd on success, -errno on failure */
  __u64 arg[3];
  struct priv_creds before;
  struct priv_creds after;
  __u64 cgroup_id;
  char comm[DM_COMM_LEN];
  char name[16]; /* bpf: the program's name */
};

#endif

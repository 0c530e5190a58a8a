/* Process events, shared between process.bpf.h and user space. */
#ifndef DEMARC_PROBES_PROCESS_H
#define DEMARC_PROBES_PROCESS_H

#include "events.h"

#define PROC_COMM_LEN DM_COMM_LEN
#define PROC_PATH_LEN 256
/* The argument list travels in chunks after its exec event. */
#define PROC_ARGS_CHUNK 4096
#define PROC_ARGS_MAX_CHUNKS 32 /* 128 KiB: the supported maximum */
/* The working directory: up to this many components, leaf first. */
#define PROC_CWD_DEPTH 16
#define PROC_CWD_NAME_LEN 64

struct proc_exec_event {
  struct dm_header h;
  __u32 pid; /* the thread that called execve */
  __u32 ppid;
  __u32 uid, gid, euid, egid;
  __u32 loginuid;
  __u32 hook;           /* enum dm_hook */
  __u64 cgroup_id;      /* cgroup v2 id */
  __u64 inode;          /* of the executable */
  __u32 dev;            /* its device (kernel encoding) */
  __u32 args_size;      /* bytes of the argument list (NUL-separated) */
  __u32 args_chunks;    /* DM_EVENT_ARGS records that follow */
  __u32 flags;          /* PROC_EXEC_* */
  __u64 start_boottime; /* task start, ns since boot (as /proc/PID/stat) */
  char comm[PROC_COMM_LEN];
  char filename[PROC_PATH_LEN];
  /* The working directory, leaf first: cwd[0] is its last component. */
  char cwd[PROC_CWD_DEPTH][PROC_CWD_NAME_LEN];
  __u32 cwd_depth;
  __u32 exe_mode; /* the executable's mode bits */
  __u64 cap_permitted;
  __u64 cap_effective;
};

#define PROC_EXEC_ARGS_TRUNCATED 1u /* longer than PROC_ARGS_MAX_CHUNKS chunks */
#define PROC_EXEC_CWD_TRUNCATED 2u  /* deeper than PROC_CWD_DEPTH, or a long name */
#define PROC_EXEC_ARGS_LOST 4u      /* a chunk could not be read or queued */
/* Privileges the exec gained: */
#define PROC_EXEC_SETUID 8u  /* a set-user-ID executable; euid is now its owner */
#define PROC_EXEC_SETGID 16u /* a set-group-ID executable; egid is now its group */
#define PROC_EXEC_CAPS 32u   /* capabilities held by a process not running as root */

struct proc_args_event {
  struct dm_header h;
  __u32 index; /* 0 .. args_chunks - 1 */
  __u32 size;
  __u64 exec_ktime; /* the exec event this belongs to */
  char data[PROC_ARGS_CHUNK];
};

struct proc_fork_event {
  struct dm_header h; /* tgid: the new process */
  __u32 parent_tgid;
  __u32 pad;
  __u64 start_boottime;
};

struct proc_exit_event {
  struct dm_header h;
  __u32 pid;
  __u32 ppid;
  __u32 exit_code; /* wait status: code << 8, or the signal number */
  __u32 pad;
  __u64 start_boottime;
  char comm[PROC_COMM_LEN];
};

#endif

/* Shared by every probe and user space: the record header, the event types
 * and the filter settings. Fixed-width fields only. */
#ifndef DEMARC_PROBES_EVENTS_H
#define DEMARC_PROBES_EVENTS_H

#define DM_COMM_LEN 16

/* Every ring-buffer record starts with a header naming its type. */
enum dm_event_type {
  DM_EVENT_EXEC = 1,
  DM_EVENT_ARGS = 2,
  DM_EVENT_FORK = 3,
  DM_EVENT_EXIT = 4,
  DM_EVENT_TCP = 5,
  DM_EVENT_PRIV = 6,
  DM_EVENT_UDP = 7,   /* no records: flows are read from maps; drops: flow table full */
  DM_EVENT_TYPES = 8, /* size of the per-type counter arrays */
};

/* How a program is attached, reported in events that depend on it. */
enum dm_hook {
  DM_HOOK_TP_BTF = 1,
  DM_HOOK_TRACEPOINT = 2,
};

struct dm_header {
  __u32 type;
  __u32 tgid;  /* the process the event is about */
  __u64 ktime; /* bpf_ktime_get_boot_ns(): nanoseconds since boot */
};

/* Filter switches (rodata filter_flags): which filter maps are consulted. */
#define DM_FILTER_IGNORE_COMM 1u   /* filter_comm: these comms are not reported */
#define DM_FILTER_IGNORE_UID 2u    /* filter_uid: nor these uids */
#define DM_FILTER_IGNORE_CGROUP 4u /* filter_cgroup DM_CGROUP_IGNORED: nor these subtrees */
#define DM_FILTER_ONLY_CGROUP 8u   /* filter_cgroup DM_CGROUP_ONLY: only these subtrees */
/* Values of filter_cgroup entries. */
#define DM_CGROUP_IGNORED 1
#define DM_CGROUP_ONLY 2
/* Levels of the cgroup hierarchy the subtree filters look up from a task. */
#define DM_CGROUP_LEVELS 8

#endif

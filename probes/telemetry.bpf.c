// SPDX-License-Identifier: GPL-2.0
// The telemetry probe: one object, one ring buffer, for process activity
// (process.bpf.h), TCP connections (network.bpf.h), privilege changes
// (privilege.bpf.h) and UDP flows (udp.bpf.h). Every event the ring
// buffer cannot take is counted per CPU and per event type (common.bpf.h).
// vmlinux.h must come before the libbpf headers.
// clang-format off
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
// clang-format on

#include "common.bpf.h"
#include "network.bpf.h"
#include "privilege.bpf.h"
#include "process.bpf.h"
#include "udp.bpf.h"

char LICENSE[] SEC("license") = "GPL";

#pragma once

#include <map>
#include <string>
#include <vector>

#include "agent/aws/ec2.h"
#include "agent/core/host_root.h"
#include "agent/core/result.h"

namespace demarc::posture {

enum class EncryptionVerdict {
  kEncrypted,     // dm-crypt in the chain, or EC2 instance store
  kNotEncrypted,  // nothing in the chain encrypts
  kUnknown,       // EBS: only ec2:DescribeVolumes can tell
};
std::string_view verdictName(EncryptionVerdict v);

// One layer of a block-device chain, from the mounted device down.
struct BlockLayer {
  std::string name;    // "nvme0n1p1", "dm-0", "md0"
  std::string kind;    // "partition", "dm", "md", "disk", "loop"
  std::string detail;  // dm uuid, disk model, ...
};

struct VolumeEncryption {
  std::string device;       // as mounted: "/dev/mapper/root"
  std::string mount_point;  // "/" or "[swap]"
  std::string fstype;
  std::vector<BlockLayer> chain;
  EncryptionVerdict verdict = EncryptionVerdict::kUnknown;
  std::string reason;
  std::vector<std::string> ebs_volume_ids;  // vol-..., for DescribeVolumes
};

// Every mounted block-device filesystem (/proc/mounts) and swap area
// (/proc/swaps) with its chain and verdict, read from ROOT/proc and
// ROOT/sys (a fake tree in tests). Unreadable parts give a verdict of
// unknown with the reason, never an error.
Result<std::vector<VolumeEncryption>> scanDiskEncryption(const HostRoot& root);

// Completes the verdicts of EBS-backed volumes (unknown until now) with what
// ec2:DescribeVolumes said about their volume ids, or says why it could not.
void applyEbsVolumes(std::vector<VolumeEncryption>& volumes,
                     const Result<std::map<std::string, aws::EbsVolume>>& described);

}  // namespace demarc::posture

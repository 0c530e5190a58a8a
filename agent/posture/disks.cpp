#include "agent/posture/disks.h"

#include <algorithm>
#include <filesystem>
#include <set>

#include "agent/core/text.h"

namespace demarc::posture {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kEbsModel = "Amazon Elastic Block Store";
constexpr std::string_view kInstanceStoreModel = "Amazon EC2 NVMe Instance Storage";

std::string readTrimmed(const HostRoot& root, const std::string& path) {
  auto line = root.readLine(path);
  return line.ok() ? *line : std::string();
}

// "/dev/mapper/NAME", "/dev/dm-0", "/dev/nvme0n1p1" -> the sysfs name.
std::string sysfsName(const HostRoot& root, std::string device) {
  std::error_code ec;
  if (device.starts_with("/dev/disk/") && root.isLive()) {
    device = fs::canonical(device, ec).string();
  }
  std::string base = fs::path(device).filename().string();
  if (device.starts_with("/dev/mapper/")) {
    for (const auto& entry : fs::directory_iterator(root.path("/sys/class/block"), ec)) {
      std::string name = entry.path().filename().string();
      if (readTrimmed(root, "/sys/class/block/" + name + "/dm/name") == base) return name;
    }
  }
  return base;
}

// The disk a partition belongs to: its sysfs entry sits in the disk's folder.
std::string partitionParent(const HostRoot& root, const std::string& name) {
  std::error_code ec;
  fs::path link = root.path("/sys/class/block/" + name);
  fs::path target = fs::read_symlink(link, ec);
  if (ec) return "";
  return target.parent_path().filename().string();
}

void walk(const HostRoot& root, const std::string& name, std::vector<BlockLayer>& chain,
          std::set<std::string>& seen) {
  if (name.empty() || !seen.insert(name).second || chain.size() > 16) return;  // loops
  const std::string base = "/sys/class/block/" + name;
  std::error_code ec;
  if (!fs::exists(root.path(base), ec)) return;  // the chain ends in the unknown
  BlockLayer layer;
  layer.name = name;
  if (fs::exists(root.path(base + "/partition"), ec)) {
    layer.kind = "partition";
    chain.push_back(layer);
    walk(root, partitionParent(root, name), chain, seen);
    return;
  }
  if (fs::exists(root.path(base + "/dm"), ec)) {
    layer.kind = "dm";
    layer.detail = readTrimmed(root, base + "/dm/uuid");
  } else if (fs::exists(root.path(base + "/md"), ec)) {
    layer.kind = "md";
    layer.detail = readTrimmed(root, base + "/md/level");
  } else if (name.starts_with("loop")) {
    layer.kind = "loop";
    layer.detail = readTrimmed(root, base + "/loop/backing_file");
  } else {
    layer.kind = "disk";
    layer.detail = readTrimmed(root, base + "/device/model");
  }
  chain.push_back(layer);
  std::vector<std::string> slaves;
  for (const auto& s : fs::directory_iterator(root.path(base + "/slaves"), ec)) {
    slaves.push_back(s.path().filename().string());
  }
  std::sort(slaves.begin(), slaves.end());
  for (const auto& s : slaves) walk(root, s, chain, seen);
}

// dm-crypt devices carry a "CRYPT-<TYPE>-" uuid; dm-verity and dm-integrity
// use the same prefix and encrypt nothing.
bool isDmCrypt(const std::string& uuid, std::string& type) {
  if (!uuid.starts_with("CRYPT-")) return false;
  std::string rest = uuid.substr(6);
  type = rest.substr(0, rest.find('-'));
  return type != "VERITY" && type != "INTEGRITY";
}

void judge(const HostRoot& root, VolumeEncryption& v) {
  if (v.chain.empty()) {
    v.verdict = EncryptionVerdict::kUnknown;
    v.reason = "no block device found in /sys for " + v.device;
    return;
  }
  for (const auto& layer : v.chain) {
    std::string type;
    if (layer.kind == "dm" && isDmCrypt(layer.detail, type)) {
      v.verdict = EncryptionVerdict::kEncrypted;
      v.reason = "dm-crypt (" + type + ") on " + layer.name;
      return;
    }
  }
  std::vector<std::string> ebs, plain, store;
  for (const auto& layer : v.chain) {
    if (layer.kind != "disk") continue;
    if (layer.detail == kInstanceStoreModel) {
      store.push_back(layer.name);
    } else if (layer.detail == kEbsModel) {
      ebs.push_back(layer.name);
      // NVMe EBS serials are the volume id without its dash: vol0123abcd...
      std::string serial = readTrimmed(root, "/sys/class/block/" + layer.name + "/device/serial");
      if (serial.starts_with("vol") && !serial.starts_with("vol-")) serial.insert(3, "-");
      if (!serial.empty()) v.ebs_volume_ids.push_back(serial);
    } else {
      plain.push_back(layer.name + (layer.detail.empty() ? "" : " (" + layer.detail + ")"));
    }
  }
  if (!plain.empty()) {
    v.verdict = EncryptionVerdict::kNotEncrypted;
    v.reason = "no dm-crypt layer over " + plain.front();
  } else if (!ebs.empty()) {
    v.verdict = EncryptionVerdict::kUnknown;
    v.reason = "EBS volume: its encryption is visible only through ec2:DescribeVolumes";
  } else if (!store.empty()) {
    v.verdict = EncryptionVerdict::kEncrypted;
    v.reason = "NVMe instance store: EC2 encrypts it in hardware";
  } else {
    v.verdict = EncryptionVerdict::kNotEncrypted;
    v.reason = "no dm-crypt layer and no disk under it";
  }
}

}  // namespace

std::string_view verdictName(EncryptionVerdict v) {
  switch (v) {
    case EncryptionVerdict::kEncrypted:
      return "encrypted";
    case EncryptionVerdict::kNotEncrypted:
      return "not_encrypted";
    case EncryptionVerdict::kUnknown:
      return "unknown";
  }
  return "unknown";
}

Result<std::vector<VolumeEncryption>> scanDiskEncryption(const HostRoot& root) {
  std::vector<VolumeEncryption> out;
  auto mounts = root.read("/proc/mounts", 16 << 20);
  if (!mounts.ok()) return mounts.error().withContext("mounted filesystems");
  std::set<std::string> seen_devices;
  auto add = [&](std::string device, std::string mount_point, std::string fstype) {
    VolumeEncryption v;
    v.device = std::move(device);
    v.mount_point = std::move(mount_point);
    v.fstype = std::move(fstype);
    std::set<std::string> seen;
    walk(root, sysfsName(root, v.device), v.chain, seen);
    judge(root, v);
    out.push_back(std::move(v));
  };
  forEachLine(*mounts, [&](std::string_view line, size_t) {
    // device mountpoint fstype options dump pass
    size_t a = line.find(' ');
    size_t b = a == std::string_view::npos ? a : line.find(' ', a + 1);
    size_t c = b == std::string_view::npos ? b : line.find(' ', b + 1);
    if (c == std::string_view::npos) return;
    std::string device(line.substr(0, a));
    if (!device.starts_with("/dev/")) return;  // proc, tmpfs, overlay, ...
    std::string mount_point(line.substr(a + 1, b - a - 1));
    // Bind mounts repeat a device; one verdict per device and mount point.
    if (!seen_devices.insert(device + " " + mount_point).second) return;
    add(device, mount_point, std::string(line.substr(b + 1, c - b - 1)));
  });
  auto swaps = root.read("/proc/swaps", 1 << 20);
  if (swaps.ok()) {
    forEachLine(*swaps, [&](std::string_view line, size_t line_no) {
      if (line_no == 1) return;  // the column names
      std::string device(line.substr(0, line.find_first_of(" \t")));
      if (device.starts_with("/dev/")) add(device, "[swap]", "swap");
    });
  }
  return out;
}

void applyEbsVolumes(std::vector<VolumeEncryption>& volumes,
                     const Result<std::map<std::string, aws::EbsVolume>>& described) {
  for (VolumeEncryption& v : volumes) {
    if (v.verdict != EncryptionVerdict::kUnknown || v.ebs_volume_ids.empty()) continue;
    if (!described.ok()) {
      v.reason += "; " + described.error().message();
      continue;
    }
    std::string encrypted;
    bool all = true;
    for (const std::string& id : v.ebs_volume_ids) {
      auto it = described->find(id);
      if (it == described->end()) {
        v.reason = "EBS volume " + id + ": ec2:DescribeVolumes did not return it";
        all = false;
        break;
      }
      if (!it->second.encrypted) {
        v.verdict = EncryptionVerdict::kNotEncrypted;
        v.reason = "EBS volume " + id + " is not encrypted (ec2:DescribeVolumes)";
        all = false;
        break;
      }
      encrypted += (encrypted.empty() ? "" : ", ") + id +
                   (it->second.kms_key_id.empty() ? "" : " with KMS key " + it->second.kms_key_id);
    }
    if (all) {
      v.verdict = EncryptionVerdict::kEncrypted;
      v.reason = "EBS volume " + encrypted + " is encrypted (ec2:DescribeVolumes)";
    }
  }
}

}  // namespace demarc::posture

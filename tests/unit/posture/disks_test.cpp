#include "agent/posture/disks.h"
#include "agent/posture/scan_context.h"

#include <gtest/gtest.h>

#include "tests/support/temp_dir.h"

namespace demarc::posture {
namespace {

namespace fs = std::filesystem;

// Builds a fake /sys the way the kernel lays it out: devices under
// /sys/devices, /sys/class/block/NAME symlinks to them, partitions inside
// their disk's folder, dm/md slaves as entries in slaves/.
class FakeSys {
 public:
  explicit FakeSys(const testing::TempDir& root) : root_(root) {}
  void disk(const std::string& name, const std::string& model, const std::string& serial = "") {
    std::string dev = "sys/devices/pci0000:00/ctrl/" + name;
    root_.write(dev + "/device/model", model + "\n");
    if (!serial.empty()) root_.write(dev + "/device/serial", serial + "\n");
    link(name, dev);
  }
  void partition(const std::string& disk, const std::string& name) {
    std::string dev = "sys/devices/pci0000:00/ctrl/" + disk + "/" + name;
    root_.write(dev + "/partition", "1\n");
    link(name, dev);
  }
  void dm(const std::string& name, const std::string& mapper_name, const std::string& uuid,
          const std::vector<std::string>& slaves) {
    std::string dev = "sys/devices/virtual/block/" + name;
    root_.write(dev + "/dm/name", mapper_name + "\n");
    root_.write(dev + "/dm/uuid", uuid + "\n");
    for (const auto& s : slaves) fs::create_directories(root_ / (dev + "/slaves/" + s));
    link(name, dev);
  }
  void md(const std::string& name, const std::vector<std::string>& slaves) {
    std::string dev = "sys/devices/virtual/block/" + name;
    root_.write(dev + "/md/level", "raid0\n");
    for (const auto& s : slaves) fs::create_directories(root_ / (dev + "/slaves/" + s));
    link(name, dev);
  }

 private:
  void link(const std::string& name, const std::string& dev) {
    fs::create_directories(root_ / "sys/class/block");
    fs::create_symlink("../../" + dev.substr(4), root_ / ("sys/class/block/" + name));
  }
  const testing::TempDir& root_;
};

const VolumeEncryption& at(const std::vector<VolumeEncryption>& v, const std::string& mount) {
  for (const auto& x : v) {
    if (x.mount_point == mount) return x;
  }
  ADD_FAILURE() << "no volume mounted at " << mount;
  static VolumeEncryption none;
  return none;
}

TEST(DiskEncryption, EveryLayoutGetsItsVerdict) {
  testing::TempDir root;
  FakeSys sys(root);
  sys.disk("nvme0n1", "Amazon Elastic Block Store", "vol0123456789abcdef0");
  sys.partition("nvme0n1", "nvme0n1p1");
  sys.partition("nvme0n1", "nvme0n1p2");
  sys.dm("dm-0", "data", "CRYPT-LUKS2-0123abcd-data", {"nvme0n1p2"});
  sys.disk("nvme1n1", "Amazon EC2 NVMe Instance Storage");
  sys.disk("nvme2n1", "Amazon EC2 NVMe Instance Storage");
  sys.md("md0", {"nvme1n1", "nvme2n1"});
  sys.disk("vda", "");
  sys.partition("vda", "vda1");
  sys.dm("dm-1", "verity", "CRYPT-VERITY-abcd-verity", {"vda1"});
  sys.dm("dm-2", "integ", "CRYPT-INTEGRITY-abcd-integ", {"vda"});
  sys.disk("nvme3n1", "Amazon EC2 NVMe Instance Storage");
  root.write("proc/mounts",
             "proc /proc proc rw 0 0\n"
             "/dev/nvme0n1p1 / ext4 rw 0 0\n"
             "/dev/mapper/data /data xfs rw 0 0\n"
             "/dev/md0 /scratch ext4 rw 0 0\n"
             "/dev/mapper/verity /usr ext4 ro 0 0\n"
             "/dev/dm-2 /integ ext4 rw 0 0\n"
             "tmpfs /tmp tmpfs rw 0 0\n");
  root.write("proc/swaps", "Filename Type Size Used Priority\n/dev/nvme3n1 partition 1024 0 -2\n");
  auto scan = scanDiskEncryption(HostRoot(root.path()));
  ASSERT_TRUE(scan.ok()) << scan.error().message();
  ASSERT_EQ(scan->size(), 6u);  // proc and tmpfs are not block devices

  const auto& rootfs = at(*scan, "/");
  EXPECT_EQ(rootfs.verdict, EncryptionVerdict::kUnknown);
  EXPECT_NE(rootfs.reason.find("ec2:DescribeVolumes"), std::string::npos);
  EXPECT_EQ(rootfs.ebs_volume_ids, std::vector<std::string>{"vol-0123456789abcdef0"});
  ASSERT_EQ(rootfs.chain.size(), 2u);
  EXPECT_EQ(rootfs.chain[0].kind, "partition");
  EXPECT_EQ(rootfs.chain[1].name, "nvme0n1");

  const auto& data = at(*scan, "/data");
  EXPECT_EQ(data.verdict, EncryptionVerdict::kEncrypted);
  EXPECT_EQ(data.reason, "dm-crypt (LUKS2) on dm-0");
  EXPECT_EQ(data.chain.size(), 3u);  // dm-0, nvme0n1p2, nvme0n1

  const auto& scratch = at(*scan, "/scratch");
  EXPECT_EQ(scratch.verdict, EncryptionVerdict::kEncrypted);
  EXPECT_NE(scratch.reason.find("instance store"), std::string::npos);

  EXPECT_EQ(at(*scan, "/usr").verdict, EncryptionVerdict::kNotEncrypted);    // verity
  EXPECT_EQ(at(*scan, "/integ").verdict, EncryptionVerdict::kNotEncrypted);  // integrity
  EXPECT_EQ(at(*scan, "[swap]").verdict, EncryptionVerdict::kEncrypted);
}

// What ec2:DescribeVolumes says completes the EBS verdicts; without an
// answer they stay unknown and say why.
TEST(DiskEncryption, DescribeVolumesDecidesEbs) {
  testing::TempDir root;
  FakeSys sys(root);
  sys.disk("nvme0n1", "Amazon Elastic Block Store", "vol0123456789abcdef0");
  sys.disk("nvme1n1", "Amazon Elastic Block Store", "vol0fedcba9876543210");
  sys.disk("nvme2n1", "Amazon Elastic Block Store", "vol0aaaabbbbccccdddd");
  root.write("proc/mounts",
             "/dev/nvme0n1 / ext4 rw 0 0\n/dev/nvme1n1 /data xfs rw 0 0\n"
             "/dev/nvme2n1 /logs xfs rw 0 0\n");
  auto scan = scanDiskEncryption(HostRoot(root.path()));
  ASSERT_TRUE(scan.ok());
  auto failed = *scan;
  applyEbsVolumes(failed, Error(ErrorCode::kUnavailable,
                                "ec2:DescribeVolumes: HTTP 403 "
                                "UnauthorizedOperation"));
  EXPECT_EQ(at(failed, "/").verdict, EncryptionVerdict::kUnknown);
  EXPECT_NE(at(failed, "/").reason.find("HTTP 403 UnauthorizedOperation"), std::string::npos);

  std::map<std::string, aws::EbsVolume> described = {
      {"vol-0123456789abcdef0",
       {"vol-0123456789abcdef0", true, "arn:aws:kms:us-east-1:1:key/k", "in-use"}},
      {"vol-0fedcba9876543210", {"vol-0fedcba9876543210", false, "", "in-use"}}};
  applyEbsVolumes(*scan, described);
  EXPECT_EQ(at(*scan, "/").verdict, EncryptionVerdict::kEncrypted);
  EXPECT_EQ(at(*scan, "/").reason,
            "EBS volume vol-0123456789abcdef0 with KMS key arn:aws:kms:us-east-1:1:key/k is "
            "encrypted (ec2:DescribeVolumes)");
  EXPECT_EQ(at(*scan, "/data").verdict, EncryptionVerdict::kNotEncrypted);
  EXPECT_EQ(at(*scan, "/data").reason,
            "EBS volume vol-0fedcba9876543210 is not encrypted (ec2:DescribeVolumes)");
  EXPECT_EQ(at(*scan, "/logs").verdict, EncryptionVerdict::kUnknown);
  EXPECT_NE(at(*scan, "/logs").reason.find("did not return it"), std::string::npos);
}

// A scan asks DescribeVolumes once, for the EBS volumes it could not judge.
TEST(DiskEncryption, ScanAsksForTheUnknownEbsVolumesOnly) {
  testing::TempDir root;
  FakeSys sys(root);
  sys.disk("nvme0n1", "Amazon Elastic Block Store", "vol0123456789abcdef0");
  sys.disk("vda", "");
  root.write("proc/mounts", "/dev/nvme0n1 / ext4 rw 0 0\n/dev/vda /plain ext4 rw 0 0\n");
  class Recording : public aws::Ec2Queries {
   public:
    Result<std::map<std::string, aws::EbsVolume>> describeVolumes(
        const std::vector<std::string>& ids) override {
      asked.push_back(ids);
      return std::map<std::string, aws::EbsVolume>{
          {"vol-0123456789abcdef0", {"vol-0123456789abcdef0", true, "", "in-use"}}};
    }
    Result<aws::InstanceMetadataOptions> metadataOptions() override {
      return Error(ErrorCode::kUnavailable, "not asked");
    }
    Result<std::vector<aws::SecurityGroup>> securityGroups() override {
      return Error(ErrorCode::kUnavailable, "not asked");
    }
    std::vector<std::vector<std::string>> asked;
  };
  auto api = std::make_shared<Recording>();
  ScanOptions options;
  options.ec2_api = api;
  ScanContext context(HostRoot(root.path()), options);
  const auto& volumes = context.volumes();
  ASSERT_TRUE(volumes.ok());
  EXPECT_EQ(at(*volumes, "/").verdict, EncryptionVerdict::kEncrypted);
  EXPECT_EQ(at(*volumes, "/plain").verdict, EncryptionVerdict::kNotEncrypted);
  context.volumes();
  ASSERT_EQ(api->asked.size(), 1u);
  EXPECT_EQ(api->asked[0], std::vector<std::string>{"vol-0123456789abcdef0"});
}

TEST(DiskEncryption, MissingSysfsAndLoopsGiveUnknownNotHangs) {
  testing::TempDir root;
  FakeSys sys(root);
  sys.dm("dm-0", "a", "LVM-x", {"dm-1"});
  sys.dm("dm-1", "b", "LVM-y", {"dm-0"});  // a loop no kernel would make
  root.write("proc/mounts", "/dev/dm-0 / ext4 rw 0 0\n/dev/sdz1 /gone ext4 rw 0 0\n");
  auto scan = scanDiskEncryption(HostRoot(root.path()));
  ASSERT_TRUE(scan.ok());
  ASSERT_EQ(scan->size(), 2u);
  EXPECT_EQ(at(*scan, "/").chain.size(), 2u);
  EXPECT_EQ(at(*scan, "/").verdict, EncryptionVerdict::kNotEncrypted);
  EXPECT_EQ(at(*scan, "/gone").verdict, EncryptionVerdict::kUnknown);
  EXPECT_EQ(at(*scan, "/gone").reason, "no block device found in /sys for /dev/sdz1");
  testing::TempDir empty;
  EXPECT_FALSE(scanDiskEncryption(HostRoot(empty.path())).ok());
}

TEST(DiskEncryption, LiveHostDoesNotFail) {
  auto scan = scanDiskEncryption(HostRoot("/"));
  ASSERT_TRUE(scan.ok()) << scan.error().message();
  for (const auto& v : *scan) EXPECT_FALSE(v.reason.empty()) << v.device;
}

}  // namespace
}  // namespace demarc::posture

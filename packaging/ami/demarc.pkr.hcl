# Bakes an AMI with demarc installed, configured and enabled, and refuses to
# publish it when the image fails posture checks at or above a severity.
#
#   packer build -var evidence_bucket=my-evidence -var region=eu-west-1 \
#     -var package=../../build/release/demarc_0.1.0_amd64.deb packaging/ami/demarc.pkr.hcl
#
# Debian 12 by default (the .deb); for Amazon Linux 2023 set source_ami_owner
# and source_ami_name to AL2023's and package to the .rpm. Graviton: an arm64
# package, an arm64 source image and an arm64 instance_type (t4g.small).

variable "region" {
  type = string
}
variable "evidence_bucket" {
  type = string
}
variable "evidence_prefix" {
  type    = string
  default = "demarc"
}
variable "log_group" {
  type    = string
  default = "/demarc/evidence"
}
variable "package" {
  type        = string
  description = "the demarc .deb (Debian) or .rpm (Amazon Linux 2023) to install"
}
variable "fail_on" {
  type        = string
  default     = "high"
  description = "the bake fails when a rule of this severity or higher fails: info, low, medium, high, critical"
}
variable "instance_type" {
  type    = string
  default = "t3.small"
}
variable "source_ami_owner" {
  type    = string
  default = "136693071363" # Debian
}
variable "source_ami_name" {
  type    = string
  default = "debian-12-amd64-*"
}

source "amazon-ebs" "demarc" {
  region        = var.region
  instance_type = var.instance_type
  ssh_username  = "admin"
  ami_name      = "demarc-{{timestamp}}"
  source_ami_filter {
    owners      = [var.source_ami_owner]
    most_recent = true
    filters = {
      name                = var.source_ami_name
      virtualization-type = "hvm"
      root-device-type    = "ebs"
    }
  }
  # The image requires IMDSv2, with a hop limit of 1 (no containers).
  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
  }
  imds_support = "v2.0"
  encrypt_boot = true
}

build {
  sources = ["source.amazon-ebs.demarc"]

  provisioner "file" {
    source      = var.package
    destination = "/tmp/demarc-package"
  }

  provisioner "shell" {
    inline = [
      "set -e",
      "if command -v apt-get >/dev/null; then sudo apt-get update -qq && sudo apt-get install -y -qq /tmp/demarc-package; else sudo dnf install -y /tmp/demarc-package; fi",
      # The fleet's settings: S3 and CloudWatch Logs sinks in this region.
      "sudo tee /etc/demarc/demarc.yaml >/dev/null <<'YAML'\nsinks:\n  s3:\n    enabled: true\n    bucket: ${var.evidence_bucket}\n    prefix: ${var.evidence_prefix}\n  cloudwatch:\n    enabled: true\n    log_group: ${var.log_group}\n    retention_days: 365\naws:\n  region: ${var.region}\nYAML",
      "sudo demarc config check /etc/demarc/demarc.yaml",
      "sudo systemctl enable demarc.service",
      # The builder's evidence is not the image's: each instance starts its
      # own chain with its own key.
      "sudo rm -rf /var/lib/demarc/*",
    ]
  }

  # Pre-publish: the image's root volume (the builder's, which becomes the
  # AMI) is scanned; a failing rule at or above fail_on stops the bake
  # before the AMI is registered.
  provisioner "shell" {
    inline = ["sudo demarc scan --root / --fail-on ${var.fail_on}"]
  }
}

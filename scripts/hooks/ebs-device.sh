#!/bin/sh
# For volume-swap hooks, run on the instance: prints the block device of an attached EBS volume,
# found by its volume id, never by the device name given to AttachVolume alone.
#
#   ebs-device.sh <volumeId> [<device name>]      (the hook's {volumeId} and {device})
#
# On Nitro instances EBS volumes are NVMe devices (/dev/nvme1n1, ...) whose numbering follows the
# order the kernel saw them, not the device name: that name is only a hint. udev names each one
# by its volume id, without the dash: /dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol0123....
# On Xen instances the device name holds, as /dev/xvdf for /dev/sdf. Exits 3 when the volume is not
# there (yet: an attachment EC2 reports may take a moment to appear).
set -eu
VOLUME="${1:?usage: $0 <volumeId> [<device name>]}"
HINT="${2:-}"
BY_ID="/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_$(echo "$VOLUME" | tr -d '-')"
if [ -e "$BY_ID" ]; then
  readlink -f "$BY_ID"
  exit 0
fi
if [ -n "$HINT" ]; then
  for CANDIDATE in "$HINT" "$(echo "$HINT" | sed 's#^/dev/sd#/dev/xvd#')"; do
    if [ -b "$CANDIDATE" ]; then
      echo "$CANDIDATE"
      exit 0
    fi
  done
fi
echo "$VOLUME is not attached here (no $BY_ID${HINT:+, no $HINT})" >&2
exit 3

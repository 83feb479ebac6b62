#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Host-side data check of the end-to-end run.

vfio_pci_mmap_test leaves pattern(i) = 0x5646494f00000000 ^ i, little
endian, at byte 0 of every 4 KiB page i of the BAR. The BAR is the
ivshmem-plain memory backend, a host file: if any page holds anything else,
a guest mapping pointed at the wrong PFN."""
import mmap
import struct
import sys

PAGE = 4096
MAGIC = 0x5646494F00000000

path = sys.argv[1]
with open(path, "rb") as f:
    m = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    pages = len(m) // PAGE
    bad = []
    for i in range(pages):
        (v,) = struct.unpack_from("<Q", m, i * PAGE)
        if v != MAGIC ^ i:
            bad.append((i, v))
    m.close()
if bad:
    print(f"e2e: host check: {len(bad)} of {pages} BAR pages do not hold their pattern", file=sys.stderr)
    for i, v in bad[:10]:
        print(f"    page {i:#x}: {v:#018x}, want {MAGIC ^ i:#018x}", file=sys.stderr)
    sys.exit(1)
print(f"e2e: host check: all {pages} BAR pages hold their pattern")

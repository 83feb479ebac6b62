#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The time per mmap()+munmap() iteration of each kernel's profile
(scripts/bench/profile.sh), by symbol with its callees, in microseconds:
a symbol's share of the samples (with callees) times the measured
mmap()+munmap() time, divided by the share of __mmap64 plus __munmap.
'-': the symbol is under perf report's 0.5% limit. Fails if either
__mmap64 or __munmap is missing from a profile.

Usage: profile-table.py LOG... (the profile-KERNEL.log of run.sh)
"""
import re
import sys

# What population adds to mmap() and munmap(), and their callers.
SYMBOLS = [
    "__mmap64", "__get_unmapped_area", "vfio_device_fops_get_unmapped_area",
    "__mmap_region", "vfio_pci_core_mmap_prepare", "mmap_action_prepare_populate",
    "remap_pfn_range_prepare_populate", "pfnmap_track_ctx_alloc", "memtype_reserve",
    "remap_alloc_tables", "mmap_action_complete", "remap_pfn_range_complete",
    "__munmap", "unmap_region", "zap_huge_pud", "free_pgtables",
    "pfnmap_track_ctx_release", "memtype_free", "flush_tlb_mm_range",
]


def parse(path):
    text = open(path, errors="replace").read()
    m = re.search(r"^BENCH-PROFILE .*mmap_ns=(\d+) munmap_ns=(\d+)", text, re.M)
    if not m:
        sys.exit(f"profile-table: no BENCH-PROFILE line in {path}")
    label = re.search(r"^HOST-INFO name=(?:profile-)?(\S+)", text, re.M).group(1)
    children = text.split("PROFILE-BEGIN children", 1)[1].split("PROFILE-END", 1)[0]
    pct = {}
    for line in children.splitlines():
        f = line.split()
        if len(f) >= 4 and f[0].endswith("%"):
            pct.setdefault(f[3], float(f[0][:-1]))
    for sym in ("__mmap64", "__munmap"):
        if sym not in pct:
            sys.exit(f"profile-table: {sym} is not in the profile of {path}")
    return label, int(m.group(1)) / 1000, int(m.group(2)) / 1000, pct


def main():
    kernels = [parse(p) for p in sys.argv[1:]]
    print("us per mmap()+munmap() of the whole BAR, with callees: a symbol's share")
    print("of the samples x (mmap() + munmap() time) / the share of __mmap64 and")
    print("__munmap; '-': under perf report's 0.5% limit")
    print(f"  {'symbol':38}" + "".join(f"{k[0]:>11}" for k in kernels))
    print(f"  {'mmap() measured':38}" + "".join(f"{k[1]:11.1f}" for k in kernels))
    print(f"  {'munmap() measured':38}" + "".join(f"{k[2]:11.1f}" for k in kernels))
    for sym in SYMBOLS:
        row = []
        for _, mmap_us, munmap_us, pct in kernels:
            base = pct.get("__mmap64", 0) + pct.get("__munmap", 0)
            if sym in pct and base:
                row.append(f"{pct[sym] * (mmap_us + munmap_us) / base:11.1f}")
            else:
                row.append(f"{'-':>11}")
        print(f"  {sym:38}" + "".join(row))


if __name__ == "__main__":
    main()

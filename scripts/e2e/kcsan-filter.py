#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Split the KCSAN reports of a guest console: those in the paths the series
touches stay, the others are dropped (and counted).

Usage: kcsan-filter.py CONSOLE OUT

Writes CONSOLE without the KCSAN reports of other code to OUT, for
splat-check.sh, and prints one line per report: 'ours' or 'other', and the
functions it names. A report is ours if any function or file it names is
vfio's, the mm's mapping code (mmap, mremap, memory, util, vma, huge_memory,
pagewalk) or the series' tests. Exits 0.
"""
import re
import sys

OURS = re.compile(r"vfio|mmap|mremap|remap_pfn|unmap_mapping|zap_|huge_memory|"
                  r"pagewalk|mm/(memory|util|vma|mmap|mremap)\.c|_pud|_pmd|"
                  r"follow_pfnmap|mat_|seqcount")
START = re.compile(r"BUG: KCSAN: ")
END = re.compile(r"^(\[[ 0-9.]+\] )?={20,}$")

with open(sys.argv[1], errors="replace") as f:
    lines = f.read().splitlines()

out, block, ours, other = [], None, 0, 0
for line in lines:
    if block is None and START.search(line):
        # The report's banner line of '=' came just before: take it along.
        block = [out.pop()] if out and END.search(out[-1]) else []
        title = START.split(line)[-1]
        block.append(line)
        continue
    if block is not None:
        block.append(line)
        if END.search(line):
            if OURS.search("\n".join(block)):
                ours += 1
                out.extend(block)
                print(f"kcsan: ours: {title}")
            else:
                other += 1
                print(f"kcsan: other: {title}")
            block = None
        continue
    out.append(line)
if block:
    out.extend(block)

with open(sys.argv[2], "w") as f:
    f.write("\n".join(out) + "\n")
print(f"kcsan: {ours} reports in the series' paths, {other} elsewhere")

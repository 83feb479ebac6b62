#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Count the test cases in a kunit.py JSON report: prints 'PASSED FAILED SKIPPED'.

A case that crashed or never reported counts as failed."""
import json
import sys


def walk(group, counts):
    for case in group.get("test_cases", []):
        status = case.get("status", "")
        if status == "PASS":
            counts[0] += 1
        elif status == "SKIP":
            counts[2] += 1
        else:
            counts[1] += 1
    for sub in group.get("sub_groups", []):
        walk(sub, counts)


counts = [0, 0, 0]
with open(sys.argv[1]) as f:
    walk(json.load(f), counts)
print(*counts)

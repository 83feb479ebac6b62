#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Count the test cases in a kunit.py JSON report: prints 'PASSED FAILED SKIPPED'.

Usage: kunit-count.py REPORT.json [CASE...]

A case that crashed or never reported counts as failed, and so does a
skipped case named on the command line: a case the run must not skip
(kunit/must-run: the PUD cases on a CPU that maps 1 GiB pages)."""
import json
import sys


def walk(group, counts, must_run):
    for case in group.get("test_cases", []):
        status = case.get("status", "")
        if status == "PASS":
            counts[0] += 1
        elif status == "SKIP" and case.get("name") in must_run:
            print(f"kunit-count: {case.get('name')} must not skip", file=sys.stderr)
            counts[1] += 1
        elif status == "SKIP":
            counts[2] += 1
        else:
            counts[1] += 1
    for sub in group.get("sub_groups", []):
        walk(sub, counts, must_run)


counts = [0, 0, 0]
with open(sys.argv[1]) as f:
    walk(json.load(f), counts, set(sys.argv[2:]))
print(*counts)

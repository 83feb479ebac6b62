# SPDX-License-Identifier: GPL-2.0
# The workbench for the vfio mmap_prepare series. Every target sets itself
# up on a fresh machine (Debian packages, the pinned 7.3.4 base).
#
#   make            apply the series, build the x86_64 test kernel, write
#                   the mail-ready series to out/
#   make check      every test (what .ci/run runs)
#
#   make apply      base + series as commits in build/linux
#   make export     commits on top of the base in build/linux -> patches/,
#                   series and the mirrors of the files the series adds
#   make kunit      KUnit only: the runs of kunit/check-runs (RUNS="..." for others)
#   make e2e        end to end in QEMU: vfio-pci on an emulated device,
#                   upstream's vfio selftests and the series' own;
#                   BASE=1 runs the same on the unpatched base
#   make mail       out/ from build/linux (no kernel build)
#   make checkpatch checkpatch.pl --strict on every patch
#   make prefixes   build what each patch touches, patch by patch (W=1), on
#                   x86_64, arm64 and i386; the whole series on ppc64le, riscv64
#   make vma-tests  tools/testing/vma, built and run in userspace
#   make bench      the unpatched base, the series without population and
#                   the whole series in QEMU: mmap, first touch, DMA map of
#                   vfio-pci BARs as real programs map them, and a nested
#                   QEMU assigning one -> out/bench.*
#   make bench-profile  where a populated mmap() and munmap() spend their
#                   time, placement and full kernels under perf in the
#                   guest -> out/profile.txt
#   make clean      remove build/ and out/

SHELL := /bin/bash
S := scripts

.PHONY: all check setup apply export kunit mail checkpatch prefixes \
	roundtrip mail-check stable-check test-kernel e2e vma-tests bench bench-profile bench-check clean

all: setup apply test-kernel mail

check: setup apply roundtrip checkpatch mail-check stable-check prefixes \
	vma-tests kunit e2e
	@echo "make check: all checks passed"

setup:
	@$(S)/setup.sh

apply: setup
	@$(S)/apply.sh

export:
	@$(S)/export.sh

roundtrip: apply
	@$(S)/check-roundtrip.sh

checkpatch: apply
	@$(S)/checkpatch.sh

mail: apply
	@$(S)/mail.sh

mail-check: apply
	@$(S)/check-mail.sh

stable-check: apply
	@$(S)/check-stable.sh

prefixes: apply
	@$(S)/prefixes.sh

vma-tests: apply
	@$(S)/vma-tests.sh

test-kernel: apply
	@$(S)/kunit-build.sh x86_64 x86_64.kunitconfig >/dev/null

kunit: apply
	@$(S)/kunit.sh $(RUNS)

e2e: apply
	@$(S)/e2e.sh

# make bench is not part of make check; its cheap checks are (the program
# and the nested VMM's payload build, the report reads
# scripts/bench/sample/).
check: bench-check

bench: apply
	@$(S)/bench.sh

bench-profile: apply
	@$(S)/bench/profile.sh

bench-check: apply
	@$(S)/bench/check.sh

clean:
	rm -rf build out

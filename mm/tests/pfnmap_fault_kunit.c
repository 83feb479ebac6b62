// SPDX-License-Identifier: GPL-2.0-only
/*
 * KUnit tests for huge PFN leaves as faults install them (a driver's
 * ->huge_fault with vmf_insert_pfn_pmd()/_pud()): the leaf sizes the CPU
 * can map, and what a VMA split through a leaf leaves behind.
 */
#include <kunit/test.h>
#include <linux/mm.h>
#include <linux/mman.h>

#include "../internal.h"
#include "mmap_kunit.h"

/*
 * The kernel agrees with the run about the CPU's PUD leaf support: with
 * what the workbench passes as mmap_kunit.pud_leaves=, from what it booted
 * (e.g. clearcpuid=pdpe1gb on x86), or on x86 without it with the CPU's
 * 1 GiB page feature. Skipped elsewhere when the run does not say.
 */
static void pud_leaf_support_matches_run_param(struct kunit *test)
{
	int run = mat_run_pud_leaves();

#ifdef CONFIG_X86
	if (run < 0)
		run = boot_cpu_has(X86_FEATURE_GBPAGES);
#endif
	if (run < 0)
		kunit_skip(test, "the run does not say (mmap_kunit.pud_leaves=)");
	KUNIT_EXPECT_EQ(test, run,
			IS_ENABLED(CONFIG_ARCH_SUPPORTS_PUD_PFNMAP) &&
			has_transparent_pud_hugepage());
}

/*
 * A fault in a block-aligned PFN mapping gets the largest leaf the CPU can
 * map: a PUD leaf only where the CPU can map one, a PMD leaf otherwise.
 * The expected size is mat_largest_leaf(): the run's pud_leaves=, or the
 * kernel's own view where the run does not say.
 */
static void fault_maps_largest_leaf_cpu_supports(struct kunit *test)
{
	struct mat_file *mf = mat_file_create(test);
	unsigned long addr, pfn = 0, size;

	mf->lazy = true;
	addr = mat_mmap_congruent(mf, 0, mat_block());
	KUNIT_ASSERT_FALSE(test, IS_ERR_VALUE(addr));
	KUNIT_ASSERT_EQ(test, 0, mat_fault_in(addr));

	mmap_read_lock(current->mm);
	size = __mat_leaf_size(addr, &pfn);
	mmap_read_unlock(current->mm);
	KUNIT_EXPECT_EQ(test, size, min(mat_largest_leaf(), mat_block()));
	KUNIT_EXPECT_EQ(test, pfn, mf->pfn);
}

/*
 * munmap() of a page inside a huge leaf splits the VMA there. The leaf the
 * split cuts through is cleared, all of it, whatever its level, and the
 * fault handler maps what is left of it again, with leaves that fit the
 * smaller VMAs. With PTEs only, the page before the hole stays mapped.
 * Leaf sizes as mat_largest_leaf() says.
 */
static void fault_leaf_cleared_by_vma_split(struct kunit *test)
{
	const unsigned long block = mat_block();
	const unsigned long leaf = min(mat_largest_leaf(), block);
	const unsigned long hole = PMD_SIZE / 2, last = block - PAGE_SIZE;
	struct mat_file *mf = mat_file_create(test);
	unsigned long addr, pfn = 0, size;

	mf->lazy = true;
	addr = mat_mmap_congruent(mf, 0, block);
	KUNIT_ASSERT_FALSE(test, IS_ERR_VALUE(addr));
	KUNIT_ASSERT_EQ(test, 0, mat_fault_in(addr));
	KUNIT_ASSERT_EQ(test, 0, vm_munmap(addr + hole, PAGE_SIZE));

	if (leaf > PAGE_SIZE) {
		expect_range_unmapped(test, addr, hole);
		expect_range_unmapped(test, addr + hole + PAGE_SIZE,
				      leaf - hole - PAGE_SIZE);
	} else {
		expect_range_maps_pfn(test, addr, PAGE_SIZE, mf->pfn, mf->prot);
	}

	KUNIT_ASSERT_EQ(test, 0, mat_fault_in(addr));
	KUNIT_ASSERT_EQ(test, 0, mat_fault_in(addr + last));
	mmap_read_lock(current->mm);
	/* [0, hole) holds no PMD leaf: a PTE. */
	size = __mat_leaf_size(addr, &pfn);
	KUNIT_EXPECT_EQ(test, size, PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, pfn, mf->pfn);
	/*
	 * The last PMD of the block lies wholly in the second VMA only if the
	 * block is larger than a PMD: then at most a PMD leaf, else a PTE.
	 */
	size = __mat_leaf_size(addr + last, &pfn);
	KUNIT_EXPECT_EQ(test, size,
			block > PMD_SIZE ? min(leaf, PMD_SIZE) : PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, pfn, mf->pfn + (last >> PAGE_SHIFT));
	mmap_read_unlock(current->mm);
}

/*
 * mm_find_pmd() (used to split PMDs, by KSM and khugepaged) must not take
 * a PUD leaf for a PMD table: it finds no PMD there. Needs PUD leaves, as
 * mat_largest_leaf() says.
 */
static void find_pmd_stops_at_pud_leaf(struct kunit *test)
{
	struct mat_file *mf = mat_file_create(test);
	unsigned long addr, pfn = 0;

	if (mat_largest_leaf() < PUD_SIZE)
		kunit_skip(test, "no PUD leaves on this kernel or CPU");
	mf->lazy = true;
	addr = mat_mmap_congruent(mf, 0, PUD_SIZE);
	KUNIT_ASSERT_FALSE(test, IS_ERR_VALUE(addr));
	KUNIT_ASSERT_EQ(test, 0, mat_fault_in(addr));

	mmap_read_lock(current->mm);
	KUNIT_EXPECT_EQ(test, __mat_leaf_size(addr, &pfn), PUD_SIZE);
	KUNIT_EXPECT_NULL(test, mm_find_pmd(current->mm, addr + PMD_SIZE));
	mmap_read_unlock(current->mm);
}

static struct kunit_case pfnmap_fault_test_cases[] = {
	KUNIT_CASE(pud_leaf_support_matches_run_param),
	KUNIT_CASE(fault_maps_largest_leaf_cpu_supports),
	KUNIT_CASE(fault_leaf_cleared_by_vma_split),
	KUNIT_CASE(find_pmd_stops_at_pud_leaf),
	{}
};

static struct kunit_suite pfnmap_fault_test_suite = {
	.name = "pfnmap_fault",
	.test_cases = pfnmap_fault_test_cases,
};

kunit_test_suite(pfnmap_fault_test_suite);

MODULE_DESCRIPTION("KUnit tests for huge PFN leaves installed by faults");
MODULE_LICENSE("GPL");

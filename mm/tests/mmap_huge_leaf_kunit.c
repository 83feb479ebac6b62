// SPDX-License-Identifier: GPL-2.0-only
/*
 * KUnit tests for PMD and PUD leaves in mmap_prepare PFN remap actions
 * (mmap_action_allow_huge_leaves()): which leaves a remap installs for
 * each alignment of VA, PFN and length, with which PFN and protection,
 * when it must fall back to PTEs, and what a split of a leaf leaves.
 *
 * Expected leaf sizes come from mat_largest_leaf(): the run's
 * mmap_kunit.pud_leaves=, or the kernel's own view where it does not say.
 */
#include <kunit/test.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/sched/mm.h>

#include "mmap_kunit.h"

/* Map [@offset, @offset + @len) huge, VA and PFN congruent; check leaves. */
static void expect_huge_remap(struct kunit *test, unsigned long offset,
			      unsigned long len, const struct mat_seg *segs,
			      int nr_segs)
{
	struct mat_file *mf = mat_file_create(test);
	unsigned long addr;

	mf->huge = true;
	addr = mat_mmap_congruent(mf, offset, len);
	KUNIT_ASSERT_FALSE(test, IS_ERR_VALUE(addr));
	expect_leaves(test, mf, addr, segs, nr_segs);
}

/* Two PUDs, aligned in VA and PFN, are mapped by 2 PUD leaves. */
static void huge_remap_pud_aligned(struct kunit *test)
{
	const struct mat_seg segs[] = { { 0, 2 * PUD_SIZE, PUD_SIZE } };
	struct mat_file *mf = mat_file_create(test);
	unsigned long addr;

	mat_require_pud_layout(test);
	mf->huge = true;
	addr = mat_mmap_congruent(mf, 0, 2 * PUD_SIZE);
	KUNIT_ASSERT_FALSE(test, IS_ERR_VALUE(addr));
	KUNIT_EXPECT_EQ(test, expect_leaves(test, mf, addr, segs, 1),
			2 * PUD_SIZE / min(mat_largest_leaf(), PUD_SIZE));
}

/* ...and need no PTE table, nor a PMD table with PUD leaves. */
static void huge_remap_pud_aligned_page_tables(struct kunit *test)
{
	const unsigned long largest = mat_largest_leaf();
	struct mat_file *mf = mat_file_create(test);
	unsigned long addr, before, bound;

	mat_require_pud_layout(test);
	if (largest == PAGE_SIZE)
		kunit_skip(test, "no huge PFN leaves on this kernel");
	KUNIT_ASSERT_EQ(test, 0, kunit_attach_mm());
	mf->huge = true;
	before = mm_pgtables_bytes(current->mm);
	addr = mat_mmap_congruent(mf, 0, 2 * PUD_SIZE);
	KUNIT_ASSERT_FALSE(test, IS_ERR_VALUE(addr));
	/* At most a P4D and a PUD table, plus a PMD table per PUD for PMDs. */
	bound = 2 * PAGE_SIZE;
	if (largest < PUD_SIZE)
		bound += 2 * PAGE_SIZE;
	KUNIT_EXPECT_LE(test, mm_pgtables_bytes(current->mm) - before, bound);
}

/* PMD-aligned, not PUD-aligned: PMD leaves. */
static void huge_remap_pmd_aligned(struct kunit *test)
{
	const struct mat_seg segs[] = { { 0, 4 * PMD_SIZE, PMD_SIZE } };

	expect_huge_remap(test, PMD_SIZE, 4 * PMD_SIZE, segs, ARRAY_SIZE(segs));
}

/* PTEs up to the first PMD boundary, then PMD leaves. */
static void huge_remap_unaligned_head(struct kunit *test)
{
	const unsigned long head = 3 * PAGE_SIZE;
	const struct mat_seg segs[] = {
		{ 0, head, PAGE_SIZE },
		{ head, 2 * PMD_SIZE, PMD_SIZE },
	};

	expect_huge_remap(test, PMD_SIZE - head, head + 2 * PMD_SIZE, segs,
			  ARRAY_SIZE(segs));
}

/* PMD leaves, then PTEs for what is left. */
static void huge_remap_unaligned_tail(struct kunit *test)
{
	const unsigned long tail = 5 * PAGE_SIZE;
	const struct mat_seg segs[] = {
		{ 0, 2 * PMD_SIZE, PMD_SIZE },
		{ 2 * PMD_SIZE, tail, PAGE_SIZE },
	};

	expect_huge_remap(test, PMD_SIZE, 2 * PMD_SIZE + tail, segs,
			  ARRAY_SIZE(segs));
}

/* PTEs up to the first PUD boundary, then a PUD leaf and a PMD leaf. */
static void huge_remap_unaligned_head_pud(struct kunit *test)
{
	const unsigned long head = 3 * PAGE_SIZE;
	const struct mat_seg segs[] = {
		{ 0, head, PAGE_SIZE },
		{ head, PUD_SIZE, PUD_SIZE },
		{ head + PUD_SIZE, PMD_SIZE, PMD_SIZE },
	};

	mat_require_pud_layout(test);
	expect_huge_remap(test, PUD_SIZE - head, head + PUD_SIZE + PMD_SIZE,
			  segs, ARRAY_SIZE(segs));
}

/* A PUD leaf, a PMD leaf, then PTEs for what is left. */
static void huge_remap_unaligned_tail_pud(struct kunit *test)
{
	const unsigned long tail = 5 * PAGE_SIZE;
	const struct mat_seg segs[] = {
		{ 0, PUD_SIZE, PUD_SIZE },
		{ PUD_SIZE, PMD_SIZE, PMD_SIZE },
		{ PUD_SIZE + PMD_SIZE, tail, PAGE_SIZE },
	};

	mat_require_pud_layout(test);
	expect_huge_remap(test, 0, PUD_SIZE + PMD_SIZE + tail, segs,
			  ARRAY_SIZE(segs));
}

/* PTEs at both ends of a PMD leaf. */
static void huge_remap_unaligned_both(struct kunit *test)
{
	const struct mat_seg segs[] = {
		{ 0, PAGE_SIZE, PAGE_SIZE },
		{ PAGE_SIZE, PMD_SIZE, PMD_SIZE },
		{ PAGE_SIZE + PMD_SIZE, PAGE_SIZE, PAGE_SIZE },
	};

	expect_huge_remap(test, PMD_SIZE - PAGE_SIZE, PMD_SIZE + 2 * PAGE_SIZE,
			  segs, ARRAY_SIZE(segs));
}

/* Smaller than a PMD, even if aligned: PTEs. */
static void huge_remap_smaller_than_pmd(struct kunit *test)
{
	const struct mat_seg segs[] = { { 0, PMD_SIZE / 2, PAGE_SIZE } };

	expect_huge_remap(test, 0, PMD_SIZE / 2, segs, ARRAY_SIZE(segs));
}

/* A VA not congruent to the PFN never gets a huge leaf. */
static void huge_remap_incongruent_va_gets_ptes(struct kunit *test)
{
	const struct mat_seg segs[] = { { 0, 2 * PMD_SIZE, PAGE_SIZE } };
	struct mat_file *mf = mat_file_create(test);
	unsigned long addr;

	mf->huge = true;
	/* The VA is a page past a block boundary, the PFN block-aligned. */
	addr = mat_mmap_at(mf, PAGE_SIZE, 2 * PMD_SIZE, 0);
	KUNIT_ASSERT_FALSE(test, IS_ERR_VALUE(addr));
	expect_leaves(test, mf, addr, segs, ARRAY_SIZE(segs));
}

/* Without asking for huge leaves, a remap maps PTEs, as it always did. */
static void remap_without_opt_in_gets_ptes(struct kunit *test)
{
	const struct mat_seg segs[] = { { 0, 2 * PMD_SIZE, PAGE_SIZE } };
	struct mat_file *mf = mat_file_create(test);
	unsigned long addr;

	addr = mat_mmap_congruent(mf, 0, 2 * PMD_SIZE);
	KUNIT_ASSERT_FALSE(test, IS_ERR_VALUE(addr));
	expect_leaves(test, mf, addr, segs, ARRAY_SIZE(segs));
}

/*
 * No vm_ops->fault to refill a split leaf with: the action is refused,
 * whether or not its warning (once per boot) shows.
 */
static void huge_remap_without_fault_handler_refused(struct kunit *test)
{
	struct mat_file *mf = mat_file_create(test);
	unsigned long addr = 0;

	mf->huge = true;
	mf->vm_ops = &mat_vm_ops_no_fault;
	kunit_warning_suppress(test) {
		addr = mat_mmap_congruent(mf, 0, 2 * PMD_SIZE);
	}
	KUNIT_EXPECT_EQ(test, (long)addr, (long)-EINVAL);
}

/* No vm_ops->huge_fault: a fault could not map huge, so the action won't. */
static void huge_remap_without_huge_fault_gets_ptes(struct kunit *test)
{
	const struct mat_seg segs[] = { { 0, 2 * PMD_SIZE, PAGE_SIZE } };
	struct mat_file *mf = mat_file_create(test);
	unsigned long addr;

	mf->huge = true;
	mf->vm_ops = &mat_vm_ops_no_huge_fault;
	addr = mat_mmap_congruent(mf, 0, 2 * PMD_SIZE);
	KUNIT_ASSERT_FALSE(test, IS_ERR_VALUE(addr));
	expect_leaves(test, mf, addr, segs, ARRAY_SIZE(segs));
}

/* THP disabled for the process (prctl(PR_SET_THP_DISABLE)): PTEs. */
static void huge_remap_thp_disabled_gets_ptes(struct kunit *test)
{
	const struct mat_seg segs[] = { { 0, 2 * PMD_SIZE, PAGE_SIZE } };
	struct mat_file *mf = mat_file_create(test);
	unsigned long addr;

	KUNIT_ASSERT_EQ(test, 0, kunit_attach_mm());
	mm_flags_set(MMF_DISABLE_THP_COMPLETELY, current->mm);
	mf->huge = true;
	addr = mat_mmap_congruent(mf, 0, 2 * PMD_SIZE);
	KUNIT_ASSERT_FALSE(test, IS_ERR_VALUE(addr));
	expect_leaves(test, mf, addr, segs, ARRAY_SIZE(segs));
}

/*
 * PROT_NONE: PTEs, each of whose PFNs remap_pte_range() checks with
 * pfn_modify_allowed(), rather than leaves, whose PFNs nothing would.
 */
static void huge_remap_prot_none_gets_ptes(struct kunit *test)
{
	const unsigned long len = 2 * PMD_SIZE;
	struct mat_file *mf = mat_file_create(test);
	unsigned long resv, addr;

	KUNIT_ASSERT_EQ(test, 0, kunit_attach_mm());
	mf->huge = true;
	resv = vm_mmap(NULL, 0, len + mat_block(), PROT_NONE,
		       MAP_PRIVATE | MAP_ANONYMOUS, 0);
	KUNIT_ASSERT_FALSE(test, IS_ERR_VALUE(resv));
	addr = ALIGN(resv, mat_block());
	KUNIT_ASSERT_EQ(test, vm_mmap(mf->file, addr, len, PROT_NONE,
				      MAP_SHARED | MAP_FIXED, 0), addr);
	KUNIT_EXPECT_EQ(test, mat_count_entries(addr, len), len >> PAGE_SHIFT);
}

/* A copy-on-write mapping: PTEs, as PFN leaves are not allowed there. */
static void huge_remap_cow_gets_ptes(struct kunit *test)
{
	const unsigned long len = 2 * PMD_SIZE;
	struct mat_file *mf = mat_file_create(test);
	unsigned long resv, addr;

	KUNIT_ASSERT_EQ(test, 0, kunit_attach_mm());
	mf->huge = true;
	resv = vm_mmap(NULL, 0, len + mat_block(), PROT_NONE,
		       MAP_PRIVATE | MAP_ANONYMOUS, 0);
	KUNIT_ASSERT_FALSE(test, IS_ERR_VALUE(resv));
	addr = ALIGN(resv, mat_block());
	KUNIT_ASSERT_EQ(test, vm_mmap(mf->file, addr, len, PROT_READ | PROT_WRITE,
				      MAP_PRIVATE | MAP_FIXED, 0), addr);
	KUNIT_EXPECT_EQ(test, mat_count_entries(addr, len), len >> PAGE_SHIFT);
}

/*
 * munmap() of a page in the middle of the first leaf of a huge mapping of
 * @len bytes clears all of that leaf, and only it, as mmap_prepare.rst
 * documents; a fault maps the rest of it again. That leaf is the largest
 * the CPU can map that fits twice in @len: a PMD leaf for 2 PMDs, a PUD
 * leaf for 2 PUDs. With PTEs only, nothing else changes. (mprotect() of
 * part of a leaf splits it the same way; the vfio selftests do that
 * through the syscall.)
 */
static void expect_partial_munmap_clears_leaf(struct kunit *test,
					      unsigned long len)
{
	const unsigned long leaf = min(mat_largest_leaf(), len / 2);
	const unsigned long cut = PMD_SIZE / 2;
	const struct mat_seg rest[] = { { leaf, len - leaf, leaf } };
	const struct mat_seg first[] = { { 0, PAGE_SIZE, PAGE_SIZE } };
	struct mat_file *mf = mat_file_create(test);
	unsigned long addr;

	mf->huge = true;
	addr = mat_mmap_congruent(mf, 0, len);
	KUNIT_ASSERT_FALSE(test, IS_ERR_VALUE(addr));
	KUNIT_ASSERT_EQ(test, 0, vm_munmap(addr + cut, PAGE_SIZE));

	if (leaf >= PMD_SIZE) {
		expect_range_unmapped(test, addr, cut);
		expect_range_unmapped(test, addr + cut + PAGE_SIZE,
				      leaf - cut - PAGE_SIZE);
		expect_leaves(test, mf, addr, rest, ARRAY_SIZE(rest));
	} else {
		expect_range_maps_pfn(test, addr, cut, mf->pfn, mf->prot);
	}

	KUNIT_ASSERT_EQ(test, 0, mat_fault_in(addr));
	expect_leaves(test, mf, addr, first, ARRAY_SIZE(first));
}

/* munmap() of part of a PMD leaf. */
static void huge_remap_partial_munmap(struct kunit *test)
{
	expect_partial_munmap_clears_leaf(test, 2 * PMD_SIZE);
}

/* munmap() of part of a PUD leaf (a PMD leaf without PUD leaves). */
static void huge_remap_partial_munmap_pud(struct kunit *test)
{
	mat_require_pud_layout(test);
	expect_partial_munmap_clears_leaf(test, 2 * PUD_SIZE);
}

static struct kunit_case mmap_huge_leaf_test_cases[] = {
	KUNIT_CASE(huge_remap_pud_aligned),
	KUNIT_CASE(huge_remap_pud_aligned_page_tables),
	KUNIT_CASE(huge_remap_pmd_aligned),
	KUNIT_CASE(huge_remap_unaligned_head),
	KUNIT_CASE(huge_remap_unaligned_tail),
	KUNIT_CASE(huge_remap_unaligned_head_pud),
	KUNIT_CASE(huge_remap_unaligned_tail_pud),
	KUNIT_CASE(huge_remap_unaligned_both),
	KUNIT_CASE(huge_remap_smaller_than_pmd),
	KUNIT_CASE(huge_remap_incongruent_va_gets_ptes),
	KUNIT_CASE(remap_without_opt_in_gets_ptes),
	KUNIT_CASE(huge_remap_without_fault_handler_refused),
	KUNIT_CASE(huge_remap_without_huge_fault_gets_ptes),
	KUNIT_CASE(huge_remap_thp_disabled_gets_ptes),
	KUNIT_CASE(huge_remap_prot_none_gets_ptes),
	KUNIT_CASE(huge_remap_cow_gets_ptes),
	KUNIT_CASE(huge_remap_partial_munmap),
	KUNIT_CASE(huge_remap_partial_munmap_pud),
	{}
};

static struct kunit_suite mmap_huge_leaf_test_suite = {
	.name = "mmap_huge_leaves",
	.test_cases = mmap_huge_leaf_test_cases,
};

kunit_test_suite(mmap_huge_leaf_test_suite);

MODULE_DESCRIPTION("KUnit tests for huge leaves in mmap_prepare PFN remaps");
MODULE_LICENSE("GPL");

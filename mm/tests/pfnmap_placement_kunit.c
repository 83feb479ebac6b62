// SPDX-License-Identifier: GPL-2.0-only
/*
 * KUnit tests for the placement of PFN mappings for huge leaves:
 * pfnmap_leaf_align() picks the leaf size from the physical range,
 * pfnmap_get_unmapped_area() finds a VA congruent to the physical address
 * modulo that size, and falls back to any VA rather than fail.
 *
 * Expected alignments come from mat_largest_leaf(): the run's
 * mmap_kunit.pud_leaves=, or the kernel's own view where it does not say.
 */
#include <kunit/test.h>
#include <linux/log2.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/sched/mm.h>

#include "../internal.h"
#include "mmap_kunit.h"

/* What pfnmap_leaf_align() must say for a range that holds @natural. */
static unsigned long mat_expected_align(unsigned long natural)
{
	unsigned long largest = mat_largest_leaf();

	if (largest == PAGE_SIZE || natural == PAGE_SIZE)
		return 0;
	return min(natural, largest);
}

/* A block-aligned physical address that nothing maps. */
static phys_addr_t mat_phys(struct kunit *test)
{
	return PFN_PHYS(mat_synthetic_pfn());
}

/* A PUD-aligned physical range of two PUDs holds PUD leaves. */
static void align_pud_for_pud_aligned_range(struct kunit *test)
{
	mat_require_pud_layout(test);
	KUNIT_EXPECT_EQ(test, pfnmap_leaf_align(mat_phys(test), 2 * PUD_SIZE),
			mat_expected_align(PUD_SIZE));
}

/* Any length holding a whole aligned PUD block, not only powers of two. */
static void align_pud_for_odd_length(struct kunit *test)
{
	mat_require_pud_layout(test);
	KUNIT_EXPECT_EQ(test, pfnmap_leaf_align(mat_phys(test), PUD_SIZE + 3 * PMD_SIZE),
			mat_expected_align(PUD_SIZE));
	KUNIT_EXPECT_EQ(test, pfnmap_leaf_align(mat_phys(test) - PMD_SIZE,
						PUD_SIZE + PMD_SIZE),
			mat_expected_align(PUD_SIZE));
}

/* Never align for a PUD leaf a mapping that cannot hold one. */
static void align_pmd_for_small_mapping(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, pfnmap_leaf_align(mat_phys(test), 2 * PMD_SIZE),
			mat_expected_align(PMD_SIZE));
	KUNIT_EXPECT_EQ(test, pfnmap_leaf_align(mat_phys(test), PUD_SIZE - PAGE_SIZE),
			mat_expected_align(PMD_SIZE));
	/* As long as a PUD, but not holding an aligned PUD block. */
	KUNIT_EXPECT_EQ(test, pfnmap_leaf_align(mat_phys(test) + PAGE_SIZE, PUD_SIZE),
			mat_expected_align(PMD_SIZE));
}

/* Mapping around an MSI-X table: starts a page into a PMD block. */
static void align_pmd_for_odd_offset(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, pfnmap_leaf_align(mat_phys(test) + PMD_SIZE + PAGE_SIZE,
						2 * PMD_SIZE),
			mat_expected_align(PMD_SIZE));
}

/* Too small, or not holding an aligned PMD block: no alignment at all. */
static void align_none_for_tiny_mapping(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, pfnmap_leaf_align(mat_phys(test), PMD_SIZE / 2), 0);
	KUNIT_EXPECT_EQ(test, pfnmap_leaf_align(mat_phys(test) + PAGE_SIZE, PMD_SIZE), 0);
	KUNIT_EXPECT_EQ(test, pfnmap_leaf_align(mat_phys(test), PMD_SIZE),
			mat_expected_align(PMD_SIZE));
}

/* The placing file: its mapping at page offset N maps PFN pfn + N. */
static unsigned long mat_get_unmapped_area(struct file *file,
					   unsigned long addr,
					   unsigned long len,
					   unsigned long pgoff,
					   unsigned long flags)
{
	struct mat_file *mf = file->private_data;

	return pfnmap_get_unmapped_area(file, addr, len, pgoff, flags,
					PFN_PHYS(mf->pfn + pgoff));
}

static const struct file_operations mat_placed_fops = {
	.owner			= THIS_MODULE,
	.mmap_prepare		= mat_mmap_prepare,
	.get_unmapped_area	= mat_get_unmapped_area,
};

static struct mat_file *mat_placed_file(struct kunit *test)
{
	struct mat_file *mf = mat_file_create_fops(test, &mat_placed_fops);

	/* Placement only: faults would fill it. */
	mf->lazy = true;
	KUNIT_ASSERT_EQ(test, 0, kunit_attach_mm());
	return mf;
}

static unsigned long mat_place(struct mat_file *mf, unsigned long addr,
			       unsigned long len, unsigned long offset,
			       unsigned long flags)
{
	return vm_mmap(mf->file, addr, len, PROT_READ | PROT_WRITE,
		       MAP_SHARED | flags, offset);
}

/* Reserve @len bytes of address space, PROT_NONE. */
static unsigned long mat_reserve(struct kunit *test, unsigned long len)
{
	unsigned long resv = vm_mmap(NULL, 0, len, PROT_NONE,
				     MAP_PRIVATE | MAP_ANONYMOUS, 0);

	KUNIT_ASSERT_FALSE(test, IS_ERR_VALUE(resv));
	return resv;
}

/* Expect @addr to be congruent to the PFN it maps modulo @align. */
static void expect_congruent(struct kunit *test, struct mat_file *mf,
			     unsigned long addr, unsigned long offset,
			     unsigned long align)
{
	const unsigned long phys = PFN_PHYS(mf->pfn) + offset;

	KUNIT_ASSERT_FALSE(test, IS_ERR_VALUE(addr));
	KUNIT_EXPECT_EQ_MSG(test, addr & (align - 1), phys & (align - 1),
			    "va %#lx, pa %#lx, alignment %#lx", addr, phys, align);
}

/* A plain mmap(NULL) of a large range comes back aligned for PUD leaves. */
static void place_large_mapping_for_pud(struct kunit *test)
{
	struct mat_file *mf = mat_placed_file(test);
	const unsigned long align = mat_expected_align(PUD_SIZE);

	mat_require_pud_layout(test);
	if (!align)
		kunit_skip(test, "no huge PFN leaves on this kernel");
	expect_congruent(test, mf, mat_place(mf, 0, 2 * PUD_SIZE, 0, 0), 0, align);
}

/* The MSI-X hole case: the VA is a page past a PMD boundary, as the PA is. */
static void place_odd_offset_for_pmd(struct kunit *test)
{
	struct mat_file *mf = mat_placed_file(test);
	const unsigned long align = mat_expected_align(PMD_SIZE);

	if (!align)
		kunit_skip(test, "no huge PFN leaves on this kernel");
	expect_congruent(test, mf, mat_place(mf, 0, 4 * PMD_SIZE, PAGE_SIZE, 0),
			 PAGE_SIZE, align);
}

/* Regression guard (also true without placement): MAP_FIXED is obeyed. */
static void place_regression_map_fixed_obeyed(struct kunit *test)
{
	struct mat_file *mf = mat_placed_file(test);
	unsigned long resv = mat_reserve(test, 4 * PMD_SIZE);
	unsigned long want = ALIGN(resv, PMD_SIZE) + PAGE_SIZE;

	KUNIT_EXPECT_EQ(test, mat_place(mf, want, 2 * PMD_SIZE, 0, MAP_FIXED), want);
}

/* Regression guard (also true without placement): a free hint is taken. */
static void place_regression_free_hint_taken(struct kunit *test)
{
	struct mat_file *mf = mat_placed_file(test);
	unsigned long resv = mat_reserve(test, 4 * PMD_SIZE);
	unsigned long hint = ALIGN(resv, PMD_SIZE);

	KUNIT_ASSERT_EQ(test, 0, vm_munmap(resv, 4 * PMD_SIZE));
	KUNIT_EXPECT_EQ(test, mat_place(mf, hint, 2 * PMD_SIZE, 0, 0), hint);
}

/*
 * A free hint is taken as it is even where it is not congruent and has no
 * room for the padding an aligned search needs: placement does not
 * override what the caller asked for and the kernel can give.
 */
static void place_unsuitable_tight_hint_taken(struct kunit *test)
{
	const unsigned long len = 2 * PMD_SIZE;
	struct mat_file *mf = mat_placed_file(test);
	unsigned long resv = mat_reserve(test, len + 4 * PMD_SIZE);
	/* The PA is PMD-aligned, the hint a page past a PMD boundary. */
	unsigned long hint = ALIGN(resv, PMD_SIZE) + PMD_SIZE + PAGE_SIZE;

	/* A hole of exactly @len at the hint, the reservation around it. */
	KUNIT_ASSERT_EQ(test, 0, vm_munmap(hint, len));
	KUNIT_EXPECT_EQ(test, mat_place(mf, hint, len, 0, 0), hint);
}

/*
 * Take all free address space of the test mm with PROT_NONE reservations.
 * Returns the start of the first, largest one.
 */
static unsigned long mat_fill_address_space(struct kunit *test)
{
	unsigned long size, addr, first = 0;

	for (size = rounddown_pow_of_two(TASK_SIZE); size >= PAGE_SIZE;
	     size >>= 1) {
		for (;;) {
			addr = vm_mmap(NULL, 0, size, PROT_NONE,
				       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, 0);
			if (IS_ERR_VALUE(addr))
				break;
			if (!first && size >= 2 * mat_block())
				first = addr;
		}
	}
	KUNIT_ASSERT_NE(test, first, 0);
	return first;
}

/*
 * The only free hole cannot hold an aligned mapping: it is taken anyway,
 * unaligned, rather than failing.
 */
static void place_falls_back_without_aligned_hole(struct kunit *test)
{
	const unsigned long len = 2 * PMD_SIZE;
	struct mat_file *mf = mat_placed_file(test);
	unsigned long hole;

	if (!mat_expected_align(PMD_SIZE))
		kunit_skip(test, "no huge PFN leaves on this kernel");
	hole = ALIGN(mat_fill_address_space(test), mat_block()) + PAGE_SIZE;
	KUNIT_ASSERT_EQ(test, 0, vm_munmap(hole, len));
	/* PA PMD-aligned, the hole a page past a PMD boundary, just as long. */
	KUNIT_EXPECT_EQ(test, mat_place(mf, 0, len, 0, 0), hole);
}

/* No hole at all: the search's error comes back, not a bogus address. */
static void place_reports_no_space(struct kunit *test)
{
	struct mat_file *mf = mat_placed_file(test);

	mat_fill_address_space(test);
	KUNIT_EXPECT_EQ(test, (long)mat_place(mf, 0, 2 * PMD_SIZE, 0, 0), -ENOMEM);
}

/*
 * A process that disabled THP gets no huge leaves, so no alignment either:
 * the placed mapping goes where the same mmap() of a file without
 * placement goes.
 */
static void place_nothing_for_thp_disabled_process(struct kunit *test)
{
	const unsigned long len = 2 * PMD_SIZE;
	struct mat_file *mf = mat_placed_file(test);
	struct mat_file *plain = mat_file_create(test);
	unsigned long placed, unplaced;

	if (!mat_expected_align(PMD_SIZE))
		kunit_skip(test, "no huge PFN leaves on this kernel");
	mm_flags_set(MMF_DISABLE_THP_COMPLETELY, current->mm);
	placed = mat_place(mf, 0, len, 0, 0);
	KUNIT_ASSERT_FALSE(test, IS_ERR_VALUE(placed));
	KUNIT_ASSERT_EQ(test, 0, vm_munmap(placed, len));
	plain->lazy = true;
	unplaced = vm_mmap(plain->file, 0, len, PROT_READ | PROT_WRITE,
			   MAP_SHARED, 0);
	KUNIT_EXPECT_EQ(test, placed, unplaced);
}

static struct kunit_case pfnmap_placement_test_cases[] = {
	KUNIT_CASE(align_pud_for_pud_aligned_range),
	KUNIT_CASE(align_pud_for_odd_length),
	KUNIT_CASE(align_pmd_for_small_mapping),
	KUNIT_CASE(align_pmd_for_odd_offset),
	KUNIT_CASE(align_none_for_tiny_mapping),
	KUNIT_CASE(place_large_mapping_for_pud),
	KUNIT_CASE(place_odd_offset_for_pmd),
	KUNIT_CASE(place_regression_map_fixed_obeyed),
	KUNIT_CASE(place_regression_free_hint_taken),
	KUNIT_CASE(place_unsuitable_tight_hint_taken),
	KUNIT_CASE(place_falls_back_without_aligned_hole),
	KUNIT_CASE(place_reports_no_space),
	KUNIT_CASE(place_nothing_for_thp_disabled_process),
	{}
};

static struct kunit_suite pfnmap_placement_test_suite = {
	.name = "pfnmap_placement",
	.test_cases = pfnmap_placement_test_cases,
};

kunit_test_suite(pfnmap_placement_test_suite);

MODULE_DESCRIPTION("KUnit tests for the placement of PFN mappings");
MODULE_LICENSE("GPL");

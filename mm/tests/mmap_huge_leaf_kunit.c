// SPDX-License-Identifier: GPL-2.0-only
/*
 * KUnit tests for PMD and PUD leaves in mmap_prepare PFN remap actions
 * (mmap_action_allow_huge_leaves()): which leaves a remap installs for
 * each alignment of VA, PFN and length, with which PFN and protection,
 * when it must fall back to PTEs, and what a split of a leaf leaves.
 */
#include <kunit/test.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/sched/mm.h>

#include "mmap_kunit_helpers.h"

/* A part of a laid out mapping, and the leaf its alignment allows. */
struct mat_layout_seg {
	struct mat_size offset;
	struct mat_size len;
	int leaf;		/* 0: PTE, 1: PMD, 2: PUD */
};

/* A mapping laid out at @offset from a block boundary, VA and PFN congruent. */
struct mat_layout {
	const char *what;
	struct mat_size offset;
	struct mat_size len;
	struct mat_layout_seg segs[3];
	int nr_segs;
	bool pud_layout;
};

#define PUDS(n)		{ .puds = (n) }
#define PMDS(n)		{ .pmds = (n) }
#define PAGES(n)	{ .pages = (n) }

static const struct mat_layout mat_layouts[] = {
	{ "two aligned PUDs", PUDS(0), PUDS(2),
	  { { PUDS(0), PUDS(2), 2 } }, 1, true },
	{ "PMD-aligned, not PUD-aligned", PMDS(1), PMDS(4),
	  { { PMDS(0), PMDS(4), 1 } }, 1, false },
	{ "unaligned head, then PMDs", { 0, 1, -3 }, { 0, 2, 3 },
	  { { PAGES(0), PAGES(3), 0 }, { PAGES(3), PMDS(2), 1 } }, 2, false },
	{ "PMDs, then an unaligned tail", PMDS(1), { 0, 2, 5 },
	  { { PMDS(0), PMDS(2), 1 }, { PMDS(2), PAGES(5), 0 } }, 2, false },
	{ "unaligned head, a PUD, a PMD", { 1, 0, -3 }, { 1, 1, 3 },
	  { { PAGES(0), PAGES(3), 0 }, { PAGES(3), PUDS(1), 2 },
	    { { 1, 0, 3 }, PMDS(1), 1 } }, 3, true },
	{ "a PUD, a PMD, an unaligned tail", PUDS(0), { 1, 1, 5 },
	  { { PUDS(0), PUDS(1), 2 }, { PUDS(1), PMDS(1), 1 },
	    { { 1, 1, 0 }, PAGES(5), 0 } }, 3, true },
	{ "a page either side of a PMD", { 0, 1, -1 }, { 0, 1, 2 },
	  { { PAGES(0), PAGES(1), 0 }, { PAGES(1), PMDS(1), 1 },
	    { { 0, 1, 1 }, PAGES(1), 0 } }, 3, false },
	{ "smaller than a PMD", PMDS(0), PAGES(MAT_NR_PAGES),
	  { { PAGES(0), PAGES(MAT_NR_PAGES), 0 } }, 1, false },
};

static void mat_layout_desc(const struct mat_layout *l, char *desc)
{
	strscpy(desc, l->what, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(mat_layout, mat_layouts, mat_layout_desc);

/*
 * A huge remap maps each part of the range with the largest leaf its
 * alignment and the CPU allow, with the right PFN and protection, and
 * PTEs for what is left.
 */
static void huge_remap_leaves_follow_alignment(struct kunit *test)
{
	const unsigned long leaves[] = { PAGE_SIZE, PMD_SIZE, PUD_SIZE };
	const struct mat_layout *l = test->param_value;
	struct mat_file *mf = mat_file_create(test);
	struct mat_seg segs[ARRAY_SIZE(l->segs)];
	unsigned long addr;
	int i;

	if (l->pud_layout)
		mat_require_pud_layout(test);
	for (i = 0; i < l->nr_segs; i++) {
		segs[i].offset = mat_bytes(l->segs[i].offset);
		segs[i].len = mat_bytes(l->segs[i].len);
		segs[i].leaf = leaves[l->segs[i].leaf];
	}
	mf->huge = true;
	addr = mat_mmap_congruent(mf, mat_bytes(l->offset), mat_bytes(l->len));
	KUNIT_ASSERT_FALSE(test, IS_ERR_VALUE(addr));
	expect_leaves(test, mf, addr, segs, l->nr_segs);
}

/* PUD leaves need no PMD or PTE table: two PUDs take two tables at most. */
static void huge_remap_pud_leaves_need_no_tables(struct kunit *test)
{
	struct mat_file *mf = mat_file_create(test);
	unsigned long addr, before;

	mat_require_pud_layout(test);
	if (mat_expected_leaf() < PUD_SIZE)
		kunit_skip(test, "%s", mat_no_pud_leaves_reason());
	KUNIT_ASSERT_EQ(test, 0, kunit_attach_mm());
	mf->huge = true;
	before = mm_pgtables_bytes(current->mm);
	addr = mat_mmap_congruent(mf, 0, 2 * PUD_SIZE);
	KUNIT_ASSERT_FALSE(test, IS_ERR_VALUE(addr));
	/* At most a P4D and a PUD table. */
	KUNIT_EXPECT_LE(test, mm_pgtables_bytes(current->mm) - before,
			2 * PAGE_SIZE);
}

/* What makes a remap of a congruent, PMD-aligned range map PTEs only. */
struct mat_pte_only {
	const char *what;
	void (*setup)(struct kunit *test, struct mat_file *mf);
	unsigned long prot;
	unsigned long flags;
};

static void mat_not_huge(struct kunit *test, struct mat_file *mf)
{
	mf->huge = false;
}

static void mat_no_huge_fault(struct kunit *test, struct mat_file *mf)
{
	mf->vm_ops = &mat_vm_ops_no_huge_fault;
}

static void mat_thp_disabled(struct kunit *test, struct mat_file *mf)
{
	KUNIT_ASSERT_EQ(test, 0, kunit_attach_mm());
	mm_flags_set(MMF_DISABLE_THP_COMPLETELY, current->mm);
}

static void mat_nothing(struct kunit *test, struct mat_file *mf)
{
}

static const struct mat_pte_only mat_pte_only_cases[] = {
	/* A remap maps PTEs, as it always did, unless asked for leaves. */
	{ "not asked for", mat_not_huge, PROT_READ | PROT_WRITE, MAP_SHARED },
	/* No vm_ops->huge_fault: a fault could not map a leaf either. */
	{ "no huge_fault", mat_no_huge_fault, PROT_READ | PROT_WRITE, MAP_SHARED },
	/* prctl(PR_SET_THP_DISABLE). */
	{ "THP disabled", mat_thp_disabled, PROT_READ | PROT_WRITE, MAP_SHARED },
	/* Each PFN checked with pfn_modify_allowed(), as a leaf's would not be. */
	{ "PROT_NONE", mat_nothing, PROT_NONE, MAP_SHARED },
	/* Copy-on-write: PFN leaves are not allowed there. */
	{ "MAP_PRIVATE", mat_nothing, PROT_READ | PROT_WRITE, MAP_PRIVATE },
};

static void mat_pte_only_desc(const struct mat_pte_only *c, char *desc)
{
	strscpy(desc, c->what, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(mat_pte_only, mat_pte_only_cases, mat_pte_only_desc);

/* A remap that may not map leaves maps every page with a PTE. */
static void huge_remap_falls_back_to_ptes(struct kunit *test)
{
	const struct mat_pte_only *c = test->param_value;
	const unsigned long len = 2 * PMD_SIZE;
	struct mat_file *mf = mat_file_create(test);
	unsigned long resv, addr;

	mf->huge = true;
	c->setup(test, mf);
	KUNIT_ASSERT_EQ(test, 0, kunit_attach_mm());
	resv = vm_mmap(NULL, 0, len + mat_block(), PROT_NONE,
		       MAP_PRIVATE | MAP_ANONYMOUS, 0);
	KUNIT_ASSERT_FALSE(test, IS_ERR_VALUE(resv));
	addr = ALIGN(resv, mat_block());
	KUNIT_ASSERT_EQ(test, vm_mmap(mf->file, addr, len, c->prot,
				      c->flags | MAP_FIXED, 0), addr);
	KUNIT_EXPECT_EQ(test, mat_count_entries(addr, len), len >> PAGE_SHIFT);
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

/*
 * munmap() of a page in the middle of the first leaf of a huge mapping
 * clears all of that leaf, and only it, as mmap_prepare.rst documents; a
 * fault maps the rest of it again. The leaf is the largest the CPU can map
 * that fits twice in the mapping: a PMD leaf for 2 PMDs, a PUD leaf for 2
 * PUDs. With PTEs only, nothing else changes. (mprotect() of part of a
 * leaf splits it the same way; the vfio selftests do that.)
 */
static void huge_remap_partial_munmap_clears_leaf(struct kunit *test)
{
	const unsigned long unit = *(const int *)test->param_value == 2 ?
				   PUD_SIZE : PMD_SIZE;
	const unsigned long len = 2 * unit;
	const unsigned long leaf = min(mat_expected_leaf(), unit);
	const unsigned long cut = PMD_SIZE / 2;
	const struct mat_seg rest[] = { { leaf, len - leaf, leaf } };
	const struct mat_seg first[] = { { 0, PAGE_SIZE, PAGE_SIZE } };
	struct mat_file *mf = mat_file_create(test);
	unsigned long addr;

	if (unit == PUD_SIZE)
		mat_require_pud_layout(test);
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

/* 1: PMD, 2: PUD */
static const int mat_units[] = { 1, 2 };

static void mat_unit_desc(const int *unit, char *desc)
{
	strscpy(desc, *unit == 2 ? "PUD" : "PMD", KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(mat_unit, mat_units, mat_unit_desc);

static struct kunit_case mmap_huge_leaf_test_cases[] = {
	KUNIT_CASE_PARAM(huge_remap_leaves_follow_alignment, mat_layout_gen_params),
	KUNIT_CASE(huge_remap_pud_leaves_need_no_tables),
	KUNIT_CASE_PARAM(huge_remap_falls_back_to_ptes, mat_pte_only_gen_params),
	KUNIT_CASE(huge_remap_incongruent_va_gets_ptes),
	KUNIT_CASE(huge_remap_without_fault_handler_refused),
	KUNIT_CASE_PARAM(huge_remap_partial_munmap_clears_leaf, mat_unit_gen_params),
	{}
};

static struct kunit_suite mmap_huge_leaf_test_suite = {
	.name = "mmap_huge_leaves",
	.suite_init = mat_suite_init,
	.suite_exit = mat_suite_exit,
	.test_cases = mmap_huge_leaf_test_cases,
};

kunit_test_suite(mmap_huge_leaf_test_suite);

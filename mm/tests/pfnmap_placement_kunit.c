// SPDX-License-Identifier: GPL-2.0-only
/*
 * KUnit tests for the placement of PFN mappings for huge leaves:
 * pfnmap_leaf_align() picks the leaf size from the physical range,
 * pfnmap_get_unmapped_area() finds a VA congruent to the physical address
 * modulo that size where a fault could install such a leaf, and falls back
 * to any VA rather than fail.
 */
#include <kunit/test.h>
#include <linux/log2.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/sched/mm.h>

#include "../internal.h"
#include "mmap_kunit_helpers.h"

/* What pfnmap_leaf_align() must say for a range that holds @natural. */
static unsigned long mat_expected_align(unsigned long natural)
{
	unsigned long leaf = mat_expected_leaf();

	if (leaf == PAGE_SIZE || natural == PAGE_SIZE)
		return 0;
	return min(natural, leaf);
}

struct mat_align_case {
	const char *what;
	struct mat_size offset;		/* from a block boundary */
	struct mat_size len;
	int natural;			/* largest leaf it holds: 0, 1 PMD, 2 PUD */
	bool pud_layout;		/* laid out in PUDs */
};

static const struct mat_align_case mat_align_cases[] = {
	{ "two aligned PUDs", { 0 }, { 2, 0, 0 }, 2, true },
	{ "a PUD and three PMDs", { 0 }, { 1, 3, 0 }, 2, true },
	{ "a PMD before a PUD", { 0, -1, 0 }, { 1, 1, 0 }, 2, true },
	{ "a page short of a PUD", { 0 }, { 1, 0, -1 }, 1, true },
	{ "a PUD a page past the boundary", { 0, 0, 1 }, { 1, 0, 0 }, 1, true },
	{ "two PMDs", { 0 }, { 0, 2, 0 }, 1, false },
	{ "MSI-X hole: a page into a PMD", { 0, 1, 1 }, { 0, 2, 0 }, 1, false },
	{ "one aligned PMD", { 0 }, { 0, 1, 0 }, 1, false },
	{ "a few pages", { 0 }, { 0, 0, MAT_NR_PAGES }, 0, false },
	{ "a PMD a page past the boundary", { 0, 0, 1 }, { 0, 1, 0 }, 0, false },
};

static void mat_align_case_desc(const struct mat_align_case *c, char *desc)
{
	strscpy(desc, c->what, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(mat_align, mat_align_cases, mat_align_case_desc);

/*
 * The alignment is the largest leaf the CPU can map whose aligned block the
 * physical range holds whole: a 4 MiB range is never aligned to 1 GiB.
 */
static void leaf_align_from_physical_range(struct kunit *test)
{
	const struct mat_align_case *c = test->param_value;
	struct mat_file *mf = mat_file_create(test);

	if (c->pud_layout)
		mat_require_pud_layout(test);
	const unsigned long natural[] = { PAGE_SIZE, PMD_SIZE, PUD_SIZE };

	KUNIT_EXPECT_EQ(test, pfnmap_leaf_align(PFN_PHYS(mf->pfn) + mat_block() +
						mat_bytes(c->offset),
						mat_bytes(c->len)),
			mat_expected_align(natural[c->natural]));
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
	.mmap_prepare		= mat_mmap_prepare,
	.get_unmapped_area	= mat_get_unmapped_area,
};

static struct mat_file *mat_placed_file(struct kunit *test)
{
	struct mat_file *mf = mat_file_create_fops(test, &mat_placed_fops);

	/* Placement only: faults fill it. */
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
		kunit_skip(test, "no huge PFN mappings on this kernel");
	expect_congruent(test, mf, mat_place(mf, 0, 2 * PUD_SIZE, 0, 0), 0, align);
}

/* The MSI-X hole case: the VA is a page past a PMD boundary, as the PA is. */
static void place_odd_offset_for_pmd(struct kunit *test)
{
	struct mat_file *mf = mat_placed_file(test);
	const unsigned long align = mat_expected_align(PMD_SIZE);

	if (!align)
		kunit_skip(test, "no huge PFN mappings on this kernel");
	expect_congruent(test, mf, mat_place(mf, 0, 4 * PMD_SIZE, PAGE_SIZE, 0),
			 PAGE_SIZE, align);
}

/* MAP_FIXED is obeyed, aligned or not (true without placement too). */
static void place_map_fixed_obeyed(struct kunit *test)
{
	struct mat_file *mf = mat_placed_file(test);
	unsigned long resv = mat_reserve(test, 4 * PMD_SIZE);
	unsigned long want = ALIGN(resv, PMD_SIZE) + PAGE_SIZE;

	KUNIT_EXPECT_EQ(test, mat_place(mf, want, 2 * PMD_SIZE, 0, MAP_FIXED), want);
}

/*
 * A free hint is taken as it is, even where it is not congruent and has no
 * room for the padding an aligned search needs: placement does not
 * override what the caller asked for and the kernel can give.
 */
static void place_free_hint_taken(struct kunit *test)
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
 * A hint above the default address space window (x86 with 5-level paging,
 * arm64 with 52-bit VAs) opts into the larger space. Where it is taken, the
 * aligned search must stay in that space, not fall back into the default
 * window, and still align.
 */
static void place_high_hint_stays_high(struct kunit *test)
{
#ifdef DEFAULT_MAP_WINDOW
	const unsigned long len = 2 * PMD_SIZE;
	struct mat_file *mf = mat_placed_file(test);
	const unsigned long align = mat_expected_align(PMD_SIZE);
	unsigned long hint = DEFAULT_MAP_WINDOW + 64 * mat_block();
	unsigned long taken, addr;

	if (hint + 4 * mat_block() >= TASK_SIZE)
		kunit_skip(test, "no address space above the default window");
	if (!align)
		kunit_skip(test, "no huge PFN mappings on this kernel");
	/* Take the hint itself, so that placement must search around it. */
	taken = vm_mmap(NULL, hint, len, PROT_NONE,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, 0);
	KUNIT_ASSERT_EQ(test, taken, hint);
	addr = mat_place(mf, hint, len, 0, 0);
	KUNIT_ASSERT_FALSE(test, IS_ERR_VALUE(addr));
	KUNIT_EXPECT_GE_MSG(test, addr, DEFAULT_MAP_WINDOW, "placed at %#lx", addr);
	expect_congruent(test, mf, addr, 0, align);
#else
	kunit_skip(test, "one address space window here");
#endif
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
 * unaligned, rather than failing. No hole at all: the search's error comes
 * back, not a bogus address.
 */
static void place_falls_back_without_aligned_hole(struct kunit *test)
{
	const unsigned long len = 2 * PMD_SIZE;
	struct mat_file *mf = mat_placed_file(test);
	unsigned long hole;

	if (!mat_expected_align(PMD_SIZE))
		kunit_skip(test, "no huge PFN mappings on this kernel");
	hole = ALIGN(mat_fill_address_space(test), mat_block()) + PAGE_SIZE;
	KUNIT_ASSERT_EQ(test, 0, vm_munmap(hole, len));
	/* PA PMD-aligned, the hole a page past a PMD boundary, just as long. */
	KUNIT_EXPECT_EQ(test, mat_place(mf, 0, len, 0, 0), hole);
	KUNIT_EXPECT_EQ(test, (long)mat_place(mf, 0, len, 0, 0), -ENOMEM);
}

/* The process states placement must agree with the fault path in. */
enum mat_thp_state {
	MAT_THP_DEFAULT,
	MAT_THP_PRCTL_DISABLED,		/* prctl(PR_SET_THP_DISABLE, 1, 0) */
	MAT_THP_PRCTL_EXCEPT_ADVISED,	/* ... PR_THP_DISABLE_EXCEPT_ADVISED */
	MAT_THP_SYSFS_NEVER,		/* transparent_hugepage/enabled: never */
	MAT_THP_NR_STATES,
};

static const char * const mat_thp_state_names[] = {
	"default", "prctl disabled", "prctl except advised", "sysfs never",
};

static const void *mat_thp_state_gen(struct kunit *test, const void *prev,
				     char *desc)
{
	static const enum mat_thp_state states[] = {
		MAT_THP_DEFAULT, MAT_THP_PRCTL_DISABLED,
		MAT_THP_PRCTL_EXCEPT_ADVISED, MAT_THP_SYSFS_NEVER,
	};
	const enum mat_thp_state *s = prev ? (const enum mat_thp_state *)prev + 1 :
					     states;

	if (s >= states + MAT_THP_NR_STATES)
		return NULL;
	strscpy(desc, mat_thp_state_names[*s], KUNIT_PARAM_DESC_SIZE);
	return s;
}

#ifdef CONFIG_TRANSPARENT_HUGEPAGE
static unsigned long mat_saved_thp_flags;

static void mat_restore_thp_flags(void *unused)
{
	transparent_hugepage_flags = mat_saved_thp_flags;
}
#endif

static void mat_set_thp_state(struct kunit *test, enum mat_thp_state state)
{
	switch (state) {
	case MAT_THP_DEFAULT:
		break;
	case MAT_THP_PRCTL_DISABLED:
		mm_flags_set(MMF_DISABLE_THP_COMPLETELY, current->mm);
		break;
	case MAT_THP_PRCTL_EXCEPT_ADVISED:
		mm_flags_set(MMF_DISABLE_THP_EXCEPT_ADVISED, current->mm);
		break;
	case MAT_THP_SYSFS_NEVER:
#ifdef CONFIG_TRANSPARENT_HUGEPAGE
		mat_saved_thp_flags = transparent_hugepage_flags;
		KUNIT_ASSERT_EQ(test, 0,
				kunit_add_action_or_reset(test, mat_restore_thp_flags,
							  NULL));
		transparent_hugepage_flags &= ~(BIT(TRANSPARENT_HUGEPAGE_FLAG) |
				BIT(TRANSPARENT_HUGEPAGE_REQ_MADV_FLAG));
#endif
		break;
	default:
		KUNIT_FAIL(test, "unknown state %d", state);
	}
}

/*
 * Placement pads a mapping exactly where a fault in it can install a huge
 * leaf: in each process state, a fault in a congruent mapping shows which
 * leaf it gets; a placed mapping is congruent for that leaf, and without a
 * leaf goes where a file without placement goes (no padding, which would
 * only fragment the address space).
 */
static void place_agrees_with_fault(struct kunit *test)
{
	const enum mat_thp_state *state = test->param_value;
	const unsigned long len = 2 * mat_block();
	struct mat_file *mf = mat_placed_file(test);
	struct mat_file *plain = mat_file_create(test);
	unsigned long addr, placed, leaf, pfn = 0;

	if (*state == MAT_THP_SYSFS_NEVER && !IS_ENABLED(CONFIG_TRANSPARENT_HUGEPAGE))
		kunit_skip(test, "no THP in this kernel");
	mat_set_thp_state(test, *state);
	plain->lazy = true;
	addr = mat_mmap_congruent(plain, 0, len);
	KUNIT_ASSERT_FALSE(test, IS_ERR_VALUE(addr));
	KUNIT_ASSERT_EQ(test, 0, mat_fault_in(addr));
	leaf = mat_leaf_size(addr, &pfn);
	KUNIT_ASSERT_EQ(test, 0, vm_munmap(addr, len));

	placed = mat_place(mf, 0, len, 0, 0);
	KUNIT_ASSERT_FALSE(test, IS_ERR_VALUE(placed));
	KUNIT_ASSERT_EQ(test, 0, vm_munmap(placed, len));
	if (leaf > PAGE_SIZE) {
		KUNIT_EXPECT_TRUE_MSG(test, IS_ALIGNED(placed, leaf),
				      "%#lx leaf, placed at %#lx", leaf, placed);
	} else {
		addr = vm_mmap(plain->file, 0, len, PROT_READ | PROT_WRITE,
			       MAP_SHARED, 0);
		KUNIT_EXPECT_EQ_MSG(test, placed, addr, "no leaf, yet padded");
	}
}

static struct kunit_case pfnmap_placement_test_cases[] = {
	KUNIT_CASE_PARAM(leaf_align_from_physical_range, mat_align_gen_params),
	KUNIT_CASE(place_large_mapping_for_pud),
	KUNIT_CASE(place_odd_offset_for_pmd),
	KUNIT_CASE(place_map_fixed_obeyed),
	KUNIT_CASE(place_free_hint_taken),
	KUNIT_CASE(place_high_hint_stays_high),
	KUNIT_CASE(place_falls_back_without_aligned_hole),
	KUNIT_CASE_PARAM(place_agrees_with_fault, mat_thp_state_gen),
	{}
};

static struct kunit_suite pfnmap_placement_test_suite = {
	.name = "pfnmap_placement",
	.suite_init = mat_suite_init,
	.suite_exit = mat_suite_exit,
	.test_cases = pfnmap_placement_test_cases,
};

kunit_test_suite(pfnmap_placement_test_suite);

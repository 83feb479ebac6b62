// SPDX-License-Identifier: GPL-2.0-only
/*
 * KUnit tests for huge PFN leaves as faults install them (a driver's
 * ->huge_fault with vmf_insert_pfn_pmd()/_pud()): the leaf sizes the CPU
 * can map, and what a VMA split, mremap() and fork() do with a leaf.
 */
#include <kunit/test.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/sched/mm.h>
#include <linux/sched/task.h>
#include <linux/vmstat.h>

#include "../internal.h"
#include "mmap_kunit_helpers.h"

/* Map one leaf of @leaf bytes at a congruent VA and fault it in. */
static unsigned long mat_map_leaf(struct kunit *test, struct mat_file *mf,
				  unsigned long leaf)
{
	unsigned long addr, pfn = 0;

	mf->lazy = true;
	addr = mat_mmap_congruent(mf, 0, leaf);
	KUNIT_ASSERT_FALSE(test, IS_ERR_VALUE(addr));
	KUNIT_ASSERT_EQ(test, 0, mat_fault_in(addr));
	KUNIT_ASSERT_EQ(test, mat_leaf_size(addr, &pfn), leaf);
	return addr;
}

/*
 * A fault in a block-aligned PFN mapping gets the largest leaf the CPU can
 * map: a PUD leaf only where the CPU can map one, a PMD leaf otherwise.
 */
static void fault_maps_largest_leaf_cpu_supports(struct kunit *test)
{
	struct mat_file *mf = mat_file_create(test);
	unsigned long addr, pfn = 0;

	mf->lazy = true;
	addr = mat_mmap_congruent(mf, 0, mat_block());
	KUNIT_ASSERT_FALSE(test, IS_ERR_VALUE(addr));
	KUNIT_ASSERT_EQ(test, 0, mat_fault_in(addr));
	KUNIT_EXPECT_EQ(test, mat_leaf_size(addr, &pfn),
			min(mat_expected_leaf(), mat_block()));
	KUNIT_EXPECT_EQ(test, pfn, mf->pfn);
}

/*
 * munmap() of a page inside a huge leaf splits the VMA there. The leaf the
 * split cuts through is cleared, all of it, whatever its level, and the
 * fault handler maps what is left of it again, with leaves that fit the
 * smaller VMAs. With PTEs only, the page before the hole stays mapped.
 */
static void fault_leaf_cleared_by_vma_split(struct kunit *test)
{
	const unsigned long block = mat_block();
	const unsigned long leaf = min(mat_expected_leaf(), block);
	const unsigned long hole = PMD_SIZE / 2, last = block - PAGE_SIZE;
	struct mat_file *mf = mat_file_create(test);
	unsigned long addr, pfn = 0;

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
	/* [0, hole) holds no PMD leaf: a PTE. */
	KUNIT_EXPECT_EQ(test, mat_leaf_size(addr, &pfn), PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, pfn, mf->pfn);
	/*
	 * The last PMD of the block lies wholly in the second VMA only if the
	 * block is larger than a PMD: then at most a PMD leaf, else a PTE.
	 */
	KUNIT_EXPECT_EQ(test, mat_leaf_size(addr + last, &pfn),
			block > PMD_SIZE ? min(leaf, PMD_SIZE) : PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, pfn, mf->pfn + (last >> PAGE_SHIFT));
}

/*
 * mm_find_pmd() (used to split PMDs, by KSM and khugepaged) must not take
 * a PUD leaf for a PMD table: it finds no PMD there.
 */
static void find_pmd_stops_at_pud_leaf(struct kunit *test)
{
	struct mat_file *mf = mat_file_create(test);
	unsigned long addr;

	if (mat_expected_leaf() < PUD_SIZE)
		kunit_skip(test, "%s", mat_no_pud_leaves_reason());
	addr = mat_map_leaf(test, mf, PUD_SIZE);
	mmap_read_lock(current->mm);
	KUNIT_EXPECT_NULL(test, mm_find_pmd(current->mm, addr + PMD_SIZE));
	mmap_read_unlock(current->mm);
}

/*
 * Move the page tables of [@from, @from + @len) to @to as mremap() does
 * once it has set up the VMA at @to: move_page_tables() is what meets the
 * leaves. Both VMAs map the test file from offset 0, so a fault at @to
 * maps what was at @from. Returns how much was moved.
 */
static unsigned long mat_move_page_tables(unsigned long from, unsigned long to,
					  unsigned long len)
{
	struct vm_area_struct *old, *new;
	unsigned long moved = 0;

	mmap_write_lock(current->mm);
	old = vma_lookup(current->mm, from);
	new = vma_lookup(current->mm, to);
	if (old && new) {
		PAGETABLE_MOVE(pmc, old, new, from, to, len);

		moved = move_page_tables(&pmc);
	}
	mmap_write_unlock(current->mm);
	return moved;
}

/* PUD leaves split so far, where the kernel counts them. */
static unsigned long mat_pud_splits(void)
{
#if defined(CONFIG_VM_EVENT_COUNTERS) && defined(CONFIG_TRANSPARENT_HUGEPAGE) && \
	defined(CONFIG_HAVE_ARCH_TRANSPARENT_HUGEPAGE_PUD)
	unsigned long sum = 0;
	int cpu;

	for_each_online_cpu(cpu)
		sum += per_cpu(vm_event_states, cpu).event[THP_SPLIT_PUD];
	return sum;
#else
	return 0;
#endif
}

/*
 * mremap() of a leaf to a VA congruent with its PFN moves it whole: the
 * new range has the leaf, the old one nothing. x86 and riscv used to take
 * a PUD leaf for a bad table entry there, and clear it without a TLB flush.
 */
static void expect_mremap_moves_leaf(struct kunit *test, unsigned long leaf)
{
	struct mat_file *mf = mat_file_create(test);
	unsigned long from, to, pfn = 0;

	from = mat_map_leaf(test, mf, leaf);
	to = mat_mmap_congruent(mf, 0, leaf);
	KUNIT_ASSERT_FALSE(test, IS_ERR_VALUE(to));
	KUNIT_ASSERT_EQ(test, mat_move_page_tables(from, to, leaf), leaf);

	KUNIT_EXPECT_EQ(test, mat_leaf_size(to, &pfn), leaf);
	KUNIT_EXPECT_EQ(test, pfn, mf->pfn);
	KUNIT_EXPECT_EQ(test, mat_count_entries(from, leaf), 0);
}

static void mremap_moves_pud_leaf_whole(struct kunit *test)
{
	if (mat_expected_leaf() < PUD_SIZE)
		kunit_skip(test, "%s", mat_no_pud_leaves_reason());
	expect_mremap_moves_leaf(test, PUD_SIZE);
}

static void mremap_moves_pmd_leaf_whole(struct kunit *test)
{
	if (mat_expected_leaf() < PMD_SIZE)
		kunit_skip(test, "no huge PFN mappings on this kernel");
	expect_mremap_moves_leaf(test, PMD_SIZE);
}

/*
 * mremap() of a leaf to a VA not congruent with its PFN cannot keep it: it
 * is split, as a VMA split would split it (cleared with a TLB flush; for a
 * PUD leaf counted as a split, not reported as bad), nothing is left at
 * either address, and a fault at the new address maps the right PFN.
 */
static void mremap_incongruent_splits_leaf(struct kunit *test)
{
	const unsigned long leaf = min(mat_expected_leaf(), mat_block());
	const unsigned long splits = mat_pud_splits();
	struct mat_file *mf = mat_file_create(test);
	unsigned long from, to, pfn = 0;

	if (leaf == PAGE_SIZE)
		kunit_skip(test, "no huge PFN mappings on this kernel");
	from = mat_map_leaf(test, mf, leaf);
	to = mat_mmap_at(mf, PAGE_SIZE, leaf, 0);
	KUNIT_ASSERT_FALSE(test, IS_ERR_VALUE(to));
	KUNIT_ASSERT_EQ(test, mat_move_page_tables(from, to, leaf), leaf);

	KUNIT_EXPECT_EQ(test, mat_count_entries(from, leaf), 0);
	KUNIT_EXPECT_EQ(test, mat_count_entries(to, leaf), 0);
	if (leaf == PUD_SIZE && IS_ENABLED(CONFIG_VM_EVENT_COUNTERS))
		KUNIT_EXPECT_EQ(test, mat_pud_splits(), splits + 1);
	KUNIT_ASSERT_EQ(test, 0, mat_fault_in(to + leaf / 2));
	KUNIT_EXPECT_EQ(test, mat_leaf_size(to + leaf / 2, &pfn), PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, pfn, mf->pfn + (leaf / 2 >> PAGE_SHIFT));
}

/* A fork of the test mm, by the kernel's own fork path (dup_mmap()). */
struct mat_fork {
	struct mm_struct *mm;
	struct completion forked;
};

static int mat_fork_child(void *data)
{
	struct mat_fork *f = data;

	/* The child's copy of the test mm outlives the child for the test. */
	mmget(current->mm);
	f->mm = current->mm;
	complete(&f->forked);
	do_exit(0);
}

static void mat_mmput(void *mm)
{
	mmput(mm);
}

static struct mm_struct *mat_fork(struct kunit *test)
{
	struct mat_fork *f = kunit_kzalloc(test, sizeof(*f), GFP_KERNEL);
	struct kernel_clone_args args = {
		.flags		= CLONE_UNTRACED,
		.exit_signal	= SIGCHLD,
		.fn		= mat_fork_child,
	};

	KUNIT_ASSERT_NOT_NULL(test, f);
	init_completion(&f->forked);
	args.fn_arg = f;
	KUNIT_ASSERT_GT(test, kernel_clone(&args), 0);
	wait_for_completion(&f->forked);
	KUNIT_ASSERT_EQ(test, 0, kunit_add_action_or_reset(test, mat_mmput, f->mm));
	return f->mm;
}

/*
 * fork() copies a leaf into the child, and a zap by file offset, which
 * walks the file's rmap tree, removes the child's copy with the parent's.
 */
static void fork_copies_leaf_zap_removes_both(struct kunit *test)
{
	const unsigned long leaf = min(mat_expected_leaf(), mat_block());
	struct mat_file *mf = mat_file_create(test);
	unsigned long addr, pfn = 0, size;
	struct mm_struct *child;

	addr = mat_map_leaf(test, mf, leaf);
	child = mat_fork(test);
	mmap_read_lock(child);
	size = __mat_leaf_size(child, addr, &pfn);
	mmap_read_unlock(child);
	KUNIT_EXPECT_EQ(test, size, leaf);
	KUNIT_EXPECT_EQ(test, pfn, mf->pfn);

	unmap_mapping_range(mf->file->f_mapping, 0, 0, 1);
	mmap_read_lock(child);
	KUNIT_EXPECT_EQ(test, __mat_count_entries(child, addr, addr + leaf), 0);
	mmap_read_unlock(child);
	KUNIT_EXPECT_EQ(test, mat_count_entries(addr, leaf), 0);
}

static struct kunit_case pfnmap_fault_test_cases[] = {
	KUNIT_CASE(fault_maps_largest_leaf_cpu_supports),
	KUNIT_CASE(fault_leaf_cleared_by_vma_split),
	KUNIT_CASE(find_pmd_stops_at_pud_leaf),
	KUNIT_CASE(mremap_moves_pud_leaf_whole),
	KUNIT_CASE(mremap_moves_pmd_leaf_whole),
	KUNIT_CASE(mremap_incongruent_splits_leaf),
	KUNIT_CASE(fork_copies_leaf_zap_removes_both),
	{}
};

static struct kunit_suite pfnmap_fault_test_suite = {
	.name = "pfnmap_fault",
	.suite_init = mat_suite_init,
	.suite_exit = mat_suite_exit,
	.test_cases = pfnmap_fault_test_cases,
};

kunit_test_suite(pfnmap_fault_test_suite);

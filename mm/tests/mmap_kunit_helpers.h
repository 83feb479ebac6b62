/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Helpers the KUnit suites of PFN mappings share: test files whose
 * f_op->mmap_prepare asks for a PFN remap (or nothing, for faults to fill),
 * mapped into a test mm, and checks of what ends up in its page tables.
 *
 * The PFNs are those of a free physical range each suite reserves
 * (mat_suite_init()), never accessed, so no memory or device has to be
 * behind them. Sizes follow the architecture, never 4K, 2M or 1G
 * literally: mappings are laid out in PMD_SIZE units, and in PUD_SIZE
 * units too where a PUD is small enough to map a few of (mat_block()).
 */
#ifndef __MM_TESTS_MMAP_KUNIT_HELPERS_H
#define __MM_TESTS_MMAP_KUNIT_HELPERS_H

#include <kunit/test.h>
#include <linux/completion.h>
#include <linux/fs.h>
#include <linux/mm.h>

#define MAT_NR_PAGES		16
#define MAT_LEN			(MAT_NR_PAGES * PAGE_SIZE)

/**
 * struct mat_file - A test file and what its mmap_prepare asks for.
 * @test: The test this file belongs to.
 * @file: The file, on an inode of its own (so a mapping of its own).
 * @pfn: PFN the first page of the file (pgoff 0) maps.
 * @lazy: Request no action; the VMA is filled by the fault handlers only.
 * @huge: Let the remap action map PMD and PUD leaves.
 * @hide_from_rmap: Set action->hide_from_rmap_until_complete.
 * @vm_ops: The VMA's operations, if not mat_vm_ops.
 * @error_override: Set action->error_override.
 * @mapped_err: What vm_ops->mapped returns.
 * @prepare_hook: Run at the end of mmap_prepare, before the VMA exists.
 * @mapped_hook: Run from vm_ops->mapped, i.e. after the action populated the
 *	VMA and, if hidden, with the rmap lock still held.
 * @prot: The page protection mmap_prepare requested.
 * @start: Start of the VMA, as vm_ops->mapped saw it.
 * @end: End of the VMA, as vm_ops->mapped saw it.
 * @zap: What the zap thread runs; unmap_mapping_range() of the whole file
 *	if NULL.
 * @zapper: The zap thread, if created (mat_create_zapper()).
 * @zap_started: Completed by @zapper just before it runs @zap.
 * @zap_done: Completed by @zapper once @zap returned.
 * @priv: The suite's own state.
 */
struct mat_file {
	struct kunit *test;
	struct file *file;
	unsigned long pfn;
	bool lazy;
	bool huge;
	bool hide_from_rmap;
	const struct vm_operations_struct *vm_ops;
	int error_override;
	int mapped_err;
	void (*prepare_hook)(struct mat_file *mf, struct vm_area_desc *desc);
	void (*mapped_hook)(struct mat_file *mf);
	pgprot_t prot;
	unsigned long start;
	unsigned long end;
	void (*zap)(struct mat_file *mf);
	struct task_struct *zapper;
	struct completion zap_started;
	struct completion zap_done;
	void *priv;
};

extern const struct vm_operations_struct mat_vm_ops;
extern const struct vm_operations_struct mat_vm_ops_no_fault;
extern const struct vm_operations_struct mat_vm_ops_no_huge_fault;

/*
 * A size in the units of the page table geometry, for static tables of
 * test cases: PMD_SIZE is not a constant everywhere (powerpc).
 */
struct mat_size {
	int puds;
	int pmds;
	int pages;
};

static inline long mat_bytes(struct mat_size s)
{
	return s.puds * (long)PUD_SIZE + s.pmds * (long)PMD_SIZE +
	       s.pages * (long)PAGE_SIZE;
}

/* A part of a mapping, and the largest leaf its alignment allows. */
struct mat_seg {
	unsigned long offset;	/* from the start of the mapping */
	unsigned long len;
	unsigned long leaf;	/* PAGE_SIZE, PMD_SIZE or PUD_SIZE */
};

int mat_suite_init(struct kunit_suite *suite);
void mat_suite_exit(struct kunit_suite *suite);

unsigned long mat_block(void);
void mat_require_pud_layout(struct kunit *test);
unsigned long mat_expected_leaf(void);
const char *mat_no_pud_leaves_reason(void);

int mat_mmap_prepare(struct vm_area_desc *desc);
struct mat_file *mat_file_create_fops(struct kunit *test,
				      const struct file_operations *fops);
struct mat_file *mat_file_create(struct kunit *test);
struct file *mat_file_open(struct kunit *test,
			   const struct file_operations *fops,
			   void *private_data);
unsigned long mat_mmap(struct mat_file *mf, unsigned long len,
		       unsigned long pgoff);
unsigned long mat_mmap_flags(struct mat_file *mf, unsigned long len,
			     unsigned long prot, unsigned long flags);
unsigned long mat_mmap_at(struct mat_file *mf, unsigned long va_offset,
			  unsigned long len, unsigned long offset);
unsigned long mat_mmap_congruent(struct mat_file *mf, unsigned long offset,
				 unsigned long len);
int mat_fault_in(unsigned long addr);
bool mat_rmap_locked(struct mat_file *mf);

void expect_range_maps_pfn(struct kunit *test, unsigned long start,
			   unsigned long len, unsigned long pfn, pgprot_t prot);
void __expect_range_maps_pfn(struct kunit *test, unsigned long start,
			     unsigned long len, unsigned long pfn,
			     pgprot_t prot);
unsigned long __mat_count_entries(struct mm_struct *mm, unsigned long addr,
				  unsigned long end);
unsigned long mat_count_entries(unsigned long start, unsigned long len);
void expect_range_unmapped(struct kunit *test, unsigned long start,
			   unsigned long len);
void expect_no_vma(struct kunit *test, unsigned long start, unsigned long end);
unsigned long __mat_leaf_size(struct mm_struct *mm, unsigned long addr,
			      unsigned long *pfn);
unsigned long mat_leaf_size(unsigned long addr, unsigned long *pfn);

unsigned long expect_leaves(struct kunit *test, struct mat_file *mf,
			    unsigned long start, const struct mat_seg *segs,
			    int nr_segs);

void mat_teach_lockdep_reclaim_takes_rmap(struct kunit *test,
					  struct mat_file *mf);

bool mat_create_zapper(struct mat_file *mf);
bool mat_start_zapper(struct mat_file *mf);
void mat_wait_zapper_queued_on_rmap(struct mat_file *mf);
void mat_wait_rmap_locked(struct mat_file *mf);

#endif /* __MM_TESTS_MMAP_KUNIT_HELPERS_H */

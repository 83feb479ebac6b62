/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the KUnit suites of mmap_prepare actions and PFN mapping placement
 * share: test files whose f_op->mmap_prepare asks for a PFN remap, mapped
 * into a test mm, and checks of what ends up in its page tables.
 *
 * The PFNs are synthetic: above the end of RAM, never accessed, so no
 * memory or device has to be behind them. Sizes follow the architecture,
 * never 4K, 2M or 1G literally: mappings are laid out in PMD_SIZE units,
 * and in PUD_SIZE units too where a PUD is small enough to map a few of
 * (see mat_pud_layout()).
 */
#ifndef __MM_TESTS_MMAP_KUNIT_H
#define __MM_TESTS_MMAP_KUNIT_H

#include <kunit/test.h>
#include <linux/completion.h>
#include <linux/fs.h>
#include <linux/mm.h>

#define MAT_NR_PAGES		16
#define MAT_LEN			(MAT_NR_PAGES * PAGE_SIZE)
/* Generous bounds for events that must happen; never hit when passing. */
#define MAT_WAIT_MS		10000
/* How long something that must stay blocked is given to (wrongly) finish. */
#define MAT_BLOCKED_MS		200

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
 * @zapper: The zap thread, if started (mat_start_zapper()).
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

/* A part of a mapping, and the largest leaf its alignment allows. */
struct mat_seg {
	unsigned long offset;	/* from the start of the mapping */
	unsigned long len;
	unsigned long leaf;	/* PAGE_SIZE, PMD_SIZE or PUD_SIZE */
};

extern const struct vm_operations_struct mat_vm_ops;
extern const struct vm_operations_struct mat_vm_ops_no_fault;
extern const struct vm_operations_struct mat_vm_ops_no_huge_fault;

unsigned long mat_block(void);
void mat_require_pud_layout(struct kunit *test);
int mat_run_pud_leaves(void);
unsigned long mat_largest_leaf(void);
unsigned long mat_synthetic_pfn(void);

int mat_mmap_prepare(struct vm_area_desc *desc);
struct mat_file *mat_file_create_fops(struct kunit *test,
				      const struct file_operations *fops);
struct mat_file *mat_file_create(struct kunit *test);
unsigned long mat_mmap(struct mat_file *mf, unsigned long len,
		       unsigned long pgoff);
unsigned long mat_mmap_flags(struct mat_file *mf, unsigned long len,
			     unsigned long prot, unsigned long flags);
unsigned long mat_mmap_at(struct mat_file *mf, unsigned long va_offset,
			  unsigned long len, unsigned long offset);
unsigned long mat_mmap_congruent(struct mat_file *mf, unsigned long offset,
				 unsigned long len);
unsigned long mat_mmap_stacked(struct mat_file *mf,
			       const struct file_operations *fops);
int mat_fault_in(unsigned long addr);
bool mat_rmap_locked(struct mat_file *mf);

void expect_range_maps_pfn(struct kunit *test, unsigned long start,
			   unsigned long len, unsigned long pfn, pgprot_t prot);
void __expect_range_maps_pfn(struct kunit *test, unsigned long start,
			     unsigned long len, unsigned long pfn,
			     pgprot_t prot);
unsigned long __mat_count_entries(unsigned long addr, unsigned long end);
unsigned long mat_count_entries(unsigned long start, unsigned long len);
void expect_range_unmapped(struct kunit *test, unsigned long start,
			   unsigned long len);
void expect_no_vma(struct kunit *test, unsigned long start, unsigned long end);
unsigned long __mat_leaf_size(unsigned long addr, unsigned long *pfn);
bool __mat_fully_mapped(unsigned long start, unsigned long end);
unsigned long expect_leaves(struct kunit *test, struct mat_file *mf,
			    unsigned long start, const struct mat_seg *segs,
			    int nr_segs);

bool mat_start_zapper(struct mat_file *mf);
bool mat_zapper_blocked_on_rmap(struct mat_file *mf, unsigned int ms);
bool mat_zap_finished_within(struct mat_file *mf, unsigned int ms);
bool mat_rmap_locked_within(struct mat_file *mf, unsigned int ms);

#endif /* __MM_TESTS_MMAP_KUNIT_H */

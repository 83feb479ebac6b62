// SPDX-License-Identifier: GPL-2.0-only
/*
 * KUnit tests for mmap_prepare PFN remap actions: what they map, that a
 * failed action leaves nothing behind, and that a VMA hidden from rmap
 * until its action completes is never seen half-populated by
 * unmap_mapping_range(), also when the action runs from a stacked driver's
 * f_op->mmap.
 */
#include <kunit/test.h>
#include <linux/debug_locks.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/rwsem.h>

#include "mmap_kunit_helpers.h"

#define MAT_MAPPED_ERR		(-ENOSPC)
#define MAT_OVERRIDE_ERR	(-EAGAIN)

/* Every page of a remapped VMA maps the PFN of its file offset. */
static void remap_maps_every_page(struct kunit *test)
{
	struct mat_file *mf = mat_file_create(test);
	unsigned long addr = mat_mmap(mf, MAT_LEN, 5);

	KUNIT_ASSERT_FALSE(test, IS_ERR_VALUE(addr));
	expect_range_maps_pfn(test, addr, MAT_LEN, mf->pfn + 5, mf->prot);
}

/* Hiding from rmap changes nothing in what gets mapped; the lock is let go. */
static void hidden_remap_maps_every_page(struct kunit *test)
{
	struct mat_file *mf = mat_file_create(test);
	unsigned long addr;

	mf->hide_from_rmap = true;
	addr = mat_mmap(mf, MAT_LEN, 0);
	KUNIT_ASSERT_FALSE(test, IS_ERR_VALUE(addr));
	expect_range_maps_pfn(test, addr, MAT_LEN, mf->pfn, mf->prot);
	KUNIT_EXPECT_FALSE(test, mat_rmap_locked(mf));
}

/*
 * A hidden remap allocates nothing while it holds i_mmap_rwsem (its page
 * tables, its memory type), as reclaim may take that lock: with lockdep
 * knowing that, a remap into an empty mm, which needs a page table at every
 * level, leaves lockdep quiet.
 */
static void hidden_remap_allocates_nothing_under_rmap_lock(struct kunit *test)
{
	struct mat_file *mf = mat_file_create(test);
	unsigned long addr;

	mat_teach_lockdep_reclaim_takes_rmap(test, mf);
	mf->hide_from_rmap = true;
	addr = mat_mmap(mf, MAT_LEN, 0);
	KUNIT_ASSERT_FALSE(test, IS_ERR_VALUE(addr));
	expect_range_maps_pfn(test, addr, MAT_LEN, mf->pfn, mf->prot);
	KUNIT_EXPECT_TRUE_MSG(test, debug_locks, "lockdep reported a problem");
}

/* Check, from ->mapped, that the action had populated the VMA. */
static void mat_expect_populated(struct mat_file *mf)
{
	__expect_range_maps_pfn(mf->test, mf->start, mf->end - mf->start,
				mf->pfn, mf->prot);
}

/*
 * A populated VMA whose completion fails is unmapped, the error returned,
 * and the rmap lock of a hidden one released.
 */
static void failed_action_leaves_no_vma(struct kunit *test)
{
	struct mat_file *mf = mat_file_create(test);
	unsigned long addr;

	mf->hide_from_rmap = true;
	mf->mapped_err = MAT_MAPPED_ERR;
	mf->mapped_hook = mat_expect_populated;
	addr = mat_mmap(mf, MAT_LEN, 0);
	KUNIT_EXPECT_EQ(test, (long)addr, (long)MAT_MAPPED_ERR);
	KUNIT_ASSERT_NE(test, mf->start, 0);
	expect_no_vma(test, mf->start, mf->end);
	KUNIT_EXPECT_FALSE(test, mat_rmap_locked(mf));
}

/* action->error_override replaces the error a failed action returns. */
static void failed_action_reports_error_override(struct kunit *test)
{
	struct mat_file *mf = mat_file_create(test);
	unsigned long addr;

	mf->error_override = MAT_OVERRIDE_ERR;
	mf->mapped_err = MAT_MAPPED_ERR;
	addr = mat_mmap(mf, MAT_LEN, 0);
	KUNIT_EXPECT_EQ(test, (long)addr, (long)MAT_OVERRIDE_ERR);
	KUNIT_ASSERT_NE(test, mf->start, 0);
	expect_no_vma(test, mf->start, mf->end);
}

/*
 * From ->mapped (mmap_lock held for write, the VMA populated): start a
 * zap. Hidden, it must queue on the rmap lock held across the action, and
 * so cannot have finished when ->mapped returns; visible, nothing holds it.
 */
static void mat_zap_while_mapped(struct mat_file *mf)
{
	struct kunit *test = mf->test;

	mat_expect_populated(mf);
	if (!mat_start_zapper(mf))
		return;
	if (mf->hide_from_rmap) {
		mat_wait_zapper_queued_on_rmap(mf);
		KUNIT_EXPECT_FALSE(test, completion_done(&mf->zap_done));
	} else {
		wait_for_completion(&mf->zap_done);
	}
}

/*
 * Hidden from rmap: a zap started once the VMA is populated cannot finish
 * before mmap completes, and when it does finish nothing is left mapped.
 */
static void hidden_vma_zap_waits_for_completion(struct kunit *test)
{
	struct mat_file *mf = mat_file_create(test);
	unsigned long addr;

	mf->hide_from_rmap = true;
	mf->mapped_hook = mat_zap_while_mapped;
	KUNIT_ASSERT_TRUE(test, mat_create_zapper(mf));
	addr = mat_mmap(mf, MAT_LEN, 0);
	KUNIT_ASSERT_FALSE(test, IS_ERR_VALUE(addr));
	wait_for_completion(&mf->zap_done);
	expect_range_unmapped(test, addr, MAT_LEN);
}

/*
 * Control for the test above: without hiding, the same zap finishes while
 * mmap is still in ->mapped. Shows that the test can see the difference.
 */
static void visible_vma_zap_runs_before_completion(struct kunit *test)
{
	struct mat_file *mf = mat_file_create(test);
	unsigned long addr;

	mf->mapped_hook = mat_zap_while_mapped;
	KUNIT_ASSERT_TRUE(test, mat_create_zapper(mf));
	addr = mat_mmap(mf, MAT_LEN, 0);
	KUNIT_ASSERT_FALSE(test, IS_ERR_VALUE(addr));
	KUNIT_EXPECT_TRUE(test, completion_done(&mf->zap_done));
	expect_range_unmapped(test, addr, MAT_LEN);
}

/* A stacked driver's ->mmap that runs @mf's mmap_prepare, as ecryptfs does. */
static int mat_compat_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct mat_file *mf = file->private_data;

	return compat_vma_mmap(mf->file, vma);
}

static const struct file_operations mat_compat_fops = {
	.mmap	= mat_compat_mmap,
};

/*
 * A stacked driver's ->mmap that runs a nested mmap_prepare itself and then
 * __compat_vma_mmap(), as uio and hv_vmbus do.
 */
static int mat_nested_compat_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct vm_area_desc desc;
	int err;

	compat_set_desc_from_vma(&desc, file, vma);
	err = mat_mmap_prepare(&desc);
	if (err)
		return err;
	return __compat_vma_mmap(&desc, vma);
}

static const struct file_operations mat_nested_compat_fops = {
	.mmap	= mat_nested_compat_mmap,
};

/* mmap() MAT_LEN bytes of @mf through a stacked file with @fops. */
static unsigned long mat_mmap_stacked(struct mat_file *mf,
				      const struct file_operations *fops)
{
	struct file *file = mat_file_open(mf->test, fops, mf);

	KUNIT_ASSERT_EQ(mf->test, 0, kunit_attach_mm());
	return vm_mmap(file, 0, MAT_LEN, PROT_READ | PROT_WRITE, MAP_SHARED, 0);
}

/* Through a stacked file, i.e. compat_vma_mmap(), the action populates. */
static void compat_remap_maps_every_page(struct kunit *test)
{
	struct mat_file *mf = mat_file_create(test);
	unsigned long addr = mat_mmap_stacked(mf, &mat_compat_fops);

	KUNIT_ASSERT_FALSE(test, IS_ERR_VALUE(addr));
	expect_range_maps_pfn(test, addr, MAT_LEN, mf->pfn, mf->prot);
}

/*
 * A hidden action run by a nested mmap_prepare through __compat_vma_mmap():
 * the VMA was linked into rmap by the outer mmap() already, no rmap lock
 * was taken for the action, and none may be released for it. The stacked
 * file's i_mmap_rwsem must come out free, and whole.
 */
static void nested_compat_hidden_remap_leaves_rmap_lock_alone(struct kunit *test)
{
	struct mat_file *mf = mat_file_create(test);
	struct rw_semaphore *rmap = NULL;
	struct vm_area_struct *vma;
	unsigned long addr;

	mf->hide_from_rmap = true;
	addr = mat_mmap_stacked(mf, &mat_nested_compat_fops);
	KUNIT_ASSERT_FALSE(test, IS_ERR_VALUE(addr));
	expect_range_maps_pfn(test, addr, MAT_LEN, mf->pfn, mf->prot);

	mmap_read_lock(current->mm);
	vma = vma_lookup(current->mm, addr);
	if (vma)
		rmap = &vma->vm_file->f_mapping->i_mmap_rwsem;
	mmap_read_unlock(current->mm);
	KUNIT_ASSERT_NOT_NULL(test, rmap);
	KUNIT_EXPECT_FALSE(test, rwsem_is_locked(rmap));
	KUNIT_ASSERT_TRUE(test, down_write_trylock(rmap));
	up_write(rmap);
}

static struct kunit_case mmap_remap_test_cases[] = {
	KUNIT_CASE(remap_maps_every_page),
	KUNIT_CASE(hidden_remap_maps_every_page),
	KUNIT_CASE(hidden_remap_allocates_nothing_under_rmap_lock),
	KUNIT_CASE(failed_action_leaves_no_vma),
	KUNIT_CASE(failed_action_reports_error_override),
	KUNIT_CASE(hidden_vma_zap_waits_for_completion),
	KUNIT_CASE(visible_vma_zap_runs_before_completion),
	KUNIT_CASE(compat_remap_maps_every_page),
	KUNIT_CASE(nested_compat_hidden_remap_leaves_rmap_lock_alone),
	{}
};

static struct kunit_suite mmap_remap_test_suite = {
	.name = "mmap_remap",
	.suite_init = mat_suite_init,
	.suite_exit = mat_suite_exit,
	.test_cases = mmap_remap_test_cases,
};

kunit_test_suite(mmap_remap_test_suite);

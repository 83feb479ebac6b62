// SPDX-License-Identifier: GPL-2.0-only
/*
 * KUnit tests for mmap_prepare PFN remap actions: what they map, that a
 * failed action leaves nothing behind, and that a VMA hidden from rmap
 * until its action completes is never seen half-populated by
 * unmap_mapping_range(), also when the action runs from a stacked driver's
 * f_op->mmap.
 */
#include <kunit/test.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/rwsem.h>

#include "mmap_kunit.h"

#define MAT_MAPPED_ERR		(-ENOSPC)
#define MAT_OVERRIDE_ERR	(-EAGAIN)

/*
 * Called from vm_ops->mapped (mmap_lock held for write): the action has
 * populated the VMA. Check that, then start a zap and report whether it
 * could finish before mmap completed.
 */
static void mat_zap_while_mapped(struct mat_file *mf)
{
	struct kunit *test = mf->test;

	/* The VMA is fully populated before ->mapped runs. */
	__expect_range_maps_pfn(test, mf->start, mf->end - mf->start,
				mf->pfn, mf->prot);
	if (!mat_start_zapper(mf))
		return;

	if (mf->hide_from_rmap) {
		/* The zap must queue on the rmap lock held across the action... */
		KUNIT_EXPECT_TRUE(test, mat_zapper_blocked_on_rmap(mf, MAT_WAIT_MS));
		/* ...and stay there for as long as mmap has not completed. */
		KUNIT_EXPECT_FALSE(test, mat_zap_finished_within(mf, MAT_BLOCKED_MS));
	} else {
		/* Visible to rmap: nothing holds the zap off. */
		KUNIT_EXPECT_TRUE(test, mat_zap_finished_within(mf, MAT_WAIT_MS));
	}
}

/* Check, from ->mapped, that the action had populated the VMA. */
static void mat_expect_populated(struct mat_file *mf)
{
	__expect_range_maps_pfn(mf->test, mf->start, mf->end - mf->start,
				mf->pfn, mf->prot);
}

/* Every page of a remapped VMA maps the requested PFN and pgprot. */
static void remap_maps_every_page(struct kunit *test)
{
	struct mat_file *mf = mat_file_create(test);
	unsigned long addr = mat_mmap(mf, MAT_LEN, 0);

	KUNIT_ASSERT_FALSE(test, IS_ERR_VALUE(addr));
	expect_range_maps_pfn(test, addr, MAT_LEN, mf->pfn, mf->prot);
}

/* The file offset selects the first PFN, as for remap_pfn_range(). */
static void remap_follows_pgoff(struct kunit *test)
{
	struct mat_file *mf = mat_file_create(test);
	unsigned long addr = mat_mmap(mf, MAT_LEN, 5);

	KUNIT_ASSERT_FALSE(test, IS_ERR_VALUE(addr));
	expect_range_maps_pfn(test, addr, MAT_LEN, mf->pfn + 5, mf->prot);
}

/* Hiding from rmap changes nothing in what gets mapped... */
static void hidden_remap_maps_every_page(struct kunit *test)
{
	struct mat_file *mf = mat_file_create(test);
	unsigned long addr;

	mf->hide_from_rmap = true;
	addr = mat_mmap(mf, MAT_LEN, 0);
	KUNIT_ASSERT_FALSE(test, IS_ERR_VALUE(addr));
	expect_range_maps_pfn(test, addr, MAT_LEN, mf->pfn, mf->prot);
}

/* ...and the rmap lock is released once mmap returns. */
static void hidden_remap_releases_rmap_lock(struct kunit *test)
{
	struct mat_file *mf = mat_file_create(test);
	unsigned long addr;

	mf->hide_from_rmap = true;
	addr = mat_mmap(mf, MAT_LEN, 0);
	KUNIT_ASSERT_FALSE(test, IS_ERR_VALUE(addr));
	KUNIT_EXPECT_FALSE(test, mat_rmap_locked(mf));
}

/* A populated VMA whose completion fails is unmapped; the error returns. */
static void failed_action_leaves_no_vma(struct kunit *test)
{
	struct mat_file *mf = mat_file_create(test);
	unsigned long addr;

	mf->mapped_err = MAT_MAPPED_ERR;
	mf->mapped_hook = mat_expect_populated;
	addr = mat_mmap(mf, MAT_LEN, 0);
	KUNIT_EXPECT_EQ(test, (long)addr, (long)MAT_MAPPED_ERR);
	KUNIT_ASSERT_NE(test, mf->start, 0);
	expect_no_vma(test, mf->start, mf->end);
}

/* Failing while hidden from rmap drops the rmap lock as well. */
static void failed_hidden_action_releases_rmap_lock(struct kunit *test)
{
	struct mat_file *mf = mat_file_create(test);
	unsigned long addr;

	mf->hide_from_rmap = true;
	mf->mapped_err = MAT_MAPPED_ERR;
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
 * Hidden from rmap: a zap started once the VMA is populated cannot finish
 * before mmap completes, and when it does finish nothing is left mapped.
 */
static void hidden_vma_zap_waits_for_completion(struct kunit *test)
{
	struct mat_file *mf = mat_file_create(test);
	unsigned long addr;

	mf->hide_from_rmap = true;
	mf->mapped_hook = mat_zap_while_mapped;
	addr = mat_mmap(mf, MAT_LEN, 0);
	KUNIT_ASSERT_FALSE(test, IS_ERR_VALUE(addr));
	KUNIT_ASSERT_TRUE(test, mat_zap_finished_within(mf, MAT_WAIT_MS));
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
	addr = mat_mmap(mf, MAT_LEN, 0);
	KUNIT_ASSERT_FALSE(test, IS_ERR_VALUE(addr));
	KUNIT_ASSERT_TRUE(test, mat_zap_finished_within(mf, MAT_WAIT_MS));
	expect_range_unmapped(test, addr, MAT_LEN);
}

/* A stacked driver's ->mmap that runs @mf's mmap_prepare, as ecryptfs does. */
static int mat_compat_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct mat_file *mf = file->private_data;

	return compat_vma_mmap(mf->file, vma);
}

static const struct file_operations mat_compat_fops = {
	.owner	= THIS_MODULE,
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
	.owner	= THIS_MODULE,
	.mmap	= mat_nested_compat_mmap,
};

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
	KUNIT_CASE(remap_follows_pgoff),
	KUNIT_CASE(hidden_remap_maps_every_page),
	KUNIT_CASE(hidden_remap_releases_rmap_lock),
	KUNIT_CASE(failed_action_leaves_no_vma),
	KUNIT_CASE(failed_hidden_action_releases_rmap_lock),
	KUNIT_CASE(failed_action_reports_error_override),
	KUNIT_CASE(hidden_vma_zap_waits_for_completion),
	KUNIT_CASE(visible_vma_zap_runs_before_completion),
	KUNIT_CASE(compat_remap_maps_every_page),
	KUNIT_CASE(nested_compat_hidden_remap_leaves_rmap_lock_alone),
	{}
};

static struct kunit_suite mmap_remap_test_suite = {
	.name = "mmap_remap",
	.test_cases = mmap_remap_test_cases,
};

kunit_test_suite(mmap_remap_test_suite);

MODULE_DESCRIPTION("KUnit tests for mmap_prepare PFN remap actions");
MODULE_LICENSE("GPL");

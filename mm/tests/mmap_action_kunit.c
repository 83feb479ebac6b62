// SPDX-License-Identifier: GPL-2.0-only
/*
 * KUnit tests for mmap_prepare actions.
 *
 * Each test maps a file of its own, whose f_op->mmap_prepare asks the mm to
 * remap a PFN range, into a test mm and then inspects what the action left
 * in the page tables. The PFNs are synthetic: above the end of RAM, never
 * accessed, so no memory or device has to be behind them.
 */
#include <kunit/test.h>
#include <linux/anon_inodes.h>
#include <linux/completion.h>
#include <linux/delay.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/kthread.h>
#include <linux/memblock.h>
#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/rwsem.h>
#include <linux/sizes.h>

#define MAT_NR_PAGES		16
#define MAT_LEN			(MAT_NR_PAGES * PAGE_SIZE)
#define MAT_MAPPED_ERR		(-ENOSPC)
#define MAT_OVERRIDE_ERR	(-EAGAIN)
/* Generous bounds for events that must happen; never hit when passing. */
#define MAT_WAIT_MS		10000
/* How long a zap that must stay blocked is given to (wrongly) finish. */
#define MAT_BLOCKED_MS		200

/**
 * struct mat_file - A test file and what its mmap_prepare asks for.
 * @test: The test this file belongs to.
 * @file: The file, on an anonymous inode of its own (so its own mapping).
 * @pfn: PFN the first page of the file (pgoff 0) maps.
 * @hide_from_rmap: Set action->hide_from_rmap_until_complete.
 * @error_override: Set action->error_override.
 * @mapped_err: What vm_ops->mapped returns.
 * @mapped_hook: Run from vm_ops->mapped, i.e. after the action populated the
 *	VMA and, if hidden, with the rmap lock still held.
 * @prot: The page protection mmap_prepare requested.
 * @start: Start of the VMA, as vm_ops->mapped saw it.
 * @end: End of the VMA, as vm_ops->mapped saw it.
 * @zapper: Thread running unmap_mapping_range() on @file, if started.
 * @zap_started: Completed by @zapper just before it starts the zap.
 * @zap_done: Completed by @zapper once unmap_mapping_range() returned.
 */
struct mat_file {
	struct kunit *test;
	struct file *file;
	unsigned long pfn;
	bool hide_from_rmap;
	int error_override;
	int mapped_err;
	void (*mapped_hook)(struct mat_file *mf);
	pgprot_t prot;
	unsigned long start;
	unsigned long end;
	struct task_struct *zapper;
	struct completion zap_started;
	struct completion zap_done;
};

/*
 * A PFN range that is 1G-aligned, above RAM and above the 32-bit hole, so
 * nothing else maps or reserves it.
 */
static unsigned long mat_synthetic_pfn(void)
{
	const unsigned long pfns_1g = SZ_1G >> PAGE_SHIFT;
	unsigned long top = max(max_pfn, (unsigned long)(SZ_4G >> PAGE_SHIFT));

	return round_up(top, pfns_1g) + pfns_1g;
}

static int mat_mapped(unsigned long start, unsigned long end, pgoff_t pgoff,
		      const struct file *file, void **vm_private_data)
{
	struct mat_file *mf = file->private_data;

	mf->start = start;
	mf->end = end;
	if (mf->mapped_hook)
		mf->mapped_hook(mf);
	return mf->mapped_err;
}

static const struct vm_operations_struct mat_vm_ops = {
	.mapped = mat_mapped,
};

static int mat_mmap_prepare(struct vm_area_desc *desc)
{
	struct mat_file *mf = desc->file->private_data;

	desc->page_prot = pgprot_noncached(desc->page_prot);
	mf->prot = desc->page_prot;
	desc->vm_ops = &mat_vm_ops;
	desc->private_data = mf;

	mmap_action_remap_full(desc, mf->pfn + desc->pgoff);
	desc->action.hide_from_rmap_until_complete = mf->hide_from_rmap;
	desc->action.error_override = mf->error_override;
	return 0;
}

static const struct file_operations mat_fops = {
	.owner		= THIS_MODULE,
	.mmap_prepare	= mat_mmap_prepare,
};

static void mat_wait_zapper(void *data)
{
	struct mat_file *mf = data;

	if (mf->zapper)
		wait_for_completion(&mf->zap_done);
}

static void mat_fput(void *data)
{
	fput(data);
}

/* A test file on an inode of its own, released when the test ends. */
static struct mat_file *mat_file_create(struct kunit *test)
{
	struct mat_file *mf;
	struct file *file;

	mf = kunit_kzalloc(test, sizeof(*mf), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, mf);
	mf->test = test;
	mf->pfn = mat_synthetic_pfn();
	init_completion(&mf->zap_started);
	init_completion(&mf->zap_done);

	file = anon_inode_create_getfile("[mmap_action_test]", &mat_fops, mf,
					 O_RDWR, NULL);
	KUNIT_ASSERT_FALSE(test, IS_ERR(file));
	KUNIT_ASSERT_EQ(test, 0, kunit_add_action_or_reset(test, mat_fput, file));
	mf->file = file;
	/* Runs before mat_fput(): a zap in flight still has its file. */
	KUNIT_ASSERT_EQ(test, 0, kunit_add_action_or_reset(test, mat_wait_zapper, mf));
	return mf;
}

/* mmap() @mf shared and writable at page offset @pgoff into the test mm. */
static unsigned long mat_mmap(struct mat_file *mf, unsigned long len,
			      unsigned long pgoff)
{
	KUNIT_ASSERT_EQ(mf->test, 0, kunit_attach_mm());
	return vm_mmap(mf->file, 0, len, PROT_READ | PROT_WRITE, MAP_SHARED,
		       pgoff << PAGE_SHIFT);
}

static bool mat_rmap_locked(struct mat_file *mf)
{
	return rwsem_is_locked(&mf->file->f_mapping->i_mmap_rwsem);
}

/*
 * Expect the page at @addr to be a special 4K PFN mapping of @pfn with
 * protection @prot. The caller holds mmap_lock.
 */
static void expect_page_maps_pfn(struct kunit *test,
				 struct vm_area_struct *vma,
				 unsigned long addr, unsigned long pfn,
				 pgprot_t prot)
{
	/* What remap_pfn_range() installs for @pfn with @prot. */
	const pte_t want = pte_mkspecial(pfn_pte(pfn, prot));
	struct follow_pfnmap_args args = { .vma = vma, .address = addr };

	if (follow_pfnmap_start(&args)) {
		KUNIT_FAIL(test, "no PFN mapped at %#lx", addr);
		return;
	}
	KUNIT_EXPECT_EQ_MSG(test, args.pfn, pfn, "at %#lx", addr);
	KUNIT_EXPECT_EQ_MSG(test, pgprot_val(args.pgprot),
			    pgprot_val(pte_pgprot(want)), "at %#lx", addr);
	KUNIT_EXPECT_EQ_MSG(test, args.addr_mask, PAGE_MASK, "at %#lx", addr);
	/* Without pte_special() nothing can be told special (UML). */
	if (IS_ENABLED(CONFIG_ARCH_HAS_PTE_SPECIAL))
		KUNIT_EXPECT_TRUE_MSG(test, args.special, "at %#lx", addr);
	KUNIT_EXPECT_TRUE_MSG(test, args.writable, "at %#lx", addr);
	follow_pfnmap_end(&args);
}

/* As expect_range_maps_pfn(), with mmap_lock already held. */
static void __expect_range_maps_pfn(struct kunit *test, unsigned long start,
				    unsigned long len, unsigned long pfn,
				    pgprot_t prot)
{
	struct vm_area_struct *vma = vma_lookup(current->mm, start);
	unsigned long addr;

	if (!vma || vma->vm_end < start + len) {
		KUNIT_FAIL(test, "no VMA covers [%#lx, %#lx)", start, start + len);
		return;
	}
	for (addr = start; addr < start + len; addr += PAGE_SIZE, pfn++)
		expect_page_maps_pfn(test, vma, addr, pfn, prot);
}

/* Expect every page of [@start, @start + @len) to map @pfn onwards. */
static void expect_range_maps_pfn(struct kunit *test, unsigned long start,
				  unsigned long len, unsigned long pfn,
				  pgprot_t prot)
{
	mmap_read_lock(current->mm);
	__expect_range_maps_pfn(test, start, len, pfn, prot);
	mmap_read_unlock(current->mm);
}

/* Expect a VMA over [@start, @start + @len) but no page mapped in it. */
static void expect_range_unmapped(struct kunit *test, unsigned long start,
				  unsigned long len)
{
	struct vm_area_struct *vma;
	unsigned long addr;

	mmap_read_lock(current->mm);
	vma = vma_lookup(current->mm, start);
	if (!vma || vma->vm_end < start + len) {
		KUNIT_FAIL(test, "no VMA covers [%#lx, %#lx)", start, start + len);
		goto out;
	}
	for (addr = start; addr < start + len; addr += PAGE_SIZE) {
		struct follow_pfnmap_args args = { .vma = vma, .address = addr };

		if (!follow_pfnmap_start(&args)) {
			KUNIT_FAIL(test, "PFN %#lx still mapped at %#lx",
				   args.pfn, addr);
			follow_pfnmap_end(&args);
		}
	}
out:
	mmap_read_unlock(current->mm);
}

/* Expect nothing at all mapped in [@start, @end). */
static void expect_no_vma(struct kunit *test, unsigned long start,
			  unsigned long end)
{
	struct vm_area_struct *vma;

	mmap_read_lock(current->mm);
	vma = find_vma_intersection(current->mm, start, end);
	KUNIT_EXPECT_NULL_MSG(test, vma, "VMA left in [%#lx, %#lx)", start, end);
	mmap_read_unlock(current->mm);
}

static int mat_zap_fn(void *data)
{
	struct mat_file *mf = data;

	complete_all(&mf->zap_started);
	unmap_mapping_range(mf->file->f_mapping, 0, 0, 1);
	/* All: the test and its cleanup may both wait for this. */
	complete_all(&mf->zap_done);
	return 0;
}

/* Start unmap_mapping_range() of the whole file on a second thread. */
static bool mat_start_zapper(struct mat_file *mf)
{
	struct task_struct *task;

	task = kthread_run(mat_zap_fn, mf, "mat_zapper");
	if (IS_ERR(task)) {
		KUNIT_FAIL(mf->test, "cannot start the zap thread: %ld",
			   PTR_ERR(task));
		return false;
	}
	mf->zapper = task;
	wait_for_completion(&mf->zap_started);
	return true;
}

/* Wait up to @ms for the zap thread to be queued on the rmap lock. */
static bool mat_zapper_blocked_on_rmap(struct mat_file *mf, unsigned int ms)
{
	struct rw_semaphore *rmap = &mf->file->f_mapping->i_mmap_rwsem;
	unsigned long deadline = jiffies + msecs_to_jiffies(ms);

	while (!rwsem_is_contended(rmap)) {
		if (time_after(jiffies, deadline))
			return false;
		usleep_range(1000, 2000);
	}
	return true;
}

static bool mat_zap_finished_within(struct mat_file *mf, unsigned int ms)
{
	return wait_for_completion_timeout(&mf->zap_done,
					   msecs_to_jiffies(ms)) > 0;
}

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

/* Check, from ->mapped, that the action had populated the VMA. */
static void mat_expect_populated(struct mat_file *mf)
{
	__expect_range_maps_pfn(mf->test, mf->start, mf->end - mf->start,
				mf->pfn, mf->prot);
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
 * before mmap completes, and when it does finish no PTE is left.
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

static struct kunit_case mmap_action_test_cases[] = {
	KUNIT_CASE(remap_maps_every_page),
	KUNIT_CASE(remap_follows_pgoff),
	KUNIT_CASE(hidden_remap_maps_every_page),
	KUNIT_CASE(hidden_remap_releases_rmap_lock),
	KUNIT_CASE(failed_action_leaves_no_vma),
	KUNIT_CASE(failed_hidden_action_releases_rmap_lock),
	KUNIT_CASE(failed_action_reports_error_override),
	KUNIT_CASE(hidden_vma_zap_waits_for_completion),
	KUNIT_CASE(visible_vma_zap_runs_before_completion),
	{}
};

static struct kunit_suite mmap_action_test_suite = {
	.name = "mmap_action",
	.test_cases = mmap_action_test_cases,
};

kunit_test_suite(mmap_action_test_suite);

MODULE_DESCRIPTION("KUnit tests for mmap_prepare actions");
MODULE_LICENSE("GPL");

// SPDX-License-Identifier: GPL-2.0-only
/*
 * KUnit tests for optional population of mmap_prepare PFN remaps: the gate
 * on a driver's invalidation sequence (mmap_action_gate()) and the limit on
 * page tables (mmap_action_limit_pte_tables()).
 *
 * The test driver does what vfio-pci does: its "memory" can be disabled by
 * a section that takes its lock, enters its invalidation sequence, zaps its
 * mappings with unmap_mapping_range() and marks the memory off; its
 * mmap_prepare samples the sequence, looks at the memory without the lock,
 * and asks for a gated, hidden remap only if the memory is on. A second
 * thread runs the disabling sections at the points of mmap() each test
 * names, and the tests check what is mapped once both are done: never an
 * entry while the memory is off.
 */
#include <kunit/test.h>
#include <linux/debug_locks.h>
#include <linux/delay.h>
#include <linux/io.h>
#include <linux/kthread.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/mutex.h>
#include <linux/pagemap.h>
#include <linux/random.h>
#include <linux/sched/mm.h>
#include <linux/seqlock.h>
#include <linux/wait.h>

#include "mmap_kunit_helpers.h"

#define MAT_MAPPED_ERR		(-ENOSPC)

/**
 * struct mat_dev - The test driver behind a gated test file.
 * @mf: Its file.
 * @lock: Held by sections that change @enabled (vfio's memory_lock).
 * @seq: The invalidation sequence: entered before every zap.
 * @enabled: The memory is usable; written under @lock, read without.
 * @raw_sample: Gate with the sequence as read, even if odd, instead of
 *	declining while a section is open, as a correct driver does.
 * @limit: Also limit population to @max_pte_tables PTE tables.
 * @max_pte_tables: See @limit.
 * @after_gate: Run at the end of mmap_prepare, once the action is gated.
 * @gated: Number of mmap()s the driver asked to populate.
 * @entered: Completed by a zap thread once it entered the sequence.
 * @populated: ->mapped found the VMA fully populated.
 */
struct mat_dev {
	struct mat_file *mf;
	struct mutex lock;	/* held by sections that change @enabled */
	seqcount_t seq;
	bool enabled;
	bool raw_sample;
	bool limit;
	unsigned int max_pte_tables;
	void (*after_gate)(struct mat_dev *dev);
	int gated;
	struct completion entered;
	bool populated;
};

/* The test driver's mmap_prepare, after mat_mmap_prepare() set up @desc. */
static void mat_dev_prepare(struct mat_file *mf, struct vm_area_desc *desc)
{
	struct mat_dev *dev = mf->priv;
	unsigned int seq;

	if (dev->raw_sample)
		seq = raw_read_seqcount(&dev->seq);
	else if (!raw_seqcount_try_begin(&dev->seq, seq))
		return;
	if (!READ_ONCE(dev->enabled))
		return;

	mmap_action_remap_full(desc, mf->pfn + desc->pgoff);
	if (mf->huge)
		mmap_action_allow_huge_leaves(desc);
	mmap_action_gate(desc, &dev->seq, seq);
	if (dev->limit)
		mmap_action_limit_pte_tables(desc, dev->max_pte_tables);
	dev->gated++;
	if (dev->after_gate)
		dev->after_gate(dev);
}

/* Is every page of [@start, @end) mapped? Leaf by leaf. */
static bool mat_fully_mapped(unsigned long start, unsigned long end)
{
	unsigned long addr, pfn, size;

	for (addr = start; addr < end; addr = ALIGN_DOWN(addr, size) + size) {
		size = __mat_leaf_size(current->mm, addr, &pfn);
		if (!size)
			return false;
	}
	return true;
}

/* ->mapped hook: note whether the action populated the whole VMA. */
static void mat_dev_note_population(struct mat_file *mf)
{
	struct mat_dev *dev = mf->priv;

	dev->populated = mat_fully_mapped(mf->start, mf->end);
}

/* A file of a test driver whose memory is on, for gated population. */
static struct mat_dev *mat_dev_create(struct kunit *test)
{
	struct mat_file *mf = mat_file_create(test);
	struct mat_dev *dev;

	dev = kunit_kzalloc(test, sizeof(*dev), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, dev);
	dev->mf = mf;
	mutex_init(&dev->lock);
	seqcount_init(&dev->seq);
	init_completion(&dev->entered);
	dev->enabled = true;
	mf->priv = dev;
	mf->lazy = true;
	mf->prepare_hook = mat_dev_prepare;
	mf->mapped_hook = mat_dev_note_population;
	return dev;
}

/*
 * Disable the memory as a driver must: enter the sequence, zap, mark the
 * memory off, leave the sequence. With @wait_linked, wait between entering
 * and zapping until the VMA being mapped is linked into the rmap tree.
 */
static void __mat_dev_disable(struct mat_dev *dev, bool wait_linked)
{
	struct mat_file *mf = dev->mf;

	mutex_lock(&dev->lock);
	raw_write_seqcount_begin(&dev->seq);
	complete_all(&dev->entered);
	if (wait_linked)
		mat_wait_rmap_locked(mf);
	unmap_mapping_range(mf->file->f_mapping, 0, 0, 1);
	WRITE_ONCE(dev->enabled, false);
	raw_write_seqcount_end(&dev->seq);
	mutex_unlock(&dev->lock);
}

static void mat_dev_disable(struct mat_dev *dev)
{
	__mat_dev_disable(dev, false);
}

/* Zap thread bodies. */
static void mat_dev_zap(struct mat_file *mf)
{
	mat_dev_disable(mf->priv);
}

static void mat_dev_zap_once_linked(struct mat_file *mf)
{
	__mat_dev_disable(mf->priv, true);
}

/* Memory on again: nothing to zap, no sequence to enter. */
static void mat_dev_enable(struct mat_dev *dev)
{
	mutex_lock(&dev->lock);
	WRITE_ONCE(dev->enabled, true);
	mutex_unlock(&dev->lock);
}

/* Expect no entry in [@addr, @addr + @len) while the memory is off. */
static void expect_none_while_disabled(struct kunit *test, struct mat_dev *dev,
				       unsigned long addr, unsigned long len)
{
	KUNIT_EXPECT_FALSE(test, READ_ONCE(dev->enabled));
	expect_range_unmapped(test, addr, len);
}

/* Memory on and no zap: the action populates, all of it. */
static void gate_populates_when_sequence_unchanged(struct kunit *test)
{
	struct mat_dev *dev = mat_dev_create(test);
	unsigned long addr = mat_mmap(dev->mf, MAT_LEN, 0);

	KUNIT_ASSERT_FALSE(test, IS_ERR_VALUE(addr));
	KUNIT_EXPECT_EQ(test, dev->gated, 1);
	expect_range_maps_pfn(test, addr, MAT_LEN, dev->mf->pfn, dev->mf->prot);
	KUNIT_EXPECT_FALSE(test, mat_rmap_locked(dev->mf));
}

/*
 * A zap that runs wholly between mmap_prepare and the link into rmap: the
 * driver had found the memory on, but the sequence moved, and the mm must
 * not populate. The memory stays off.
 */
static void gate_skips_zap_before_link(struct kunit *test)
{
	struct mat_dev *dev = mat_dev_create(test);
	unsigned long addr;

	dev->after_gate = mat_dev_disable;
	addr = mat_mmap(dev->mf, MAT_LEN, 0);
	KUNIT_ASSERT_FALSE(test, IS_ERR_VALUE(addr));
	KUNIT_EXPECT_EQ(test, dev->gated, 1);
	KUNIT_EXPECT_FALSE(test, dev->populated);
	expect_none_while_disabled(test, dev, addr, MAT_LEN);
}

/* mmap_prepare hook: a zap enters the sequence, then waits for the link. */
static void mat_dev_zap_in_progress(struct mat_dev *dev)
{
	dev->mf->zap = mat_dev_zap_once_linked;
	if (mat_start_zapper(dev->mf))
		wait_for_completion(&dev->entered);
}

/* ->mapped hook: population skipped, the zap queued on the rmap lock. */
static void mat_dev_expect_zap_queued(struct mat_file *mf)
{
	mat_dev_note_population(mf);
	mat_wait_zapper_queued_on_rmap(mf);
	KUNIT_EXPECT_FALSE(mf->test, completion_done(&mf->zap_done));
}

/*
 * A zap that entered the sequence before the link and zaps once the VMA is
 * linked: the mm finds the sequence moved, does not populate, and the zap,
 * queued on the rmap lock, runs once mmap() is over.
 */
static void gate_skips_zap_in_progress(struct kunit *test)
{
	struct mat_dev *dev = mat_dev_create(test);
	struct mat_file *mf = dev->mf;
	unsigned long addr;

	dev->after_gate = mat_dev_zap_in_progress;
	mf->mapped_hook = mat_dev_expect_zap_queued;
	addr = mat_mmap(mf, MAT_LEN, 0);
	KUNIT_ASSERT_FALSE(test, IS_ERR_VALUE(addr));
	wait_for_completion(&mf->zap_done);
	KUNIT_EXPECT_FALSE(test, dev->populated);
	expect_none_while_disabled(test, dev, addr, MAT_LEN);
}

/*
 * ->mapped hook, after population, the rmap lock still held: a zap starts,
 * enters the sequence, and must queue on the rmap lock until mmap() is over.
 */
static void mat_dev_zap_after_population(struct mat_file *mf)
{
	mat_dev_note_population(mf);
	if (!mat_start_zapper(mf))
		return;
	mat_wait_zapper_queued_on_rmap(mf);
	KUNIT_EXPECT_FALSE(mf->test, completion_done(&mf->zap_done));
}

/* A zap that starts once the mm populated waits, then removes all of it. */
static void gate_zap_after_population_removes_all(struct kunit *test)
{
	struct mat_dev *dev = mat_dev_create(test);
	struct mat_file *mf = dev->mf;
	unsigned long addr;

	mf->mapped_hook = mat_dev_zap_after_population;
	mf->zap = mat_dev_zap;
	KUNIT_ASSERT_TRUE(test, mat_create_zapper(mf));
	addr = mat_mmap(mf, MAT_LEN, 0);
	KUNIT_ASSERT_FALSE(test, IS_ERR_VALUE(addr));
	wait_for_completion(&mf->zap_done);
	KUNIT_EXPECT_TRUE(test, dev->populated);
	expect_none_while_disabled(test, dev, addr, MAT_LEN);
}

/* Thread that keeps a disabling section open until released. */
struct mat_section {
	struct mat_dev *dev;
	struct completion open;
	struct completion release;
	struct completion done;
};

static int mat_section_fn(void *data)
{
	struct mat_section *s = data;

	mutex_lock(&s->dev->lock);
	raw_write_seqcount_begin(&s->dev->seq);
	complete(&s->open);
	wait_for_completion(&s->release);
	raw_write_seqcount_end(&s->dev->seq);
	mutex_unlock(&s->dev->lock);
	complete_all(&s->done);
	return 0;
}

static void mat_section_close(void *data)
{
	struct mat_section *s = data;

	complete(&s->release);
	wait_for_completion(&s->done);
}

/*
 * A driver that gates with an odd sample, taken while a section is open
 * (and not yet zapping): the mm must not populate, even though the
 * sequence still reads that sample when it checks.
 */
static void gate_odd_sample_populates_nothing(struct kunit *test)
{
	struct mat_dev *dev = mat_dev_create(test);
	struct mat_section *s = kunit_kzalloc(test, sizeof(*s), GFP_KERNEL);
	struct task_struct *task;
	unsigned long addr;

	KUNIT_ASSERT_NOT_NULL(test, s);
	s->dev = dev;
	init_completion(&s->open);
	init_completion(&s->release);
	init_completion(&s->done);
	task = kthread_run(mat_section_fn, s, "mat_section");
	KUNIT_ASSERT_FALSE(test, IS_ERR(task));
	KUNIT_ASSERT_EQ(test, 0, kunit_add_action_or_reset(test, mat_section_close, s));
	wait_for_completion(&s->open);

	dev->raw_sample = true;
	addr = mat_mmap(dev->mf, MAT_LEN, 0);
	KUNIT_ASSERT_FALSE(test, IS_ERR_VALUE(addr));
	KUNIT_EXPECT_EQ(test, dev->gated, 1);
	KUNIT_EXPECT_FALSE(test, dev->populated);
	expect_range_unmapped(test, addr, MAT_LEN);
}

/*
 * What vfio-pci does: huge leaves, gated, hidden. A disable after mmap()
 * removes every PMD and PUD leaf.
 */
static void gate_huge_leaves_removed_by_zap(struct kunit *test)
{
	const unsigned long len = 2 * mat_block();
	const struct mat_seg segs[] = { { 0, len, mat_block() } };
	struct mat_dev *dev = mat_dev_create(test);
	unsigned long addr;

	dev->mf->huge = true;
	addr = mat_mmap_congruent(dev->mf, 0, len);
	KUNIT_ASSERT_FALSE(test, IS_ERR_VALUE(addr));
	KUNIT_EXPECT_EQ(test, expect_leaves(test, dev->mf, addr, segs, 1),
			len / min(mat_expected_leaf(), mat_block()));

	mat_dev_disable(dev);
	expect_none_while_disabled(test, dev, addr, len);
}

/*
 * Gated population allocates nothing with i_mmap_rwsem held either, PUD and
 * PMD leaves included (see hidden_remap_allocates_nothing_under_rmap_lock):
 * a mapping that needs page tables at every level, and leaves of each size.
 */
static void gate_allocates_nothing_under_rmap_lock(struct kunit *test)
{
	const unsigned long head = 3 * PAGE_SIZE;
	const unsigned long len = head + mat_block() + PMD_SIZE + head;
	struct mat_dev *dev = mat_dev_create(test);
	unsigned long addr;

	mat_teach_lockdep_reclaim_takes_rmap(test, dev->mf);
	dev->mf->huge = true;
	addr = mat_mmap_congruent(dev->mf, mat_block() - head, len);
	KUNIT_ASSERT_FALSE(test, IS_ERR_VALUE(addr));
	KUNIT_EXPECT_TRUE(test, dev->populated);
	KUNIT_EXPECT_TRUE_MSG(test, debug_locks, "lockdep reported a problem");
}

/* A dummy page cache operation: the file can have page cache. */
static int mat_read_folio(struct file *file, struct folio *folio)
{
	return -EIO;
}

static const struct address_space_operations mat_cache_aops = {
	.read_folio = mat_read_folio,
};

/* What makes a gate a driver bug, refused whatever the memory's state. */
struct mat_refusal {
	const char *what;
	void (*setup)(struct kunit *test, struct mat_dev *dev);
	unsigned long flags;
};

static void mat_nothing(struct kunit *test, struct mat_dev *dev)
{
}

static void mat_unhidden_gate(struct mat_file *mf, struct vm_area_desc *desc)
{
	mat_dev_prepare(mf, desc);
	desc->action.hide_from_rmap_until_complete = false;
}

static void mat_set_unhidden(struct kunit *test, struct mat_dev *dev)
{
	dev->mf->prepare_hook = mat_unhidden_gate;
}

static void mat_set_no_fault(struct kunit *test, struct mat_dev *dev)
{
	dev->mf->vm_ops = &mat_vm_ops_no_fault;
}

/* mmap_prepare hook: gate an action that is not a PFN remap. */
static void mat_gate_nothing(struct mat_file *mf, struct vm_area_desc *desc)
{
	struct mat_dev *dev = mf->priv;

	mmap_action_gate(desc, &dev->seq, raw_read_seqcount(&dev->seq));
}

static void mat_set_not_remap(struct kunit *test, struct mat_dev *dev)
{
	dev->mf->prepare_hook = mat_gate_nothing;
}

static void mat_set_page_cache(struct kunit *test, struct mat_dev *dev)
{
	dev->mf->file->f_mapping->a_ops = &mat_cache_aops;
}

static const struct mat_refusal mat_refusals[] = {
	/* A PFN remap sets a COW mapping's pgoff: a zap could not find it. */
	{ "MAP_PRIVATE", mat_nothing, MAP_PRIVATE },
	/* The VMA must be hidden from rmap until population is over. */
	{ "not hidden from rmap", mat_set_unhidden, MAP_SHARED },
	/* Nothing would fill the VMA when population is skipped. */
	{ "no vm_ops->fault", mat_set_no_fault, MAP_SHARED },
	{ "not a PFN remap", mat_set_not_remap, MAP_SHARED },
	/* Reclaim could take the rmap lock the mm holds for the gate. */
	{ "file with page cache", mat_set_page_cache, MAP_SHARED },
};

static void mat_refusal_desc(const struct mat_refusal *r, char *desc)
{
	strscpy(desc, r->what, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(mat_refusal, mat_refusals, mat_refusal_desc);

/* A gate the mm cannot keep is refused, with a warning. */
static void gate_refused(struct kunit *test)
{
	const struct mat_refusal *r = test->param_value;
	struct mat_dev *dev = mat_dev_create(test);
	unsigned long addr = 0;

	r->setup(test, dev);
	kunit_warning_suppress(test) {
		addr = mat_mmap_flags(dev->mf, MAT_LEN, PROT_READ | PROT_WRITE,
				      r->flags);
	}
	KUNIT_EXPECT_EQ(test, (long)addr, (long)-EINVAL);
}

/* PROT_NONE: mapped, and nothing populated, whatever pfn_modify_allowed(). */
static void gate_prot_none_mapped_unpopulated(struct kunit *test)
{
	struct mat_dev *dev = mat_dev_create(test);
	unsigned long addr;

	addr = mat_mmap_flags(dev->mf, MAT_LEN, PROT_NONE, MAP_SHARED);
	KUNIT_ASSERT_FALSE(test, IS_ERR_VALUE(addr));
	KUNIT_EXPECT_EQ(test, dev->gated, 1);
	expect_range_unmapped(test, addr, MAT_LEN);
}

/* A stacked driver's ->mmap that runs the test driver's mmap_prepare. */
static int mat_compat_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct mat_file *mf = file->private_data;

	return compat_vma_mmap(mf->file, vma);
}

static const struct file_operations mat_compat_fops = {
	.mmap	= mat_compat_mmap,
};

/*
 * compat_vma_mmap() runs the action before the VMA is in the rmap tree: a
 * gated action populates nothing there, and the fault handler fills the
 * VMA instead.
 */
static void gate_compat_path_populates_nothing(struct kunit *test)
{
	struct mat_dev *dev = mat_dev_create(test);
	struct file *file = mat_file_open(test, &mat_compat_fops, dev->mf);
	unsigned long addr;

	KUNIT_ASSERT_EQ(test, 0, kunit_attach_mm());
	addr = vm_mmap(file, 0, MAT_LEN, PROT_READ | PROT_WRITE, MAP_SHARED, 0);
	KUNIT_ASSERT_FALSE(test, IS_ERR_VALUE(addr));
	KUNIT_EXPECT_EQ(test, dev->gated, 1);
	expect_range_unmapped(test, addr, MAT_LEN);
	KUNIT_ASSERT_EQ(test, 0, mat_fault_in(addr));
	KUNIT_EXPECT_EQ(test, mat_count_entries(addr, MAT_LEN), 1);
}

/*
 * A gated action that fails after populating (->mapped fails here) leaves
 * no VMA, no page table and no rmap lock behind. The mapping has no
 * neighbour to share tables with.
 */
static void gate_failure_leaks_nothing(struct kunit *test)
{
	struct mat_dev *dev = mat_dev_create(test);
	struct mat_file *mf = dev->mf;
	unsigned long addr, before;

	mf->mapped_err = MAT_MAPPED_ERR;
	KUNIT_ASSERT_EQ(test, 0, kunit_attach_mm());
	before = mm_pgtables_bytes(current->mm);
	addr = mat_mmap_congruent(mf, 0, 2 * PMD_SIZE);
	KUNIT_EXPECT_EQ(test, (long)addr, (long)MAT_MAPPED_ERR);
	KUNIT_EXPECT_TRUE(test, dev->populated);
	KUNIT_ASSERT_NE(test, mf->start, 0);
	expect_no_vma(test, mf->start, mf->end);
	KUNIT_EXPECT_FALSE(test, mat_rmap_locked(mf));
	KUNIT_EXPECT_EQ(test, mm_pgtables_bytes(current->mm), before);
}

/* The protection bits of the entry mapping @addr; there must be one. */
static pgprot_t mat_entry_pgprot(struct kunit *test, unsigned long addr)
{
	struct follow_pfnmap_args args = { .address = addr };
	pgprot_t prot = __pgprot(0);

	mmap_read_lock(current->mm);
	args.vma = vma_lookup(current->mm, addr);
	if (args.vma && !follow_pfnmap_start(&args)) {
		prot = args.pgprot;
		follow_pfnmap_end(&args);
	} else {
		KUNIT_FAIL(test, "nothing mapped at %#lx", addr);
	}
	mmap_read_unlock(current->mm);
	return prot;
}

/* A write-combining reservation of part of the test range. */
struct mat_memtype {
	resource_size_t start;
	resource_size_t size;
};

static void mat_free_memtype_wc(void *data)
{
	struct mat_memtype *m = data;

	arch_io_free_memtype_wc(m->start, m->size);
}

/*
 * Reserve write-combining for @size bytes from @mf's PFN, as a driver's
 * ioremap reserves a memory type for its BAR. Returns whether memory types
 * are tracked here (x86 with PAT): whether a fault now maps WC where the
 * driver asks for uncached.
 */
static bool mat_reserve_wc(struct kunit *test, struct mat_file *mf,
			   resource_size_t size)
{
	struct mat_memtype *m = kunit_kzalloc(test, sizeof(*m), GFP_KERNEL);
	pgprot_t prot = pgprot_noncached(PAGE_KERNEL);
	pgprot_t before = prot;

	KUNIT_ASSERT_NOT_NULL(test, m);
	m->start = PFN_PHYS(mf->pfn);
	m->size = size;
	KUNIT_ASSERT_EQ(test, 0, arch_io_reserve_memtype_wc(m->start, size));
	KUNIT_ASSERT_EQ(test, 0, kunit_add_action_or_reset(test, mat_free_memtype_wc, m));
	pfnmap_setup_cachemode_pfn(mf->pfn, &prot);
	return pgprot_val(prot) != pgprot_val(before);
}

/*
 * A gated VMA is filled by the action or, after a zap or a skip, by faults:
 * both must map with the memory type reserved for the range. The driver
 * asks for uncached; the range is reserved write-combining.
 */
static void gate_populates_with_reserved_memtype(struct kunit *test)
{
	struct mat_dev *dev = mat_dev_create(test);
	struct mat_file *lazy = mat_file_create(test);
	unsigned long faulted, populated;

	if (!mat_reserve_wc(test, dev->mf, MAT_LEN))
		kunit_skip(test, "memory types are not tracked here");
	lazy->lazy = true;
	KUNIT_ASSERT_EQ(test, lazy->pfn, dev->mf->pfn);
	faulted = mat_mmap(lazy, MAT_LEN, 0);
	KUNIT_ASSERT_FALSE(test, IS_ERR_VALUE(faulted));
	KUNIT_ASSERT_EQ(test, 0, mat_fault_in(faulted));

	populated = mat_mmap(dev->mf, MAT_LEN, 0);
	KUNIT_ASSERT_FALSE(test, IS_ERR_VALUE(populated));
	KUNIT_ASSERT_TRUE(test, dev->populated);
	KUNIT_EXPECT_EQ(test, pgprot_val(mat_entry_pgprot(test, populated)),
			pgprot_val(mat_entry_pgprot(test, faulted)));
}

/*
 * With memory types tracked, a range that two different types are reserved
 * for cannot be populated with one: the preparation before the link fails,
 * and mmap() succeeds unpopulated, as it would if the gate had skipped.
 */
static void gate_over_two_memtypes_skips(struct kunit *test)
{
	struct mat_dev *dev = mat_dev_create(test);
	struct mat_file *mf = dev->mf;
	void __iomem *uc;
	unsigned long addr;

	/* WC for the first half, UC- (ioremap()'s) for the second. */
	if (!mat_reserve_wc(test, mf, MAT_LEN / 2))
		kunit_skip(test, "memory types are not tracked here");
	uc = ioremap(PFN_PHYS(mf->pfn) + MAT_LEN / 2, MAT_LEN / 2);
	KUNIT_ASSERT_NOT_NULL(test, uc);
	addr = mat_mmap(mf, MAT_LEN, 0);
	iounmap(uc);
	KUNIT_ASSERT_FALSE(test, IS_ERR_VALUE(addr));
	KUNIT_EXPECT_EQ(test, dev->gated, 1);
	KUNIT_EXPECT_FALSE(test, dev->populated);
	expect_range_unmapped(test, addr, MAT_LEN);
}

/*
 * Limit of two PTE tables, as vfio-pci sets it: a mapping placed for huge
 * leaves with an unaligned head and tail needs exactly two, and is
 * populated; with a limit of one it is not. Needs PMD leaves.
 */
static void limit_populates_within_budget(struct kunit *test)
{
	const unsigned long head = 3 * PAGE_SIZE, tail = 5 * PAGE_SIZE;
	const unsigned long len = head + 2 * PMD_SIZE + tail;
	const struct mat_seg segs[] = {
		{ 0, head, PAGE_SIZE },
		{ head, 2 * PMD_SIZE, PMD_SIZE },
		{ head + 2 * PMD_SIZE, tail, PAGE_SIZE },
	};
	struct mat_dev *dev = mat_dev_create(test);
	struct mat_dev *over = mat_dev_create(test);
	unsigned long addr;

	if (mat_expected_leaf() == PAGE_SIZE)
		kunit_skip(test, "no huge PFN mappings on this kernel");
	dev->mf->huge = true;
	over->mf->huge = true;
	dev->limit = true;
	over->limit = true;
	dev->max_pte_tables = 2;
	over->max_pte_tables = 1;

	addr = mat_mmap_congruent(dev->mf, PMD_SIZE - head, len);
	KUNIT_ASSERT_FALSE(test, IS_ERR_VALUE(addr));
	KUNIT_EXPECT_TRUE(test, dev->populated);
	expect_leaves(test, dev->mf, addr, segs, ARRAY_SIZE(segs));

	addr = mat_mmap_congruent(over->mf, PMD_SIZE - head, len);
	KUNIT_ASSERT_FALSE(test, IS_ERR_VALUE(addr));
	KUNIT_EXPECT_FALSE(test, over->populated);
	expect_range_unmapped(test, addr, len);
}

/*
 * Over the limit, population is skipped before anything is allocated: a
 * VA not congruent to the PFN, or THP disabled for the process, would need
 * a PTE per page. Only the mm knows the latter; a driver guessing from the
 * addresses would populate. The length needs more than two PTE tables:
 * three PMDs at least, two blocks where a block is a PUD.
 */
static void expect_over_budget_skipped(struct kunit *test, bool thp_disabled)
{
	const unsigned long len = max(3 * PMD_SIZE, 2 * mat_block());
	struct mat_dev *dev = mat_dev_create(test);
	unsigned long addr, before;

	dev->mf->huge = true;
	dev->limit = true;
	dev->max_pte_tables = 2;
	KUNIT_ASSERT_EQ(test, 0, kunit_attach_mm());
	if (thp_disabled)
		mm_flags_set(MMF_DISABLE_THP_COMPLETELY, current->mm);
	before = mm_pgtables_bytes(current->mm);
	addr = mat_mmap_at(dev->mf, thp_disabled ? 0 : PAGE_SIZE, len, 0);
	KUNIT_ASSERT_FALSE(test, IS_ERR_VALUE(addr));
	KUNIT_EXPECT_EQ(test, dev->gated, 1);
	KUNIT_EXPECT_FALSE(test, dev->populated);
	expect_range_unmapped(test, addr, len);
	KUNIT_EXPECT_EQ(test, mm_pgtables_bytes(current->mm), before);
}

static void limit_skips_incongruent_mapping(struct kunit *test)
{
	expect_over_budget_skipped(test, false);
}

static void limit_skips_when_thp_disabled(struct kunit *test)
{
	expect_over_budget_skipped(test, true);
}

/*
 * Randomized race of gated, hidden mmap() against disable and zap on a
 * second thread. The zapper disables the memory at a random point of each
 * mmap() (from its start to about twice as long as an mmap() takes), and
 * keeps it off until the test, which waits for that disable, has checked
 * its live mappings: so the checks are made while the memory is off, when
 * no mapping may have an entry. A mapping "overlapped" a disable if the sequence moved while its
 * mmap() ran: either the mm saw the move and skipped, or a zap had to wait
 * for population and remove it.
 */
#define MAT_STRESS_LIVE		4
#define MAT_STRESS_MIN_MMAPS	200
#define MAT_STRESS_MAX_MMAPS	2000
#define MAT_STRESS_OVERLAPS	50

struct mat_stress {
	struct mat_dev *dev;
	wait_queue_head_t wq;
	bool stop;
	unsigned long mmaps;		/* started, by the test */
	unsigned long mmap_ns;		/* a recent mmap()'s duration */
	unsigned long checks_off;	/* made while the memory was off */
	unsigned long zaps;
	struct completion done;
};

static int mat_stress_zap_fn(void *data)
{
	struct mat_stress *st = data;
	unsigned long served = 0, seen;

	while (!READ_ONCE(st->stop)) {
		/* Each mmap() of the test once: it waits for this disable. */
		wait_event(st->wq, READ_ONCE(st->mmaps) != served ||
			   READ_ONCE(st->stop));
		served = READ_ONCE(st->mmaps);
		ndelay(get_random_u32_below(min(2 * READ_ONCE(st->mmap_ns),
						10 * NSEC_PER_MSEC) + 1));
		seen = READ_ONCE(st->checks_off);
		mat_dev_disable(st->dev);
		WRITE_ONCE(st->zaps, st->zaps + 1);
		wake_up(&st->wq);
		/* Off until the test has checked its mappings. */
		wait_event(st->wq, READ_ONCE(st->checks_off) != seen ||
			   READ_ONCE(st->stop));
		mat_dev_enable(st->dev);
	}
	complete_all(&st->done);
	return 0;
}

static void mat_stop_stress(void *data)
{
	struct mat_stress *st = data;

	WRITE_ONCE(st->stop, true);
	wake_up(&st->wq);
	wait_for_completion(&st->done);
}

static void mat_unpin(void *data)
{
	set_cpus_allowed_ptr(current, cpu_possible_mask);
}

/*
 * Start the zap thread on another CPU than the test's, both pinned, so
 * that the two really run at once. Returns whether they do.
 */
static bool mat_start_stress(struct kunit *test, struct mat_stress *st)
{
	struct task_struct *task;
	unsigned int cpu, other;

	task = kthread_create(mat_stress_zap_fn, st, "mat_stress_zap");
	KUNIT_ASSERT_FALSE(test, IS_ERR(task));
	cpu = get_cpu();
	other = cpumask_any_but(cpu_online_mask, cpu);
	put_cpu();
	if (other < nr_cpu_ids) {
		KUNIT_ASSERT_EQ(test, 0, set_cpus_allowed_ptr(current, cpumask_of(cpu)));
		KUNIT_ASSERT_EQ(test, 0, kunit_add_action_or_reset(test, mat_unpin, NULL));
		kthread_bind(task, other);
	}
	wake_up_process(task);
	KUNIT_ASSERT_EQ(test, 0, kunit_add_action_or_reset(test, mat_stop_stress, st));
	return other < nr_cpu_ids;
}

/*
 * Entries in the live mappings while the memory is off, in *@stray; returns
 * whether it was off. Lock order as the zapper's (driver lock, then
 * i_mmap_rwsem); only the test takes mmap_lock before the driver's lock.
 */
static bool mat_check_live(struct mat_dev *dev, const unsigned long *addr,
			   const unsigned long *len, unsigned long *stray)
{
	bool off;
	int i;

	mmap_read_lock(current->mm);
	mutex_lock(&dev->lock);
	off = !dev->enabled;
	for (i = 0; off && i < MAT_STRESS_LIVE; i++)
		if (addr[i])
			*stray += __mat_count_entries(current->mm, addr[i],
						      addr[i] + len[i]);
	mutex_unlock(&dev->lock);
	mmap_read_unlock(current->mm);
	return off;
}

static void expect_no_stray_entry_under_stress(struct kunit *test, bool huge)
{
	struct mat_dev *dev = mat_dev_create(test);
	struct mat_stress *st = kunit_kzalloc(test, sizeof(*st), GFP_KERNEL);
	unsigned long addr[MAT_STRESS_LIVE] = {}, len[MAT_STRESS_LIVE] = {};
	unsigned long stray = 0, populated = 0, overlapped = 0, checks_on = 0;
	bool concurrent;
	int i, slot;

	KUNIT_ASSERT_NOT_NULL(test, st);
	st->dev = dev;
	dev->mf->huge = huge;
	init_waitqueue_head(&st->wq);
	init_completion(&st->done);
	KUNIT_ASSERT_EQ(test, 0, kunit_attach_mm());
	concurrent = mat_start_stress(test, st);

	for (i = 0; i < MAT_STRESS_MAX_MMAPS &&
	     (i < MAT_STRESS_MIN_MMAPS || overlapped < MAT_STRESS_OVERLAPS); i++) {
		unsigned int seq = raw_read_seqcount(&dev->seq);
		unsigned long zaps = READ_ONCE(st->zaps);
		u64 start;

		slot = i % MAT_STRESS_LIVE;
		if (addr[slot])
			vm_munmap(addr[slot], len[slot]);
		if (huge)
			len[slot] = (1 + get_random_u32_below(2)) * mat_block();
		else
			len[slot] = (1 + get_random_u32_below(MAT_NR_PAGES)) * PAGE_SIZE;
		dev->populated = false;
		WRITE_ONCE(st->mmaps, i + 1);
		wake_up(&st->wq);
		start = ktime_get_ns();
		if (huge)
			addr[slot] = mat_mmap_congruent(dev->mf, 0, len[slot]);
		else
			addr[slot] = mat_mmap(dev->mf, len[slot], 0);
		WRITE_ONCE(st->mmap_ns, ktime_get_ns() - start);
		KUNIT_ASSERT_FALSE(test, IS_ERR_VALUE(addr[slot]));
		populated += dev->populated;
		overlapped += raw_read_seqcount(&dev->seq) != seq;

		/* Let the disable racing with this mmap() land, then check. */
		wait_event(st->wq, READ_ONCE(st->zaps) != zaps ||
			   READ_ONCE(st->stop));
		if (mat_check_live(dev, addr, len, &stray)) {
			WRITE_ONCE(st->checks_off, st->checks_off + 1);
			wake_up(&st->wq);
		} else {
			checks_on++;
		}
	}
	mat_stop_stress(st);

	kunit_info(test, "%d mmaps, %lu populated, %lu overlapped a disable; %lu zaps; %lu of %lu checks with the memory off (%lu%%); %lu stray entries",
		   i, populated, overlapped, st->zaps, st->checks_off,
		   st->checks_off + checks_on,
		   st->checks_off * 100 / (st->checks_off + checks_on), stray);
	KUNIT_EXPECT_EQ(test, stray, 0);
	/* Both sides ran, and raced: there was something to get wrong. */
	KUNIT_EXPECT_GT(test, populated, 0);
	KUNIT_EXPECT_GT(test, st->zaps, 0);
	if (!concurrent) {
		kunit_info(test, "one CPU: the two sides interleave, rarely overlap");
		return;
	}
	/*
	 * Too few races to tell (a slow or single-threaded emulator): skip,
	 * but a failure above stands.
	 */
	if (overlapped < MAT_STRESS_OVERLAPS && test->status == KUNIT_SUCCESS)
		kunit_skip(test, "%lu of %d mmaps overlapped a disable, want %d",
			   overlapped, i, MAT_STRESS_OVERLAPS);
}

/* The race with small PTE-mapped VMAs. */
static void gate_stress_no_stray_pte(struct kunit *test)
{
	expect_no_stray_entry_under_stress(test, false);
}

/* The race with VMAs mapped by PMD and PUD leaves. */
static void gate_stress_no_stray_huge_leaf(struct kunit *test)
{
	if (mat_expected_leaf() == PAGE_SIZE)
		kunit_skip(test, "no huge PFN mappings on this kernel");
	expect_no_stray_entry_under_stress(test, true);
}

static struct kunit_case mmap_gate_test_cases[] = {
	KUNIT_CASE(gate_populates_when_sequence_unchanged),
	KUNIT_CASE(gate_skips_zap_before_link),
	KUNIT_CASE(gate_skips_zap_in_progress),
	KUNIT_CASE(gate_zap_after_population_removes_all),
	KUNIT_CASE(gate_odd_sample_populates_nothing),
	KUNIT_CASE(gate_huge_leaves_removed_by_zap),
	KUNIT_CASE(gate_allocates_nothing_under_rmap_lock),
	KUNIT_CASE_PARAM(gate_refused, mat_refusal_gen_params),
	KUNIT_CASE(gate_prot_none_mapped_unpopulated),
	KUNIT_CASE(gate_compat_path_populates_nothing),
	KUNIT_CASE(gate_failure_leaks_nothing),
	KUNIT_CASE(gate_populates_with_reserved_memtype),
	KUNIT_CASE(gate_over_two_memtypes_skips),
	KUNIT_CASE(limit_populates_within_budget),
	KUNIT_CASE(limit_skips_incongruent_mapping),
	KUNIT_CASE(limit_skips_when_thp_disabled),
	KUNIT_CASE(gate_stress_no_stray_pte),
	KUNIT_CASE(gate_stress_no_stray_huge_leaf),
	{}
};

static struct kunit_suite mmap_gate_test_suite = {
	.name = "mmap_gate",
	.suite_init = mat_suite_init,
	.suite_exit = mat_suite_exit,
	.test_cases = mmap_gate_test_cases,
};

kunit_test_suite(mmap_gate_test_suite);

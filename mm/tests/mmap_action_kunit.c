// SPDX-License-Identifier: GPL-2.0-only
/*
 * KUnit tests for mmap_prepare actions.
 *
 * Each test maps a file of its own, whose f_op->mmap_prepare asks the mm to
 * remap a PFN range, into a test mm and then inspects what the action left
 * in the page tables. The PFNs are synthetic: above the end of RAM, never
 * accessed, so no memory or device has to be behind them.
 *
 * Sizes follow the architecture, never 4K, 2M or 1G literally: mappings are
 * laid out in PMD_SIZE units, and in PUD_SIZE units too where a PUD is small
 * enough to map a few of (see mat_pud_layout()).
 */
#include <kunit/test.h>
#include <asm/tlb.h>
#include <linux/anon_inodes.h>
#include <linux/completion.h>
#include <linux/delay.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/kthread.h>
#include <linux/log2.h>
#include <linux/memblock.h>
#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/moduleparam.h>
#include <linux/pagemap.h>
#include <linux/random.h>
#include <linux/rwsem.h>
#include <linux/sched/mm.h>
#include <linux/sizes.h>

#include "../internal.h"

#define MAT_NR_PAGES		16
#define MAT_LEN			(MAT_NR_PAGES * PAGE_SIZE)
#define MAT_MAPPED_ERR		(-ENOSPC)
#define MAT_OVERRIDE_ERR	(-EAGAIN)
/* Generous bounds for events that must happen; never hit when passing. */
#define MAT_WAIT_MS		10000
/* How long a zap that must stay blocked is given to (wrongly) finish. */
#define MAT_BLOCKED_MS		200
/* Bounds of each randomized populate-versus-zap stress. */
#define MAT_STRESS_ITERATIONS	400
#define MAT_STRESS_MS		4000

/*
 * Whether the CPU the run boots on can map PUD leaves, as the run knows it
 * (the workbench passes it, e.g. 0 with clearcpuid=pdpe1gb on x86, and
 * fails a run that does not): -1 if not given, in which case the kernel's
 * own view is taken and pud_leaf_support_matches_run() is skipped.
 */
static int pud_leaves = -1;
module_param(pud_leaves, int, 0444);
MODULE_PARM_DESC(pud_leaves, "1 if the CPU can map PUD leaves, 0 if not");

/**
 * struct mat_file - A test file and what its mmap_prepare asks for.
 * @test: The test this file belongs to.
 * @file: The file, on an anonymous inode of its own (so its own mapping).
 * @pfn: PFN the first page of the file (pgoff 0) maps.
 * @lazy: Request no action; the VMA is filled by the fault handlers only.
 * @huge: Let the remap action map PMD and PUD leaves.
 * @vm_ops: The VMA's operations, if not the default ones.
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
 * @gated: Gate population with mmap_action_gate() on @mem_lock, as a
 *	driver whose "memory" can be disabled does.
 * @unhide_gated: Clear hide_from_rmap_until_complete after gating, which
 *	the mm must refuse.
 * @prepare_hook: Run at the end of mmap_prepare, before the VMA exists.
 * @may_populate_hook: Run by the gate's predicate.
 * @mem_lock: The test driver's lock: held for write to disable its memory
 *	and zap, taken for read (by trylock, in the mm) by the gate.
 * @mem_enabled: The test driver's memory is usable; under @mem_lock.
 * @zap_disables: @zapper disables the memory, under @mem_lock, around the
 *	zap, as a driver's memory disable or reset does.
 * @zap_once_linked: @zapper, holding @mem_lock, waits until the VMA being
 *	mapped is linked into the rmap tree (its rmap lock is taken) before
 *	it zaps, so that the gate finds the zap in progress.
 * @zap_locked: Completed by @zapper once it holds @mem_lock and the
 *	memory is disabled.
 * @predicate_calls: Number of calls of the gate's predicate.
 * @predicate_saw_lock: The predicate found @mem_lock held when called.
 * @populated_seen: ->mapped found the VMA fully populated.
 * @wc: Ask for write-combining page protection instead of uncached.
 */
struct mat_file {
	struct kunit *test;
	struct file *file;
	unsigned long pfn;
	bool lazy;
	bool huge;
	const struct vm_operations_struct *vm_ops;
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
	bool gated;
	bool unhide_gated;
	void (*prepare_hook)(struct mat_file *mf);
	void (*may_populate_hook)(struct mat_file *mf);
	struct rw_semaphore mem_lock;
	bool mem_enabled;
	bool zap_disables;
	bool zap_once_linked;
	struct completion zap_locked;
	int predicate_calls;
	bool predicate_saw_lock;
	bool populated_seen;
	bool wc;
};

/*
 * Can a test map a few PUD-sized blocks? Where a PUD maps 1G or less
 * (x86-64, and arm64 or riscv with 4K pages) mappings are laid out in PUD
 * units as well; where it maps far more (arm64 with 64K pages: 4T) or is
 * not a level of its own, in PMD units only.
 */
static bool mat_pud_layout(void)
{
	return PUD_SIZE > PMD_SIZE && PUD_SIZE <= SZ_1G;
}

/* The unit mappings are aligned to: a PUD where mappable, else a PMD. */
static unsigned long mat_block(void)
{
	return mat_pud_layout() ? PUD_SIZE : PMD_SIZE;
}

/*
 * A PFN range aligned to mat_block(), above RAM and above the 32-bit hole,
 * so nothing else maps or reserves it.
 */
static unsigned long mat_synthetic_pfn(void)
{
	const unsigned long block = mat_block() >> PAGE_SHIFT;
	unsigned long top = max(max_pfn, (unsigned long)(SZ_4G >> PAGE_SHIFT));

	return round_up(top, block) + block;
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

/*
 * Fill a fault as a PFN-mapping driver does (vfio-pci, say): @order's leaf
 * at the faulting address if the VMA covers it and the PFN is aligned to
 * it, else fall back to a smaller one.
 */
static vm_fault_t mat_huge_fault(struct vm_fault *vmf, unsigned int order)
{
	struct vm_area_struct *vma = vmf->vma;
	struct mat_file *mf = vma->vm_private_data;
	unsigned long size = PAGE_SIZE << order;
	unsigned long addr = ALIGN_DOWN(vmf->address, size);
	unsigned long pfn = mf->pfn + linear_page_index(vma, addr);
	bool write = vmf->flags & FAULT_FLAG_WRITE;

	if (addr < vma->vm_start || addr + size > vma->vm_end ||
	    !IS_ALIGNED(pfn, 1UL << order))
		return VM_FAULT_FALLBACK;
	if (!order)
		return vmf_insert_pfn(vma, addr, pfn);
#ifdef CONFIG_ARCH_SUPPORTS_PMD_PFNMAP
	if (order == PMD_ORDER)
		return vmf_insert_pfn_pmd(vmf, pfn, write);
#endif
#ifdef CONFIG_ARCH_SUPPORTS_PUD_PFNMAP
	if (order == PUD_ORDER)
		return vmf_insert_pfn_pud(vmf, pfn, write);
#endif
	return VM_FAULT_FALLBACK;
}

static vm_fault_t mat_fault(struct vm_fault *vmf)
{
	return mat_huge_fault(vmf, 0);
}

static const struct vm_operations_struct mat_vm_ops = {
	.mapped = mat_mapped,
	.fault = mat_fault,
	.huge_fault = mat_huge_fault,
};

/* Nothing to refill a cleared leaf with. */
static const struct vm_operations_struct mat_vm_ops_no_fault = {
	.mapped = mat_mapped,
};

/* Refills with PTEs only. */
static const struct vm_operations_struct mat_vm_ops_no_huge_fault = {
	.mapped = mat_mapped,
	.fault = mat_fault,
};

/*
 * The test driver's gate predicate: populate only while its memory is
 * enabled. The mm calls it with mem_lock held for read, taken by trylock.
 */
static bool mat_may_populate(void *data)
{
	struct mat_file *mf = data;

	mf->predicate_calls++;
	mf->predicate_saw_lock = rwsem_is_locked(&mf->mem_lock);
	if (mf->may_populate_hook)
		mf->may_populate_hook(mf);
	return mf->mem_enabled;
}

static int mat_mmap_prepare(struct vm_area_desc *desc)
{
	struct mat_file *mf = desc->file->private_data;

	desc->page_prot = pgprot_noncached(desc->page_prot);
	if (mf->wc)
		desc->page_prot = pgprot_writecombine(desc->page_prot);
	mf->prot = desc->page_prot;
	desc->vm_ops = mf->vm_ops ?: &mat_vm_ops;
	desc->private_data = mf;

	if (mf->lazy) {
		vma_desc_set_flags_mask(desc, VMA_REMAP_FLAGS);
		if (mf->gated)
			mmap_action_gate(desc, &mf->mem_lock, mat_may_populate, mf);
		return 0;
	}
	mmap_action_remap_full(desc, mf->pfn + desc->pgoff);
	if (mf->huge)
		mmap_action_allow_huge_leaves(desc);
	desc->action.hide_from_rmap_until_complete = mf->hide_from_rmap;
	desc->action.error_override = mf->error_override;
	if (mf->gated)
		mmap_action_gate(desc, &mf->mem_lock, mat_may_populate, mf);
	if (mf->unhide_gated)
		desc->action.hide_from_rmap_until_complete = false;
	if (mf->prepare_hook)
		mf->prepare_hook(mf);
	/* A gated remap maps with the cache mode a fault would use. */
	if (mf->gated)
		pfnmap_setup_cachemode_pfn(mf->pfn + desc->pgoff, &mf->prot);
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

/*
 * The test files' i_mmap_rwsem class. A hidden action populates with
 * i_mmap_rwsem held for write, and page tables are allocated with
 * GFP_KERNEL there; reclaim takes i_mmap_rwsem of files whose pages it
 * reclaims (and dma_resv_lockdep() tells lockdep that shrinkers may), so
 * that is only safe for a mapping without page cache, like a device's or
 * these files'. Such a file needs an i_mmap_rwsem class of its own, as
 * hugetlbfs's inodes have, or lockdep reports reclaim under it.
 */
static struct lock_class_key mat_i_mmap_rwsem_key;

/* A test file on an inode of its own, released when the test ends. */
static struct mat_file *mat_file_create_fops(struct kunit *test,
					     const struct file_operations *fops)
{
	struct mat_file *mf;
	struct file *file;

	mf = kunit_kzalloc(test, sizeof(*mf), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, mf);
	mf->test = test;
	mf->pfn = mat_synthetic_pfn();
	init_completion(&mf->zap_started);
	init_completion(&mf->zap_done);
	init_completion(&mf->zap_locked);
	init_rwsem(&mf->mem_lock);
	mf->mem_enabled = true;

	file = anon_inode_create_getfile("[mmap_action_test]", fops, mf,
					 O_RDWR, NULL);
	KUNIT_ASSERT_FALSE(test, IS_ERR(file));
	KUNIT_ASSERT_EQ(test, 0, kunit_add_action_or_reset(test, mat_fput, file));
	lockdep_set_class(&file->f_mapping->i_mmap_rwsem, &mat_i_mmap_rwsem_key);
	mf->file = file;
	/* Runs before mat_fput(): a zap in flight still has its file. */
	KUNIT_ASSERT_EQ(test, 0, kunit_add_action_or_reset(test, mat_wait_zapper, mf));
	return mf;
}

static struct mat_file *mat_file_create(struct kunit *test)
{
	return mat_file_create_fops(test, &mat_fops);
}

/* mmap() @mf shared and writable at page offset @pgoff into the test mm. */
static unsigned long mat_mmap(struct mat_file *mf, unsigned long len,
			      unsigned long pgoff)
{
	KUNIT_ASSERT_EQ(mf->test, 0, kunit_attach_mm());
	return vm_mmap(mf->file, 0, len, PROT_READ | PROT_WRITE, MAP_SHARED,
		       pgoff << PAGE_SHIFT);
}

/*
 * mmap() @len bytes of @mf from file offset @offset at a VA @va_offset
 * bytes past a mat_block() boundary. The PFN of file offset 0 is aligned to
 * the block, so VA and PFN are congruent modulo the block when @va_offset
 * equals @offset.
 */
static unsigned long mat_mmap_at(struct mat_file *mf, unsigned long va_offset,
				 unsigned long len, unsigned long offset)
{
	const unsigned long block = mat_block();
	unsigned long resv, addr;

	KUNIT_ASSERT_EQ(mf->test, 0, kunit_attach_mm());
	/* Reserve enough to find a block boundary, then map over it. */
	resv = vm_mmap(NULL, 0, len + va_offset + block, PROT_NONE,
		       MAP_PRIVATE | MAP_ANONYMOUS, 0);
	KUNIT_ASSERT_FALSE(mf->test, IS_ERR_VALUE(resv));
	addr = ALIGN(resv, block) + va_offset;
	vm_munmap(resv, len + va_offset + block);
	return vm_mmap(mf->file, addr, len, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_FIXED, offset);
}

/* As mat_mmap_at(), VA and PFN congruent modulo the block. */
static unsigned long mat_mmap_congruent(struct mat_file *mf,
					unsigned long offset, unsigned long len)
{
	return mat_mmap_at(mf, offset, len, offset);
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

/*
 * Page table entries of the test mm in [@addr, @end), counted by a walk of
 * the tables themselves: every PTE that is not none, and every PMD or PUD
 * leaf. Cheap over large empty ranges, and sees whatever a PFN mapping,
 * huge or not, can leave behind. The caller holds mmap_lock.
 */
static unsigned long mat_count_ptes(pmd_t *pmd, unsigned long addr,
				    unsigned long end)
{
	unsigned long nr = 0;
	pte_t *start_pte, *pte;

	start_pte = pte_offset_map(pmd, addr);
	if (!start_pte)
		return 0;
	for (pte = start_pte; addr < end; addr += PAGE_SIZE, pte++)
		nr += !pte_none(ptep_get(pte));
	pte_unmap(start_pte);
	return nr;
}

static unsigned long mat_count_pmds(pud_t *pud, unsigned long addr,
				    unsigned long end)
{
	pmd_t *pmd = pmd_offset(pud, addr);
	unsigned long next, nr = 0;

	do {
		pmd_t val = pmdp_get(pmd);

		next = pmd_addr_end(addr, end);
		if (pmd_none(val))
			continue;
		if (pmd_leaf(val))
			nr++;
		else
			nr += mat_count_ptes(pmd, addr, next);
	} while (pmd++, addr = next, addr != end);
	return nr;
}

static unsigned long mat_count_puds(p4d_t *p4d, unsigned long addr,
				    unsigned long end)
{
	pud_t *pud = pud_offset(p4d, addr);
	unsigned long next, nr = 0;

	do {
		pud_t val = pudp_get(pud);

		next = pud_addr_end(addr, end);
		if (pud_none(val))
			continue;
		if (pud_leaf(val))
			nr++;
		else
			nr += mat_count_pmds(pud, addr, next);
	} while (pud++, addr = next, addr != end);
	return nr;
}

static unsigned long __mat_count_entries(unsigned long addr,
					 unsigned long end)
{
	pgd_t *pgd = pgd_offset(current->mm, addr);
	unsigned long next, pnext, nr = 0;

	do {
		p4d_t *p4d;
		unsigned long p4d_addr;

		next = pgd_addr_end(addr, end);
		if (pgd_none(pgdp_get(pgd)))
			continue;
		p4d = p4d_offset(pgd, addr);
		p4d_addr = addr;
		do {
			pnext = p4d_addr_end(p4d_addr, next);
			if (!p4d_none(p4dp_get(p4d)))
				nr += mat_count_puds(p4d, p4d_addr, pnext);
		} while (p4d++, p4d_addr = pnext, p4d_addr != next);
	} while (pgd++, addr = next, addr != end);
	return nr;
}

/* Expect a VMA over [@start, @start + @len) but nothing mapped in it. */
static void expect_range_unmapped(struct kunit *test, unsigned long start,
				  unsigned long len)
{
	struct vm_area_struct *vma;

	mmap_read_lock(current->mm);
	vma = vma_lookup(current->mm, start);
	if (!vma || vma->vm_end < start + len)
		KUNIT_FAIL(test, "no VMA covers [%#lx, %#lx)", start, start + len);
	else
		KUNIT_EXPECT_EQ_MSG(test, __mat_count_entries(start, start + len), 0,
				    "entries left in [%#lx, %#lx)", start, start + len);
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

/*
 * Size of the leaf mapping @addr, and its PFN for @addr in *@pfn, or 0 if
 * nothing is mapped there. The caller holds mmap_lock.
 */
static unsigned long __mat_leaf_size(unsigned long addr, unsigned long *pfn)
{
	struct vm_area_struct *vma = vma_lookup(current->mm, addr);
	struct follow_pfnmap_args args = { .vma = vma, .address = addr };
	unsigned long size;

	if (!vma || follow_pfnmap_start(&args))
		return 0;
	size = ~args.addr_mask + 1;
	*pfn = args.pfn;
	follow_pfnmap_end(&args);
	return size;
}

/* Fault @addr in, as an access by the test mm's owner would. */
static int mat_fault_in(unsigned long addr)
{
	int ret;

	mmap_read_lock(current->mm);
	ret = fixup_user_fault(current->mm, addr, 0, NULL);
	mmap_read_unlock(current->mm);
	return ret;
}

/* Can the CPU of this run map PUD leaves? The run says, or the kernel. */
static bool mat_cpu_has_pud_leaves(void)
{
	if (pud_leaves >= 0)
		return pud_leaves;
	return IS_ENABLED(CONFIG_ARCH_SUPPORTS_PUD_PFNMAP) &&
	       has_transparent_pud_hugepage();
}

/* The largest leaf a huge PFN mapping can get on this kernel and CPU. */
static unsigned long mat_largest_leaf(void)
{
	if (!IS_ENABLED(CONFIG_TRANSPARENT_HUGEPAGE) || !has_transparent_hugepage())
		return PAGE_SIZE;
	if (IS_ENABLED(CONFIG_ARCH_SUPPORTS_PUD_PFNMAP) && mat_cpu_has_pud_leaves())
		return PUD_SIZE;
	if (IS_ENABLED(CONFIG_ARCH_SUPPORTS_PMD_PFNMAP))
		return PMD_SIZE;
	return PAGE_SIZE;
}

/* Skip a test that lays a mapping out in PUD units where it cannot. */
static void mat_require_pud_layout(struct kunit *test)
{
	if (!mat_pud_layout())
		kunit_skip(test, "a PUD maps %#lx bytes, too much to map here",
			   (unsigned long)PUD_SIZE);
}

/* A part of a mapping, and the largest leaf its alignment allows. */
struct mat_seg {
	unsigned long offset;	/* from the start of the mapping */
	unsigned long len;
	unsigned long leaf;	/* PAGE_SIZE, PMD_SIZE or PUD_SIZE */
};

/*
 * The protection bits a huge PFN leaf of @size mapping @pfn with @prot
 * carries, as follow_pfnmap_start() reports them: what insert_pmd() and
 * insert_pud() install for a remap, as expect_page_maps_pfn() knows what
 * remap_pfn_range() installs for a PTE.
 */
static pgprot_t mat_leaf_pgprot(unsigned long size, unsigned long pfn,
				pgprot_t prot)
{
#ifdef CONFIG_ARCH_SUPPORTS_PUD_PFNMAP
	if (size == PUD_SIZE)
		return pud_pgprot(pud_mkspecial(pud_mkhuge(pfn_pud(pfn, prot))));
#endif
#ifdef CONFIG_ARCH_SUPPORTS_PMD_PFNMAP
	if (size == PMD_SIZE)
		return pmd_pgprot(pmd_mkspecial(pmd_mkhuge(pfn_pmd(pfn, prot))));
#endif
	return pte_pgprot(pte_mkspecial(pfn_pte(pfn, prot)));
}

/*
 * Expect each segment of the mapping at @start to be mapped by leaves of
 * the largest size both its alignment and this kernel and CPU allow, each
 * mapping the right PFN, writable, with the page protection mmap_prepare
 * asked for. Returns the number of leaves seen.
 */
static unsigned long expect_leaves(struct kunit *test, struct mat_file *mf,
				   unsigned long start,
				   const struct mat_seg *segs, int nr_segs)
{
	unsigned long nr = 0;
	int i;

	mmap_read_lock(current->mm);
	for (i = 0; i < nr_segs; i++) {
		const unsigned long want = min(segs[i].leaf, mat_largest_leaf());
		const unsigned long end = start + segs[i].offset + segs[i].len;
		unsigned long addr, pfn, size;
		struct vm_area_struct *vma;

		for (addr = start + segs[i].offset; addr < end; addr += size) {
			struct follow_pfnmap_args args = { .address = addr };

			vma = vma_lookup(current->mm, addr);
			args.vma = vma;
			if (!vma || follow_pfnmap_start(&args)) {
				KUNIT_FAIL(test, "nothing mapped at %#lx", addr);
				break;
			}
			size = ~args.addr_mask + 1;
			pfn = mf->pfn + linear_page_index(vma, addr);
			nr++;
			KUNIT_EXPECT_EQ_MSG(test, args.pfn, pfn, "at %#lx", addr);
			KUNIT_EXPECT_EQ_MSG(test, pgprot_val(args.pgprot),
					    pgprot_val(mat_leaf_pgprot(size, pfn, mf->prot)),
					    "leaf of %#lx at %#lx", size, addr);
			KUNIT_EXPECT_TRUE_MSG(test, args.writable, "at %#lx", addr);
			follow_pfnmap_end(&args);
			if (size != want) {
				KUNIT_FAIL(test, "leaf of %#lx at %#lx, want %#lx",
					   size, addr, want);
				break;
			}
		}
	}
	mmap_read_unlock(current->mm);
	return nr;
}

/* mprotect(PROT_READ) of [@start, @end), which lies within one VMA. */
static int mat_mprotect_readonly(unsigned long start, unsigned long end)
{
	struct mm_struct *mm = current->mm;
	struct vm_area_struct *vma, *prev;
	struct vma_iterator vmi;
	struct mmu_gather tlb;
	int ret = -EINVAL;

	mmap_write_lock(mm);
	vma_iter_init(&vmi, mm, start);
	vma = vma_find(&vmi, end);
	if (!vma || vma->vm_start > start || vma->vm_end < end)
		goto out;
	/* As do_mprotect_pkey() does it. */
	prev = vma_prev(&vmi);
	if (start > vma->vm_start)
		prev = vma;
	tlb_gather_mmu(&tlb, mm);
	for_each_vma_range(vmi, vma, end) {
		ret = mprotect_fixup(&vmi, &tlb, vma, &prev, start, end,
				     vma->vm_flags & ~VM_WRITE);
		break;
	}
	tlb_finish_mmu(&tlb);
out:
	mmap_write_unlock(mm);
	return ret;
}

/* Wait up to @ms for the rmap lock of @mf's mapping to be taken. */
static bool mat_rmap_locked_within(struct mat_file *mf, unsigned int ms)
{
	unsigned long deadline = jiffies + msecs_to_jiffies(ms);

	while (!mat_rmap_locked(mf)) {
		if (time_after(jiffies, deadline))
			return false;
		usleep_range(100, 200);
	}
	return true;
}

static int mat_zap_fn(void *data)
{
	struct mat_file *mf = data;

	complete_all(&mf->zap_started);
	if (mf->zap_disables) {
		/* Lock order: the driver's lock, then i_mmap_rwsem. */
		down_write(&mf->mem_lock);
		mf->mem_enabled = false;
		complete_all(&mf->zap_locked);
		if (mf->zap_once_linked &&
		    !mat_rmap_locked_within(mf, MAT_WAIT_MS))
			KUNIT_FAIL(mf->test, "the VMA was never linked into rmap");
	}
	unmap_mapping_range(mf->file->f_mapping, 0, 0, 1);
	if (mf->zap_disables)
		up_write(&mf->mem_lock);
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

/* The kernel agrees with the run about the CPU's PUD leaf support. */
static void pud_leaf_support_matches_run(struct kunit *test)
{
	if (pud_leaves < 0)
		kunit_skip(test, "the run does not say (mmap_action_kunit.pud_leaves)");
	KUNIT_EXPECT_EQ(test, pud_leaves,
			IS_ENABLED(CONFIG_ARCH_SUPPORTS_PUD_PFNMAP) &&
			has_transparent_pud_hugepage());
}

/*
 * A fault in a block-aligned PFN mapping gets the largest leaf the CPU can
 * map: a PUD leaf only where the CPU can map one, a PMD leaf otherwise.
 */
static void fault_maps_largest_leaf_cpu_supports(struct kunit *test)
{
	struct mat_file *mf = mat_file_create(test);
	unsigned long addr, pfn = 0, size;

	mf->lazy = true;
	addr = mat_mmap_congruent(mf, 0, mat_block());
	KUNIT_ASSERT_FALSE(test, IS_ERR_VALUE(addr));
	KUNIT_ASSERT_EQ(test, 0, mat_fault_in(addr));

	mmap_read_lock(current->mm);
	size = __mat_leaf_size(addr, &pfn);
	mmap_read_unlock(current->mm);
	KUNIT_EXPECT_EQ(test, size, min(mat_largest_leaf(), mat_block()));
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
	const unsigned long leaf = min(mat_largest_leaf(), block);
	const unsigned long hole = PMD_SIZE / 2, last = block - PAGE_SIZE;
	struct mat_file *mf = mat_file_create(test);
	unsigned long addr, pfn = 0, size;

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
	mmap_read_lock(current->mm);
	/* [0, hole) holds no PMD leaf: a PTE. */
	size = __mat_leaf_size(addr, &pfn);
	KUNIT_EXPECT_EQ(test, size, PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, pfn, mf->pfn);
	/*
	 * The last PMD of the block lies wholly in the second VMA only if the
	 * block is larger than a PMD: then at most a PMD leaf, else a PTE.
	 */
	size = __mat_leaf_size(addr + last, &pfn);
	KUNIT_EXPECT_EQ(test, size,
			block > PMD_SIZE ? min(leaf, PMD_SIZE) : PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, pfn, mf->pfn + (last >> PAGE_SHIFT));
	mmap_read_unlock(current->mm);
}

/*
 * mm_find_pmd() (used to split PMDs, by KSM and khugepaged) must not take
 * a PUD leaf for a PMD table: it finds no PMD there.
 */
static void find_pmd_stops_at_pud_leaf(struct kunit *test)
{
	struct mat_file *mf = mat_file_create(test);
	unsigned long addr, pfn = 0;

	if (mat_largest_leaf() < PUD_SIZE)
		kunit_skip(test, "no PUD leaves on this kernel or CPU");
	mf->lazy = true;
	addr = mat_mmap_congruent(mf, 0, PUD_SIZE);
	KUNIT_ASSERT_FALSE(test, IS_ERR_VALUE(addr));
	KUNIT_ASSERT_EQ(test, 0, mat_fault_in(addr));

	mmap_read_lock(current->mm);
	KUNIT_EXPECT_EQ(test, __mat_leaf_size(addr, &pfn), PUD_SIZE);
	KUNIT_EXPECT_NULL(test, mm_find_pmd(current->mm, addr + PMD_SIZE));
	mmap_read_unlock(current->mm);
}

/* Map [@offset, @offset + @len) huge, VA and PFN congruent; check leaves. */
static void expect_huge_remap(struct kunit *test, unsigned long offset,
			      unsigned long len, const struct mat_seg *segs,
			      int nr_segs)
{
	struct mat_file *mf = mat_file_create(test);
	unsigned long addr;

	mf->huge = true;
	addr = mat_mmap_congruent(mf, offset, len);
	KUNIT_ASSERT_FALSE(test, IS_ERR_VALUE(addr));
	expect_leaves(test, mf, addr, segs, nr_segs);
}

/* Two PUDs, aligned in VA and PFN, are mapped by 2 PUD leaves. */
static void huge_remap_pud_aligned(struct kunit *test)
{
	const struct mat_seg segs[] = { { 0, 2 * PUD_SIZE, PUD_SIZE } };
	struct mat_file *mf = mat_file_create(test);
	unsigned long addr;

	mat_require_pud_layout(test);
	mf->huge = true;
	addr = mat_mmap_congruent(mf, 0, 2 * PUD_SIZE);
	KUNIT_ASSERT_FALSE(test, IS_ERR_VALUE(addr));
	KUNIT_EXPECT_EQ(test, expect_leaves(test, mf, addr, segs, 1),
			2 * PUD_SIZE / min(mat_largest_leaf(), PUD_SIZE));
}

/* ...and need no PTE table, nor a PMD table with PUD leaves. */
static void huge_remap_pud_aligned_page_tables(struct kunit *test)
{
	const unsigned long largest = mat_largest_leaf();
	struct mat_file *mf = mat_file_create(test);
	unsigned long addr, before, bound;

	mat_require_pud_layout(test);
	if (largest == PAGE_SIZE)
		kunit_skip(test, "no huge PFN leaves on this kernel");
	KUNIT_ASSERT_EQ(test, 0, kunit_attach_mm());
	mf->huge = true;
	before = mm_pgtables_bytes(current->mm);
	addr = mat_mmap_congruent(mf, 0, 2 * PUD_SIZE);
	KUNIT_ASSERT_FALSE(test, IS_ERR_VALUE(addr));
	/* At most a P4D and a PUD table, plus a PMD table per PUD for PMDs. */
	bound = 2 * PAGE_SIZE;
	if (largest < PUD_SIZE)
		bound += 2 * PAGE_SIZE;
	KUNIT_EXPECT_LE(test, mm_pgtables_bytes(current->mm) - before, bound);
}

/* PMD-aligned, not PUD-aligned: PMD leaves. */
static void huge_remap_pmd_aligned(struct kunit *test)
{
	const struct mat_seg segs[] = { { 0, 4 * PMD_SIZE, PMD_SIZE } };

	expect_huge_remap(test, PMD_SIZE, 4 * PMD_SIZE, segs, ARRAY_SIZE(segs));
}

/* PTEs up to the first PMD boundary, then PMD leaves. */
static void huge_remap_unaligned_head(struct kunit *test)
{
	const unsigned long head = 3 * PAGE_SIZE;
	const struct mat_seg segs[] = {
		{ 0, head, PAGE_SIZE },
		{ head, 2 * PMD_SIZE, PMD_SIZE },
	};

	expect_huge_remap(test, PMD_SIZE - head, head + 2 * PMD_SIZE, segs,
			  ARRAY_SIZE(segs));
}

/* PMD leaves, then PTEs for what is left. */
static void huge_remap_unaligned_tail(struct kunit *test)
{
	const unsigned long tail = 5 * PAGE_SIZE;
	const struct mat_seg segs[] = {
		{ 0, 2 * PMD_SIZE, PMD_SIZE },
		{ 2 * PMD_SIZE, tail, PAGE_SIZE },
	};

	expect_huge_remap(test, PMD_SIZE, 2 * PMD_SIZE + tail, segs,
			  ARRAY_SIZE(segs));
}

/* PTEs up to the first PUD boundary, then a PUD leaf and a PMD leaf. */
static void huge_remap_unaligned_head_pud(struct kunit *test)
{
	const unsigned long head = 3 * PAGE_SIZE;
	const struct mat_seg segs[] = {
		{ 0, head, PAGE_SIZE },
		{ head, PUD_SIZE, PUD_SIZE },
		{ head + PUD_SIZE, PMD_SIZE, PMD_SIZE },
	};

	mat_require_pud_layout(test);
	expect_huge_remap(test, PUD_SIZE - head, head + PUD_SIZE + PMD_SIZE,
			  segs, ARRAY_SIZE(segs));
}

/* A PUD leaf, a PMD leaf, then PTEs for what is left. */
static void huge_remap_unaligned_tail_pud(struct kunit *test)
{
	const unsigned long tail = 5 * PAGE_SIZE;
	const struct mat_seg segs[] = {
		{ 0, PUD_SIZE, PUD_SIZE },
		{ PUD_SIZE, PMD_SIZE, PMD_SIZE },
		{ PUD_SIZE + PMD_SIZE, tail, PAGE_SIZE },
	};

	mat_require_pud_layout(test);
	expect_huge_remap(test, 0, PUD_SIZE + PMD_SIZE + tail, segs,
			  ARRAY_SIZE(segs));
}

/* PTEs at both ends of a PMD leaf. */
static void huge_remap_unaligned_both(struct kunit *test)
{
	const struct mat_seg segs[] = {
		{ 0, PAGE_SIZE, PAGE_SIZE },
		{ PAGE_SIZE, PMD_SIZE, PMD_SIZE },
		{ PAGE_SIZE + PMD_SIZE, PAGE_SIZE, PAGE_SIZE },
	};

	expect_huge_remap(test, PMD_SIZE - PAGE_SIZE, PMD_SIZE + 2 * PAGE_SIZE,
			  segs, ARRAY_SIZE(segs));
}

/* Smaller than a PMD, even if aligned: PTEs. */
static void huge_remap_smaller_than_pmd(struct kunit *test)
{
	const struct mat_seg segs[] = { { 0, PMD_SIZE / 2, PAGE_SIZE } };

	expect_huge_remap(test, 0, PMD_SIZE / 2, segs, ARRAY_SIZE(segs));
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

/* Without asking for huge leaves, a remap maps PTEs, as it always did. */
static void remap_without_opt_in_gets_ptes(struct kunit *test)
{
	const struct mat_seg segs[] = { { 0, 2 * PMD_SIZE, PAGE_SIZE } };
	struct mat_file *mf = mat_file_create(test);
	unsigned long addr;

	addr = mat_mmap_congruent(mf, 0, 2 * PMD_SIZE);
	KUNIT_ASSERT_FALSE(test, IS_ERR_VALUE(addr));
	expect_leaves(test, mf, addr, segs, ARRAY_SIZE(segs));
}

/* No vm_ops->fault to refill a cleared leaf with: a warning, and PTEs. */
static void huge_remap_without_fault_handler_warns(struct kunit *test)
{
	const struct mat_seg segs[] = { { 0, 2 * PMD_SIZE, PAGE_SIZE } };
	struct mat_file *mf = mat_file_create(test);
	unsigned long addr = 0;

	mf->huge = true;
	mf->vm_ops = &mat_vm_ops_no_fault;
	kunit_warning_suppress(test) {
		addr = mat_mmap_congruent(mf, 0, 2 * PMD_SIZE);
		KUNIT_EXPECT_SUPPRESSED_WARNING_COUNT(test, 1);
	}
	KUNIT_ASSERT_FALSE(test, IS_ERR_VALUE(addr));
	expect_leaves(test, mf, addr, segs, ARRAY_SIZE(segs));
}

/* No vm_ops->huge_fault: a fault could not map huge, so the action won't. */
static void huge_remap_without_huge_fault_gets_ptes(struct kunit *test)
{
	const struct mat_seg segs[] = { { 0, 2 * PMD_SIZE, PAGE_SIZE } };
	struct mat_file *mf = mat_file_create(test);
	unsigned long addr;

	mf->huge = true;
	mf->vm_ops = &mat_vm_ops_no_huge_fault;
	addr = mat_mmap_congruent(mf, 0, 2 * PMD_SIZE);
	KUNIT_ASSERT_FALSE(test, IS_ERR_VALUE(addr));
	expect_leaves(test, mf, addr, segs, ARRAY_SIZE(segs));
}

/*
 * Splitting the first leaf of a huge mapping of @len bytes at a page in its
 * middle (by @split) clears all of it, and only it, as mmap_prepare.rst
 * documents; a fault maps the rest of it again. That leaf is the largest
 * the CPU can map that fits twice in @len: a PMD leaf for 2 PMDs, a PUD
 * leaf for 2 PUDs. With PTEs only, nothing else changes.
 */
static void expect_split_clears_leaf(struct kunit *test, unsigned long len,
				     int (*split)(unsigned long start,
						  unsigned long end))
{
	const unsigned long leaf = min(mat_largest_leaf(), len / 2);
	const unsigned long cut = PMD_SIZE / 2;
	const struct mat_seg rest[] = { { leaf, len - leaf, leaf } };
	const struct mat_seg first[] = { { 0, PAGE_SIZE, PAGE_SIZE } };
	struct mat_file *mf = mat_file_create(test);
	unsigned long addr;

	mf->huge = true;
	addr = mat_mmap_congruent(mf, 0, len);
	KUNIT_ASSERT_FALSE(test, IS_ERR_VALUE(addr));
	KUNIT_ASSERT_EQ(test, 0, split(addr + cut, addr + cut + PAGE_SIZE));

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

static int mat_munmap(unsigned long start, unsigned long end)
{
	return vm_munmap(start, end - start);
}

/* munmap() of part of a PMD leaf. */
static void huge_remap_partial_munmap(struct kunit *test)
{
	expect_split_clears_leaf(test, 2 * PMD_SIZE, mat_munmap);
}

/* mprotect() of part of a PMD leaf. */
static void huge_remap_partial_mprotect(struct kunit *test)
{
	expect_split_clears_leaf(test, 2 * PMD_SIZE, mat_mprotect_readonly);
}

/* munmap() of part of a PUD leaf (a PMD leaf without PUD leaves). */
static void huge_remap_partial_munmap_pud(struct kunit *test)
{
	mat_require_pud_layout(test);
	expect_split_clears_leaf(test, 2 * PUD_SIZE, mat_munmap);
}

/* mprotect() of part of a PUD leaf (a PMD leaf without PUD leaves). */
static void huge_remap_partial_mprotect_pud(struct kunit *test)
{
	mat_require_pud_layout(test);
	expect_split_clears_leaf(test, 2 * PUD_SIZE, mat_mprotect_readonly);
}

/* Start a zap that disables the test driver's memory around it. */
static bool mat_start_disabling_zapper(struct mat_file *mf)
{
	mf->zap_disables = true;
	return mat_start_zapper(mf);
}

/* Wait up to @ms for the zap thread to hold the driver's lock. */
static bool mat_zapper_holds_mem_lock(struct mat_file *mf, unsigned int ms)
{
	return wait_for_completion_timeout(&mf->zap_locked,
					   msecs_to_jiffies(ms)) > 0;
}

/* Wait up to @ms for the zap thread to be queued on the driver's lock. */
static bool mat_zapper_blocked_on_mem_lock(struct mat_file *mf,
					   unsigned int ms)
{
	unsigned long deadline = jiffies + msecs_to_jiffies(ms);

	while (!rwsem_is_contended(&mf->mem_lock)) {
		if (time_after(jiffies, deadline))
			return false;
		usleep_range(1000, 2000);
	}
	return true;
}

/* ->mapped hook: note whether the action populated the whole VMA. */
static void mat_note_population(struct mat_file *mf)
{
	struct vm_area_struct *vma = vma_lookup(current->mm, mf->start);
	unsigned long addr;

	mf->populated_seen = false;
	if (!vma)
		return;
	/* Leaf by leaf: a mapping of huge leaves is quick to check. */
	for (addr = mf->start; addr < mf->end;) {
		struct follow_pfnmap_args args = { .vma = vma, .address = addr };

		if (follow_pfnmap_start(&args))
			return;
		addr = (addr & args.addr_mask) + ~args.addr_mask + 1;
		follow_pfnmap_end(&args);
	}
	mf->populated_seen = true;
}

/* A gated file: population waits for nothing and skips when it must. */
static struct mat_file *mat_gated_file(struct kunit *test)
{
	struct mat_file *mf = mat_file_create(test);

	mf->gated = true;
	mf->hide_from_rmap = true;
	return mf;
}

/* Memory on and nothing in the way: the gate lets the action populate. */
static void gate_open_populates(struct kunit *test)
{
	struct mat_file *mf = mat_gated_file(test);
	unsigned long addr = mat_mmap(mf, MAT_LEN, 0);

	KUNIT_ASSERT_FALSE(test, IS_ERR_VALUE(addr));
	expect_range_maps_pfn(test, addr, MAT_LEN, mf->pfn, mf->prot);
	KUNIT_EXPECT_EQ(test, mf->predicate_calls, 1);
}

/* The predicate runs with the driver's lock held, taken by the mm... */
static void gate_predicate_runs_under_lock(struct kunit *test)
{
	struct mat_file *mf = mat_gated_file(test);
	unsigned long addr = mat_mmap(mf, MAT_LEN, 0);

	KUNIT_ASSERT_FALSE(test, IS_ERR_VALUE(addr));
	KUNIT_ASSERT_EQ(test, mf->predicate_calls, 1);
	KUNIT_EXPECT_TRUE(test, mf->predicate_saw_lock);
}

/* ...which is released once mmap() returns. */
static void gate_releases_lock(struct kunit *test)
{
	struct mat_file *mf = mat_gated_file(test);
	unsigned long addr = mat_mmap(mf, MAT_LEN, 0);

	KUNIT_ASSERT_FALSE(test, IS_ERR_VALUE(addr));
	KUNIT_EXPECT_FALSE(test, rwsem_is_locked(&mf->mem_lock));
}

/*
 * Memory already off at mmap() time: nothing is populated, the lock is
 * released, and the fault handler maps the VMA once memory is back.
 */
static void gate_skips_disabled_memory(struct kunit *test)
{
	struct mat_file *mf = mat_gated_file(test);
	unsigned long addr;

	mf->mem_enabled = false;
	addr = mat_mmap(mf, MAT_LEN, 0);
	KUNIT_ASSERT_FALSE(test, IS_ERR_VALUE(addr));
	KUNIT_EXPECT_EQ(test, mf->predicate_calls, 1);
	KUNIT_EXPECT_FALSE(test, rwsem_is_locked(&mf->mem_lock));
	expect_range_unmapped(test, addr, MAT_LEN);

	mf->mem_enabled = true;
	KUNIT_ASSERT_EQ(test, 0, mat_fault_in(addr));
	expect_range_maps_pfn(test, addr, PAGE_SIZE, mf->pfn, mf->prot);
}

/* A thread holding the test driver's lock for write until released. */
struct mat_holder {
	struct mat_file *mf;
	struct completion held;
	struct completion release;
	struct completion done;
};

static int mat_hold_fn(void *data)
{
	struct mat_holder *h = data;

	down_write(&h->mf->mem_lock);
	complete(&h->held);
	wait_for_completion(&h->release);
	up_write(&h->mf->mem_lock);
	complete_all(&h->done);
	return 0;
}

static void mat_release_holder(void *data)
{
	struct mat_holder *h = data;

	complete(&h->release);
	wait_for_completion(&h->done);
}

/*
 * Any writer of the driver's lock (not only a zap) makes the gate skip
 * rather than wait, without asking the driver: best effort. The fault
 * handler fills the VMA later.
 */
static void gate_skips_contended_lock(struct kunit *test)
{
	struct mat_file *mf = mat_gated_file(test);
	struct mat_holder *h = kunit_kzalloc(test, sizeof(*h), GFP_KERNEL);
	struct task_struct *task;
	unsigned long addr;

	KUNIT_ASSERT_NOT_NULL(test, h);
	h->mf = mf;
	init_completion(&h->held);
	init_completion(&h->release);
	init_completion(&h->done);
	task = kthread_run(mat_hold_fn, h, "mat_holder");
	KUNIT_ASSERT_FALSE(test, IS_ERR(task));
	KUNIT_ASSERT_EQ(test, 0, kunit_add_action_or_reset(test, mat_release_holder, h));
	wait_for_completion(&h->held);

	addr = mat_mmap(mf, MAT_LEN, 0);
	KUNIT_ASSERT_FALSE(test, IS_ERR_VALUE(addr));
	KUNIT_EXPECT_EQ(test, mf->predicate_calls, 0);
	expect_range_unmapped(test, addr, MAT_LEN);

	mat_release_holder(h);
	KUNIT_ASSERT_EQ(test, 0, mat_fault_in(addr));
	expect_range_maps_pfn(test, addr, PAGE_SIZE, mf->pfn, mf->prot);
}

/*
 * mmap_prepare hook: a memory disable and zap starts before the VMA exists
 * and takes the driver's lock; it zaps once the VMA is linked into rmap,
 * and then waits for the rmap lock the mapper holds.
 */
static void mat_zap_in_progress(struct mat_file *mf)
{
	mf->zap_once_linked = true;
	if (mat_start_disabling_zapper(mf))
		KUNIT_EXPECT_TRUE(mf->test, mat_zapper_holds_mem_lock(mf, MAT_WAIT_MS));
}

/* ->mapped hook: the zap is in progress, queued on the rmap lock. */
static void mat_expect_zap_queued(struct mat_file *mf)
{
	mat_note_population(mf);
	KUNIT_EXPECT_TRUE(mf->test, mat_zapper_blocked_on_rmap(mf, MAT_WAIT_MS));
}

/* mmap() @mf; once it returned, wait for its zap and check what is left. */
static unsigned long mat_mmap_then_zapped(struct mat_file *mf)
{
	struct kunit *test = mf->test;
	unsigned long addr = mat_mmap(mf, MAT_LEN, 0);

	KUNIT_ASSERT_FALSE(test, IS_ERR_VALUE(addr));
	KUNIT_ASSERT_NOT_NULL(test, mf->zapper);
	KUNIT_ASSERT_TRUE(test, mat_zap_finished_within(mf, MAT_WAIT_MS));
	/* Memory off and zapped: nothing may be left mapped. */
	expect_range_unmapped(test, addr, MAT_LEN);
	return addr;
}

/*
 * A zap in progress, holding the driver's lock when the gate runs: the
 * gate skips without asking the driver and without waiting (waiting would
 * deadlock: the zap waits for the rmap lock the mapper holds).
 */
static void gate_skips_zap_in_progress(struct kunit *test)
{
	struct mat_file *mf = mat_gated_file(test);

	mf->prepare_hook = mat_zap_in_progress;
	mf->mapped_hook = mat_expect_zap_queued;
	mat_mmap_then_zapped(mf);
	KUNIT_EXPECT_EQ(test, mf->predicate_calls, 0);
	KUNIT_EXPECT_FALSE(test, mf->populated_seen);
}

/*
 * Predicate hook, the driver's lock held for read by the gate: a memory
 * disable and zap starts, and must queue on that lock rather than get it.
 */
static void mat_zap_after_gate_decided(struct mat_file *mf)
{
	struct kunit *test = mf->test;

	if (!mat_start_disabling_zapper(mf))
		return;
	KUNIT_EXPECT_TRUE(test, mat_zapper_blocked_on_mem_lock(mf, MAT_WAIT_MS));
	KUNIT_EXPECT_FALSE(test, mat_zapper_holds_mem_lock(mf, MAT_BLOCKED_MS));
}

/*
 * A zap that starts once the gate decided to populate waits for the
 * driver's lock, then removes everything the action mapped.
 */
static void gate_zap_waits_for_population(struct kunit *test)
{
	struct mat_file *mf = mat_gated_file(test);

	mf->may_populate_hook = mat_zap_after_gate_decided;
	mf->mapped_hook = mat_note_population;
	mat_mmap_then_zapped(mf);
	KUNIT_EXPECT_TRUE(test, mf->populated_seen);
}

/*
 * ->mapped hook, after population, with the rmap lock still held: a memory
 * disable and zap starts. The gate's lock is free again, so the zap gets
 * it at once; then it must wait for mmap to complete.
 */
static void mat_zap_after_population(struct mat_file *mf)
{
	struct kunit *test = mf->test;

	mat_note_population(mf);
	if (!mat_start_disabling_zapper(mf))
		return;
	KUNIT_EXPECT_TRUE(test, mat_zapper_holds_mem_lock(mf, MAT_WAIT_MS));
	KUNIT_EXPECT_TRUE(test, mat_zapper_blocked_on_rmap(mf, MAT_WAIT_MS));
	KUNIT_EXPECT_FALSE(test, mat_zap_finished_within(mf, MAT_BLOCKED_MS));
}

/* A zap after population, while still hidden, removes all of it. */
static void gate_zap_after_population(struct kunit *test)
{
	struct mat_file *mf = mat_gated_file(test);

	mf->mapped_hook = mat_zap_after_population;
	mat_mmap_then_zapped(mf);
	KUNIT_EXPECT_TRUE(test, mf->populated_seen);
}

/*
 * What vfio-pci does: huge leaves, gated and hidden. A memory disable and
 * zap after mmap() removes every PMD and PUD leaf.
 */
static void gate_huge_leaves_removed_by_zap(struct kunit *test)
{
	const unsigned long len = 2 * mat_block();
	const struct mat_seg segs[] = { { 0, len, mat_block() } };
	struct mat_file *mf = mat_gated_file(test);
	unsigned long addr;

	mf->huge = true;
	addr = mat_mmap_congruent(mf, 0, len);
	KUNIT_ASSERT_FALSE(test, IS_ERR_VALUE(addr));
	KUNIT_EXPECT_EQ(test, expect_leaves(test, mf, addr, segs, 1),
			len / min(mat_largest_leaf(), mat_block()));

	down_write(&mf->mem_lock);
	mf->mem_enabled = false;
	unmap_mapping_range(mf->file->f_mapping, 0, 0, 1);
	up_write(&mf->mem_lock);
	expect_range_unmapped(test, addr, len);
}

/* The protection bits of the entry mapping @addr; the VMA must have one. */
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

/*
 * A gated VMA is filled by the action or, after a zap or a skipped gate, by
 * faults: both must install the same entries. Both files ask for
 * write-combining. With PAT (x86) a remap that reserves a memtype for the
 * range would get WC where nothing else reserved one, while a fault takes
 * the type already reserved (none: UC-): the faulted mapping comes first,
 * so that a reservation made by the gated one would show.
 */
static void gate_populates_as_fault_would(struct kunit *test)
{
	struct mat_file *lazy = mat_file_create(test);
	struct mat_file *mf = mat_gated_file(test);
	unsigned long faulted, populated;

	lazy->wc = true;
	mf->wc = true;
	lazy->lazy = true;
	faulted = mat_mmap(lazy, MAT_LEN, 0);
	KUNIT_ASSERT_FALSE(test, IS_ERR_VALUE(faulted));
	KUNIT_ASSERT_EQ(test, 0, mat_fault_in(faulted));
	KUNIT_ASSERT_EQ(test, mf->pfn, lazy->pfn);

	populated = mat_mmap(mf, MAT_LEN, 0);
	KUNIT_ASSERT_FALSE(test, IS_ERR_VALUE(populated));
	KUNIT_EXPECT_EQ(test, pgprot_val(mat_entry_pgprot(test, populated)),
			pgprot_val(mat_entry_pgprot(test, faulted)));
}

/* A stacked driver's ->mmap that runs @mf's mmap_prepare, as ecryptfs does. */
static int mat_stacked_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct mat_file *mf = file->private_data;

	return compat_vma_mmap(mf->file, vma);
}

static const struct file_operations mat_stacked_fops = {
	.owner	= THIS_MODULE,
	.mmap	= mat_stacked_mmap,
};

/* mmap() @mf through a stacked file, i.e. through compat_vma_mmap(). */
static unsigned long mat_mmap_stacked(struct mat_file *mf)
{
	struct kunit *test = mf->test;
	struct file *file;

	file = anon_inode_create_getfile("[mmap_action_stacked]",
					 &mat_stacked_fops, mf, O_RDWR, NULL);
	KUNIT_ASSERT_FALSE(test, IS_ERR(file));
	KUNIT_ASSERT_EQ(test, 0, kunit_add_action_or_reset(test, mat_fput, file));
	KUNIT_ASSERT_EQ(test, 0, kunit_attach_mm());
	return vm_mmap(file, 0, MAT_LEN, PROT_READ | PROT_WRITE, MAP_SHARED, 0);
}

/*
 * compat_vma_mmap() runs the action before the VMA is in the rmap tree, so
 * a gated action must not populate there, nor ask the driver; it warns.
 */
static void gate_compat_path_skips_with_warning(struct kunit *test)
{
	struct mat_file *mf = mat_gated_file(test);
	unsigned long addr = 0;

	kunit_warning_suppress(test) {
		addr = mat_mmap_stacked(mf);
		KUNIT_EXPECT_SUPPRESSED_WARNING_COUNT(test, 1);
	}
	KUNIT_ASSERT_FALSE(test, IS_ERR_VALUE(addr));
	KUNIT_EXPECT_EQ(test, mf->predicate_calls, 0);
	expect_range_unmapped(test, addr, MAT_LEN);
}

/* Control for the test above: an ungated action populates there. */
static void compat_path_populates_ungated(struct kunit *test)
{
	struct mat_file *mf = mat_file_create(test);
	unsigned long addr = mat_mmap_stacked(mf);

	KUNIT_ASSERT_FALSE(test, IS_ERR_VALUE(addr));
	expect_range_maps_pfn(test, addr, MAT_LEN, mf->pfn, mf->prot);
}

/* A gate without the VMA hidden from rmap is a driver bug: refused. */
static void gate_requires_hidden_vma(struct kunit *test)
{
	struct mat_file *mf = mat_gated_file(test);
	unsigned long addr = 0;

	mf->unhide_gated = true;
	kunit_warning_suppress(test) {
		addr = mat_mmap(mf, MAT_LEN, 0);
		KUNIT_EXPECT_SUPPRESSED_WARNING_COUNT(test, 1);
	}
	KUNIT_EXPECT_EQ(test, (long)addr, (long)-EINVAL);
	KUNIT_EXPECT_EQ(test, mf->predicate_calls, 0);
}

/* So is a gate on an action that populates nothing. */
static void gate_requires_populating_action(struct kunit *test)
{
	struct mat_file *mf = mat_gated_file(test);
	unsigned long addr = 0;

	mf->lazy = true;
	kunit_warning_suppress(test) {
		addr = mat_mmap(mf, MAT_LEN, 0);
		KUNIT_EXPECT_SUPPRESSED_WARNING_COUNT(test, 1);
	}
	KUNIT_EXPECT_EQ(test, (long)addr, (long)-EINVAL);
	KUNIT_EXPECT_EQ(test, mf->predicate_calls, 0);
}

/*
 * A gated action that fails after populating (->mapped fails here) leaves
 * no VMA, no page table and no lock behind: the gate is closed before the
 * VMA is unmapped. The mapping has no neighbour to share tables with.
 */
static void gate_failure_leaks_nothing(struct kunit *test)
{
	struct mat_file *mf = mat_gated_file(test);
	unsigned long addr, before;

	mf->mapped_err = MAT_MAPPED_ERR;
	mf->mapped_hook = mat_note_population;
	KUNIT_ASSERT_EQ(test, 0, kunit_attach_mm());
	before = mm_pgtables_bytes(current->mm);
	addr = mat_mmap_congruent(mf, 0, 2 * PMD_SIZE);
	KUNIT_EXPECT_EQ(test, (long)addr, (long)MAT_MAPPED_ERR);
	KUNIT_EXPECT_TRUE(test, mf->populated_seen);
	KUNIT_ASSERT_NE(test, mf->start, 0);
	expect_no_vma(test, mf->start, mf->end);
	KUNIT_EXPECT_EQ(test, mf->predicate_calls, 1);
	KUNIT_EXPECT_FALSE(test, rwsem_is_locked(&mf->mem_lock));
	KUNIT_EXPECT_FALSE(test, mat_rmap_locked(mf));
	KUNIT_EXPECT_EQ(test, mm_pgtables_bytes(current->mm), before);
}

/* Stress: disable/zap and enable the test driver's memory in a loop. */
struct mat_stress {
	struct mat_file *mf;
	bool stop;
	unsigned long zaps;
	struct completion done;
};

static int mat_stress_zap_fn(void *data)
{
	struct mat_stress *st = data;
	struct mat_file *mf = st->mf;

	while (!READ_ONCE(st->stop)) {
		down_write(&mf->mem_lock);
		mf->mem_enabled = false;
		unmap_mapping_range(mf->file->f_mapping, 0, 0, 1);
		up_write(&mf->mem_lock);
		WRITE_ONCE(st->zaps, st->zaps + 1);
		usleep_range(10, 10 + get_random_u32_below(500));

		down_write(&mf->mem_lock);
		mf->mem_enabled = true;
		up_write(&mf->mem_lock);
		usleep_range(10, 10 + get_random_u32_below(500));
	}
	complete_all(&st->done);
	return 0;
}

static void mat_stop_stress(void *data)
{
	struct mat_stress *st = data;

	WRITE_ONCE(st->stop, true);
	wait_for_completion(&st->done);
}

/*
 * Entries left in [@start, @start + @len) while the memory is off: a zap
 * that disabled it must have removed them all. The caller holds
 * mmap_lock; only the test takes the driver's lock under it.
 */
static unsigned long mat_stray_entries(struct mat_file *mf, unsigned long start,
				       unsigned long len)
{
	unsigned long stray = 0;

	down_read(&mf->mem_lock);
	if (!mf->mem_enabled && vma_lookup(current->mm, start))
		stray = __mat_count_entries(start, start + len);
	up_read(&mf->mem_lock);
	return stray;
}

/*
 * Bounded randomized race of gated, hidden mmap() against memory
 * disable/zap on another thread. Lockdep records nothing for the gate's
 * trylock, so this has to really run both sides at once: whenever the
 * memory is off, no mapping may have an entry. With @huge, mappings of one
 * or two blocks, congruent, get PMD or PUD leaves where they can.
 */
static void expect_no_stray_entry_under_stress(struct kunit *test, bool huge)
{
	struct mat_file *mf = mat_gated_file(test);
	struct mat_stress *st = kunit_kzalloc(test, sizeof(*st), GFP_KERNEL);
	unsigned long deadline, stray = 0, populated = 0, skipped = 0;
	struct task_struct *task;
	int i;

	KUNIT_ASSERT_NOT_NULL(test, st);
	st->mf = mf;
	mf->huge = huge;
	mf->mapped_hook = mat_note_population;
	init_completion(&st->done);
	KUNIT_ASSERT_EQ(test, 0, kunit_attach_mm());
	task = kthread_run(mat_stress_zap_fn, st, "mat_stress_zap");
	KUNIT_ASSERT_FALSE(test, IS_ERR(task));
	KUNIT_ASSERT_EQ(test, 0, kunit_add_action_or_reset(test, mat_stop_stress, st));

	deadline = jiffies + msecs_to_jiffies(MAT_STRESS_MS);
	for (i = 0; i < MAT_STRESS_ITERATIONS && time_before(jiffies, deadline); i++) {
		unsigned long len, addr;

		if (huge) {
			len = (1 + get_random_u32_below(2)) * mat_block();
			addr = mat_mmap_congruent(mf, 0, len);
		} else {
			len = (1 + get_random_u32_below(MAT_NR_PAGES)) * PAGE_SIZE;
			addr = mat_mmap(mf, len, 0);
		}
		KUNIT_ASSERT_FALSE(test, IS_ERR_VALUE(addr));
		if (mf->populated_seen)
			populated++;
		else
			skipped++;
		/* Let the zapper run here too, even on a single CPU. */
		usleep_range(10, 10 + get_random_u32_below(200));

		mmap_read_lock(current->mm);
		stray += mat_stray_entries(mf, addr, len);
		mmap_read_unlock(current->mm);
		vm_munmap(addr, len);
	}
	mat_stop_stress(st);

	kunit_info(test, "%d mmaps: %lu populated, %lu skipped; %lu zaps; %lu stray",
		   i, populated, skipped, st->zaps, stray);
	KUNIT_EXPECT_EQ(test, stray, 0);
	/* Both sides ran: there was something to race. */
	KUNIT_EXPECT_GT(test, populated, 0);
	KUNIT_EXPECT_GT(test, st->zaps, 0);
}

/* The race with small PTE-mapped VMAs. */
static void gate_stress_no_stray_pte(struct kunit *test)
{
	expect_no_stray_entry_under_stress(test, false);
}

/* The race with VMAs mapped by PMD and PUD leaves. */
static void gate_stress_no_stray_huge_leaf(struct kunit *test)
{
	if (mat_largest_leaf() == PAGE_SIZE)
		kunit_skip(test, "no huge PFN leaves on this kernel");
	expect_no_stray_entry_under_stress(test, true);
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
	KUNIT_CASE(pud_leaf_support_matches_run),
	KUNIT_CASE(fault_maps_largest_leaf_cpu_supports),
	KUNIT_CASE(fault_leaf_cleared_by_vma_split),
	KUNIT_CASE(find_pmd_stops_at_pud_leaf),
	KUNIT_CASE(huge_remap_pud_aligned),
	KUNIT_CASE(huge_remap_pud_aligned_page_tables),
	KUNIT_CASE(huge_remap_pmd_aligned),
	KUNIT_CASE(huge_remap_unaligned_head),
	KUNIT_CASE(huge_remap_unaligned_tail),
	KUNIT_CASE(huge_remap_unaligned_head_pud),
	KUNIT_CASE(huge_remap_unaligned_tail_pud),
	KUNIT_CASE(huge_remap_unaligned_both),
	KUNIT_CASE(huge_remap_smaller_than_pmd),
	KUNIT_CASE(huge_remap_incongruent_va_gets_ptes),
	KUNIT_CASE(remap_without_opt_in_gets_ptes),
	KUNIT_CASE(huge_remap_without_fault_handler_warns),
	KUNIT_CASE(huge_remap_without_huge_fault_gets_ptes),
	KUNIT_CASE(huge_remap_partial_munmap),
	KUNIT_CASE(huge_remap_partial_mprotect),
	KUNIT_CASE(huge_remap_partial_munmap_pud),
	KUNIT_CASE(huge_remap_partial_mprotect_pud),
	KUNIT_CASE(gate_open_populates),
	KUNIT_CASE(gate_predicate_runs_under_lock),
	KUNIT_CASE(gate_releases_lock),
	KUNIT_CASE(gate_skips_disabled_memory),
	KUNIT_CASE(gate_skips_contended_lock),
	KUNIT_CASE(gate_skips_zap_in_progress),
	KUNIT_CASE(gate_zap_waits_for_population),
	KUNIT_CASE(gate_zap_after_population),
	KUNIT_CASE(gate_huge_leaves_removed_by_zap),
	KUNIT_CASE(gate_populates_as_fault_would),
	KUNIT_CASE(gate_compat_path_skips_with_warning),
	KUNIT_CASE(compat_path_populates_ungated),
	KUNIT_CASE(gate_requires_hidden_vma),
	KUNIT_CASE(gate_requires_populating_action),
	KUNIT_CASE(gate_failure_leaks_nothing),
	KUNIT_CASE(gate_stress_no_stray_pte),
	KUNIT_CASE(gate_stress_no_stray_huge_leaf),
	{}
};

static struct kunit_suite mmap_action_test_suite = {
	.name = "mmap_action",
	.test_cases = mmap_action_test_cases,
};

/*
 * Placement of PFN mappings for huge leaves: pfnmap_leaf_align() picks the
 * leaf size from the physical range, pfnmap_get_unmapped_area() finds a VA
 * congruent to the physical address modulo that size.
 */

/* What pfnmap_leaf_align() must say for a range that holds @natural. */
static unsigned long mat_expected_align(unsigned long natural)
{
	unsigned long largest = mat_largest_leaf();

	if (largest == PAGE_SIZE || natural == PAGE_SIZE)
		return 0;
	return min(natural, largest);
}

/* A block-aligned physical address that nothing maps. */
static phys_addr_t mat_phys(void)
{
	return PFN_PHYS(mat_synthetic_pfn());
}

/* A PUD-aligned physical range of two PUDs holds PUD leaves. */
static void align_pud_for_pud_aligned_range(struct kunit *test)
{
	mat_require_pud_layout(test);
	KUNIT_EXPECT_EQ(test, pfnmap_leaf_align(mat_phys(), 2 * PUD_SIZE),
			mat_expected_align(PUD_SIZE));
}

/* Any length holding a whole aligned PUD block, not only powers of two. */
static void align_pud_for_odd_length(struct kunit *test)
{
	mat_require_pud_layout(test);
	KUNIT_EXPECT_EQ(test, pfnmap_leaf_align(mat_phys(), PUD_SIZE + 3 * PMD_SIZE),
			mat_expected_align(PUD_SIZE));
	KUNIT_EXPECT_EQ(test, pfnmap_leaf_align(mat_phys() - PMD_SIZE,
						PUD_SIZE + PMD_SIZE),
			mat_expected_align(PUD_SIZE));
}

/* Never align for a PUD leaf a mapping that cannot hold one. */
static void align_pmd_for_small_mapping(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, pfnmap_leaf_align(mat_phys(), 2 * PMD_SIZE),
			mat_expected_align(PMD_SIZE));
	KUNIT_EXPECT_EQ(test, pfnmap_leaf_align(mat_phys(), PUD_SIZE - PAGE_SIZE),
			mat_expected_align(PMD_SIZE));
	/* As long as a PUD, but not holding an aligned PUD block. */
	KUNIT_EXPECT_EQ(test, pfnmap_leaf_align(mat_phys() + PAGE_SIZE, PUD_SIZE),
			mat_expected_align(PMD_SIZE));
}

/* Mapping around an MSI-X table: starts a page into a PMD block. */
static void align_pmd_for_odd_offset(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, pfnmap_leaf_align(mat_phys() + PMD_SIZE + PAGE_SIZE,
						2 * PMD_SIZE),
			mat_expected_align(PMD_SIZE));
}

/* Too small, or not holding an aligned PMD block: no alignment at all. */
static void align_none_for_tiny_mapping(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, pfnmap_leaf_align(mat_phys(), PMD_SIZE / 2), 0);
	KUNIT_EXPECT_EQ(test, pfnmap_leaf_align(mat_phys() + PAGE_SIZE, PMD_SIZE), 0);
	KUNIT_EXPECT_EQ(test, pfnmap_leaf_align(mat_phys(), PMD_SIZE),
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
	{}
};

static struct kunit_suite pfnmap_placement_test_suite = {
	.name = "pfnmap_placement",
	.test_cases = pfnmap_placement_test_cases,
};

kunit_test_suites(&mmap_action_test_suite, &pfnmap_placement_test_suite);

MODULE_DESCRIPTION("KUnit tests for mmap_prepare actions");
MODULE_LICENSE("GPL");

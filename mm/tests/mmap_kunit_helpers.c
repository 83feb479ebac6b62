// SPDX-License-Identifier: GPL-2.0-only
/*
 * Helpers the KUnit suites of PFN mappings share: see mmap_kunit_helpers.h.
 */
#include <kunit/test.h>
#include <linux/anon_inodes.h>
#include <linux/debug_locks.h>
#include <linux/file.h>
#include <linux/ioport.h>
#include <linux/kthread.h>
#include <linux/mman.h>
#include <linux/pagemap.h>
#include <linux/rwsem.h>
#include <linux/sched/mm.h>
#include <linux/sizes.h>
#ifdef CONFIG_X86
#include <linux/cpufeature.h>
#endif

#include "mmap_kunit_helpers.h"

/* Blocks of mat_block() each suite's physical range holds. */
#define MAT_REGION_BLOCKS	4

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
unsigned long mat_block(void)
{
	return mat_pud_layout() ? PUD_SIZE : PMD_SIZE;
}

/* Skip a test that lays a mapping out in PUD units where it cannot. */
void mat_require_pud_layout(struct kunit *test)
{
	if (!mat_pud_layout())
		kunit_skip(test, "a PUD maps %#lx bytes, too much to map here",
			   (unsigned long)PUD_SIZE);
}

/*
 * The physical range the running suite maps: free physical address space
 * (request_free_mem_region(), from the top down), so that no RAM, BAR or
 * reserved range is below it, block-aligned. Suites run one at a time.
 */
static struct resource *mat_region;
static unsigned long mat_region_pfn;

/* kunit_suite.suite_init of every suite that maps test files. */
int mat_suite_init(struct kunit_suite *suite)
{
	const unsigned long block = mat_block();
	struct resource *res;

	res = request_free_mem_region(&iomem_resource,
				      (MAT_REGION_BLOCKS + 1) * block,
				      suite->name);
	if (IS_ERR(res))
		return PTR_ERR(res);
	mat_region = res;
	mat_region_pfn = PHYS_PFN(ALIGN(res->start, block));
	return 0;
}

/* kunit_suite.suite_exit, the same suites. */
void mat_suite_exit(struct kunit_suite *suite)
{
	release_mem_region(mat_region->start, resource_size(mat_region));
	mat_region = NULL;
}

/*
 * Can the CPU map PUD leaves? Taken from the CPU itself (on x86 the 1 GiB
 * page feature, which clearcpuid=pdpe1gb clears), never from the mm's own
 * view, has_transparent_pud_hugepage(), which is what the suites check.
 */
static bool mat_cpu_maps_pud_leaves(void)
{
#ifdef CONFIG_X86
	return boot_cpu_has(X86_FEATURE_GBPAGES);
#elif defined(CONFIG_PPC_BOOK3S_64)
	return radix_enabled();
#else
	return true;
#endif
}

/*
 * The leaf a huge PFN mapping must get where VA, PFN and length allow any
 * size: PUD where the architecture has PUD PFN mappings and the CPU can map
 * PUD leaves, else PMD where the architecture has PMD PFN mappings, else
 * PAGE_SIZE (UML, !TRANSPARENT_HUGEPAGE).
 */
unsigned long mat_expected_leaf(void)
{
	if (!IS_ENABLED(CONFIG_TRANSPARENT_HUGEPAGE) || !has_transparent_hugepage())
		return PAGE_SIZE;
	if (IS_ENABLED(CONFIG_ARCH_SUPPORTS_PUD_PFNMAP) && mat_cpu_maps_pud_leaves())
		return PUD_SIZE;
	if (IS_ENABLED(CONFIG_ARCH_SUPPORTS_PMD_PFNMAP))
		return PMD_SIZE;
	return PAGE_SIZE;
}

/* Why mat_expected_leaf() is below PUD_SIZE, for skip messages. */
const char *mat_no_pud_leaves_reason(void)
{
	if (!IS_ENABLED(CONFIG_ARCH_SUPPORTS_PUD_PFNMAP))
		return "no PUD PFN mappings on this architecture or kernel";
	if (!mat_cpu_maps_pud_leaves())
		return "the CPU cannot map PUD leaves";
	return "no huge PFN mappings on this kernel";
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

	if (addr < vma->vm_start || addr + size > vma->vm_end ||
	    !IS_ALIGNED(pfn, 1UL << order))
		return VM_FAULT_FALLBACK;
	if (!order)
		return vmf_insert_pfn(vma, addr, pfn);
#ifdef CONFIG_ARCH_SUPPORTS_PMD_PFNMAP
	if (order == PMD_ORDER)
		return vmf_insert_pfn_pmd(vmf, pfn,
					  vmf->flags & FAULT_FLAG_WRITE);
#endif
#ifdef CONFIG_ARCH_SUPPORTS_PUD_PFNMAP
	if (order == PUD_ORDER)
		return vmf_insert_pfn_pud(vmf, pfn,
					  vmf->flags & FAULT_FLAG_WRITE);
#endif
	return VM_FAULT_FALLBACK;
}

static vm_fault_t mat_fault(struct vm_fault *vmf)
{
	return mat_huge_fault(vmf, 0);
}

const struct vm_operations_struct mat_vm_ops = {
	.mapped = mat_mapped,
	.fault = mat_fault,
	.huge_fault = mat_huge_fault,
};

/* Nothing to refill a cleared leaf or an unpopulated VMA with. */
const struct vm_operations_struct mat_vm_ops_no_fault = {
	.mapped = mat_mapped,
};

/* Refills with PTEs only. */
const struct vm_operations_struct mat_vm_ops_no_huge_fault = {
	.mapped = mat_mapped,
	.fault = mat_fault,
};

int mat_mmap_prepare(struct vm_area_desc *desc)
{
	struct mat_file *mf = desc->file->private_data;

	desc->page_prot = pgprot_noncached(desc->page_prot);
	mf->prot = desc->page_prot;
	desc->vm_ops = mf->vm_ops ?: &mat_vm_ops;
	desc->private_data = mf;

	if (mf->lazy) {
		vma_desc_set_flags_mask(desc, VMA_REMAP_FLAGS);
	} else {
		mmap_action_remap_full(desc, mf->pfn + desc->pgoff);
		if (mf->huge)
			mmap_action_allow_huge_leaves(desc);
		desc->action.hide_from_rmap_until_complete = mf->hide_from_rmap;
		desc->action.error_override = mf->error_override;
	}
	if (mf->prepare_hook)
		mf->prepare_hook(mf, desc);
	return 0;
}

static const struct file_operations mat_fops = {
	.mmap_prepare	= mat_mmap_prepare,
};

static void mat_wait_zapper(void *data)
{
	struct mat_file *mf = data;

	if (!mf->zapper)
		return;
	if (completion_done(&mf->zap_started))
		wait_for_completion(&mf->zap_done);
	else
		kthread_stop(mf->zapper);
}

static void mat_fput(void *data)
{
	fput(data);
}

/*
 * A file with @fops on an anonymous inode of its own (so a mapping of its
 * own, without page cache), put when the test ends.
 */
struct file *mat_file_open(struct kunit *test,
			   const struct file_operations *fops,
			   void *private_data)
{
	struct file *file;

	file = anon_inode_create_getfile("[mmap_kunit]", fops, private_data,
					 O_RDWR, NULL);
	KUNIT_ASSERT_FALSE(test, IS_ERR(file));
	KUNIT_ASSERT_EQ(test, 0, kunit_add_action_or_reset(test, mat_fput, file));
	return file;
}

/* A test file with @fops, mapping the suite's range, released at the end. */
struct mat_file *mat_file_create_fops(struct kunit *test,
				      const struct file_operations *fops)
{
	struct mat_file *mf;

	KUNIT_ASSERT_NOT_NULL_MSG(test, mat_region, "suite_init did not run");
	mf = kunit_kzalloc(test, sizeof(*mf), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, mf);
	mf->test = test;
	mf->pfn = mat_region_pfn;
	init_completion(&mf->zap_started);
	init_completion(&mf->zap_done);
	mf->file = mat_file_open(test, fops, mf);
	/* Runs before the file is put: a zap in flight still has its file. */
	KUNIT_ASSERT_EQ(test, 0, kunit_add_action_or_reset(test, mat_wait_zapper, mf));
	return mf;
}

struct mat_file *mat_file_create(struct kunit *test)
{
	return mat_file_create_fops(test, &mat_fops);
}

/* mmap() @mf at file offset 0 with @prot and @flags into the test mm. */
unsigned long mat_mmap_flags(struct mat_file *mf, unsigned long len,
			     unsigned long prot, unsigned long flags)
{
	KUNIT_ASSERT_EQ(mf->test, 0, kunit_attach_mm());
	return vm_mmap(mf->file, 0, len, prot, flags, 0);
}

/* mmap() @mf shared and writable at page offset @pgoff into the test mm. */
unsigned long mat_mmap(struct mat_file *mf, unsigned long len,
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
unsigned long mat_mmap_at(struct mat_file *mf, unsigned long va_offset,
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
unsigned long mat_mmap_congruent(struct mat_file *mf, unsigned long offset,
				 unsigned long len)
{
	return mat_mmap_at(mf, offset, len, offset);
}

/* Fault @addr in, as an access by the test mm's owner would. */
int mat_fault_in(unsigned long addr)
{
	int ret;

	mmap_read_lock(current->mm);
	ret = fixup_user_fault(current->mm, addr, 0, NULL);
	mmap_read_unlock(current->mm);
	return ret;
}

bool mat_rmap_locked(struct mat_file *mf)
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
	const pgprot_t want = pte_pgprot(pte_mkspecial(pfn_pte(pfn, prot)));
	struct follow_pfnmap_args args = { .vma = vma, .address = addr };

	if (follow_pfnmap_start(&args)) {
		KUNIT_FAIL(test, "no PFN mapped at %#lx", addr);
		return;
	}
	KUNIT_EXPECT_EQ_MSG(test, args.pfn, pfn, "at %#lx", addr);
	KUNIT_EXPECT_EQ_MSG(test, pgprot_val(args.pgprot),
			    pgprot_val(want), "at %#lx", addr);
	KUNIT_EXPECT_EQ_MSG(test, args.addr_mask, PAGE_MASK, "at %#lx", addr);
	/* Without pte_special() nothing can be told special (UML). */
	if (IS_ENABLED(CONFIG_ARCH_HAS_PTE_SPECIAL))
		KUNIT_EXPECT_TRUE_MSG(test, args.special, "at %#lx", addr);
	KUNIT_EXPECT_TRUE_MSG(test, args.writable, "at %#lx", addr);
	follow_pfnmap_end(&args);
}

/* As expect_range_maps_pfn(), with mmap_lock already held. */
void __expect_range_maps_pfn(struct kunit *test, unsigned long start,
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

/* Expect every page of [@start, @start + @len) to map @pfn onwards, 4K. */
void expect_range_maps_pfn(struct kunit *test, unsigned long start,
			   unsigned long len, unsigned long pfn, pgprot_t prot)
{
	mmap_read_lock(current->mm);
	__expect_range_maps_pfn(test, start, len, pfn, prot);
	mmap_read_unlock(current->mm);
}

/*
 * Page table entries of @mm in [@addr, @end), counted by a walk of the
 * tables themselves: every PTE that is not none, and every PMD or PUD leaf.
 * Cheap over large empty ranges, and sees whatever a PFN mapping, huge or
 * not, can leave behind. The caller holds @mm's mmap_lock.
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

unsigned long __mat_count_entries(struct mm_struct *mm, unsigned long addr,
				  unsigned long end)
{
	pgd_t *pgd = pgd_offset(mm, addr);
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

/* Entries in [@start, @start + @len) of the test mm. */
unsigned long mat_count_entries(unsigned long start, unsigned long len)
{
	unsigned long nr;

	mmap_read_lock(current->mm);
	nr = __mat_count_entries(current->mm, start, start + len);
	mmap_read_unlock(current->mm);
	return nr;
}

/* Expect a VMA over [@start, @start + @len) but nothing mapped in it. */
void expect_range_unmapped(struct kunit *test, unsigned long start,
			   unsigned long len)
{
	struct vm_area_struct *vma;

	mmap_read_lock(current->mm);
	vma = vma_lookup(current->mm, start);
	if (!vma || vma->vm_end < start + len)
		KUNIT_FAIL(test, "no VMA covers [%#lx, %#lx)", start, start + len);
	else
		KUNIT_EXPECT_EQ_MSG(test, __mat_count_entries(current->mm, start,
							      start + len), 0,
				    "entries left in [%#lx, %#lx)", start, start + len);
	mmap_read_unlock(current->mm);
}

/* Expect nothing at all mapped in [@start, @end). */
void expect_no_vma(struct kunit *test, unsigned long start, unsigned long end)
{
	struct vm_area_struct *vma;

	mmap_read_lock(current->mm);
	vma = find_vma_intersection(current->mm, start, end);
	KUNIT_EXPECT_NULL_MSG(test, vma, "VMA left in [%#lx, %#lx)", start, end);
	mmap_read_unlock(current->mm);
}

/*
 * Size of the leaf mapping @addr in @mm, and its PFN for @addr in *@pfn, or
 * 0 if nothing is mapped there. The caller holds @mm's mmap_lock.
 */
unsigned long __mat_leaf_size(struct mm_struct *mm, unsigned long addr,
			      unsigned long *pfn)
{
	struct vm_area_struct *vma = vma_lookup(mm, addr);
	struct follow_pfnmap_args args = { .vma = vma, .address = addr };
	unsigned long size;

	if (!vma || follow_pfnmap_start(&args))
		return 0;
	size = ~args.addr_mask + 1;
	*pfn = args.pfn;
	follow_pfnmap_end(&args);
	return size;
}

/* As __mat_leaf_size(), in the test mm. */
unsigned long mat_leaf_size(unsigned long addr, unsigned long *pfn)
{
	unsigned long size;

	mmap_read_lock(current->mm);
	size = __mat_leaf_size(current->mm, addr, pfn);
	mmap_read_unlock(current->mm);
	return size;
}

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
 * the largest size both its alignment and mat_expected_leaf() allow, each
 * mapping the right PFN, writable, with the page protection mmap_prepare
 * asked for. Returns the number of leaves seen.
 */
unsigned long expect_leaves(struct kunit *test, struct mat_file *mf,
			    unsigned long start, const struct mat_seg *segs,
			    int nr_segs)
{
	unsigned long nr = 0;
	int i;

	mmap_read_lock(current->mm);
	for (i = 0; i < nr_segs; i++) {
		const unsigned long want = min(segs[i].leaf, mat_expected_leaf());
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

/*
 * Show lockdep that reclaim takes i_mmap_rwsem, as try_to_unmap() does for
 * a folio of a mapping: from then on, an allocation that could enter reclaim
 * with i_mmap_rwsem held (any inode's: they share a lockdep class) makes it
 * report, and turn debug_locks off. Skips the test without lockdep.
 */
void mat_teach_lockdep_reclaim_takes_rmap(struct kunit *test,
					  struct mat_file *mf)
{
	struct address_space *mapping = mf->file->f_mapping;

	if (!IS_ENABLED(CONFIG_PROVE_LOCKING))
		kunit_skip(test, "needs lockdep (CONFIG_PROVE_LOCKING)");
	if (!debug_locks)
		kunit_skip(test, "lockdep is off already");
	fs_reclaim_acquire(GFP_KERNEL);
	i_mmap_lock_read(mapping);
	i_mmap_unlock_read(mapping);
	fs_reclaim_release(GFP_KERNEL);
}

static int mat_zap_fn(void *data)
{
	struct mat_file *mf = data;

	complete_all(&mf->zap_started);
	if (mf->zap)
		mf->zap(mf);
	else
		unmap_mapping_range(mf->file->f_mapping, 0, 0, 1);
	/* All: the test and its cleanup may both wait for this. */
	complete_all(&mf->zap_done);
	return 0;
}

/*
 * Create the thread that runs @mf->zap (or a zap of the whole file), not
 * yet running: before mmap(), as a test that starts it from vm_ops->mapped
 * must, since nothing may allocate under the rmap lock held there.
 */
bool mat_create_zapper(struct mat_file *mf)
{
	struct task_struct *task;

	task = kthread_create(mat_zap_fn, mf, "mat_zapper");
	if (IS_ERR(task)) {
		KUNIT_FAIL(mf->test, "cannot create the zap thread: %ld",
			   PTR_ERR(task));
		return false;
	}
	mf->zapper = task;
	return true;
}

/* Run the zap thread (created now if need be) until it started its zap. */
bool mat_start_zapper(struct mat_file *mf)
{
	if (!mf->zapper && !mat_create_zapper(mf))
		return false;
	wake_up_process(mf->zapper);
	wait_for_completion(&mf->zap_started);
	return true;
}

/*
 * Wait until the zap thread is queued on the rmap lock, which the caller
 * holds: then it cannot finish before the caller drops the lock. A zap that
 * never queues hangs the test, which KUnit's timeout reports.
 */
void mat_wait_zapper_queued_on_rmap(struct mat_file *mf)
{
	struct rw_semaphore *rmap = &mf->file->f_mapping->i_mmap_rwsem;

	while (!rwsem_is_contended(rmap) && !completion_done(&mf->zap_done))
		schedule_timeout_uninterruptible(1);
}

/* Wait until the rmap lock of @mf's mapping is taken (by a linked mmap()). */
void mat_wait_rmap_locked(struct mat_file *mf)
{
	while (!mat_rmap_locked(mf))
		schedule_timeout_uninterruptible(1);
}

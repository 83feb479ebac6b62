// SPDX-License-Identifier: GPL-2.0-only
/*
 * Helpers shared by the KUnit suites of mmap_prepare actions and PFN mapping
 * placement: see mmap_kunit.h.
 */
#include <kunit/test.h>
#include <linux/delay.h>
#include <linux/file.h>
#include <linux/kthread.h>
#include <linux/magic.h>
#include <linux/memblock.h>
#include <linux/minmax.h>
#include <linux/mman.h>
#include <linux/moduleparam.h>
#include <linux/mount.h>
#include <linux/pagemap.h>
#include <linux/pseudo_fs.h>
#include <linux/sched/mm.h>
#include <linux/sizes.h>

#include "mmap_kunit.h"

/*
 * Whether the CPU the run boots on can map PUD leaves, as the run knows it
 * (the workbench passes mmap_kunit.pud_leaves=, e.g. 0 with
 * clearcpuid=pdpe1gb on x86): -1 if not given, and then the kernel's own
 * view is taken.
 */
static int pud_leaves = -1;
module_param(pud_leaves, int, 0444);
MODULE_PARM_DESC(pud_leaves, "1 if the CPU can map PUD leaves, 0 if not");

/* The run's pud_leaves= (1 or 0), or -1 if it does not say. */
int mat_run_pud_leaves(void)
{
	return pud_leaves;
}

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
 * The largest leaf a huge PFN mapping can get on this kernel and CPU: PUD
 * leaves if the run says the CPU has them (pud_leaves=), or else if the
 * kernel thinks so. Tests that expect leaves of this size take the
 * kernel's own view where the run does not say.
 */
unsigned long mat_largest_leaf(void)
{
	bool pud;

	if (!IS_ENABLED(CONFIG_TRANSPARENT_HUGEPAGE) || !has_transparent_hugepage())
		return PAGE_SIZE;
	pud = pud_leaves >= 0 ? pud_leaves : has_transparent_pud_hugepage();
	if (IS_ENABLED(CONFIG_ARCH_SUPPORTS_PUD_PFNMAP) && pud)
		return PUD_SIZE;
	if (IS_ENABLED(CONFIG_ARCH_SUPPORTS_PMD_PFNMAP))
		return PMD_SIZE;
	return PAGE_SIZE;
}

/*
 * A PFN range aligned to mat_block(), above RAM and above the 32-bit hole,
 * so nothing else maps or reserves it.
 */
unsigned long mat_synthetic_pfn(void)
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
	.owner		= THIS_MODULE,
	.mmap_prepare	= mat_mmap_prepare,
};

/*
 * The test files live on a pseudo filesystem with an inode cache of its
 * own, whose inodes' i_mmap_rwsem has a lockdep class of its own, as a
 * device driver's would: a hidden action populates with i_mmap_rwsem held
 * for write and allocates page tables there with GFP_KERNEL, which lockdep
 * reports for the shared class once dma_resv_lockdep() has recorded reclaim
 * before an i_mmap_rwsem. The class is set once per slab object, in the
 * cache's constructor, as i_mmap_rwsem is initialized there.
 */
static struct lock_class_key mat_i_mmap_rwsem_key;
static struct kmem_cache *mat_inode_cachep;
static struct vfsmount *mat_mnt;
static DEFINE_MUTEX(mat_fs_lock);

static void mat_inode_init_once(void *obj)
{
	struct inode *inode = obj;

	inode_init_once(inode);
	lockdep_set_class(&inode->i_data.i_mmap_rwsem, &mat_i_mmap_rwsem_key);
}

static struct inode *mat_alloc_inode(struct super_block *sb)
{
	return alloc_inode_sb(sb, mat_inode_cachep, GFP_KERNEL);
}

static void mat_free_inode(struct inode *inode)
{
	kmem_cache_free(mat_inode_cachep, inode);
}

static const struct super_operations mat_sops = {
	.alloc_inode	= mat_alloc_inode,
	.free_inode	= mat_free_inode,
	.statfs		= simple_statfs,
};

static int mat_init_fs_context(struct fs_context *fc)
{
	struct pseudo_fs_context *ctx = init_pseudo(fc, ANON_INODE_FS_MAGIC);

	if (!ctx)
		return -ENOMEM;
	ctx->ops = &mat_sops;
	return 0;
}

static struct file_system_type mat_fs_type = {
	.name			= "mmap_kunit",
	.init_fs_context	= mat_init_fs_context,
	.kill_sb		= kill_anon_super,
};

/* The test filesystem, mounted on first use and kept (built-in only). */
static struct vfsmount *mat_fs(struct kunit *test)
{
	struct vfsmount *mnt;

	mutex_lock(&mat_fs_lock);
	if (!mat_mnt) {
		if (!mat_inode_cachep)
			mat_inode_cachep = kmem_cache_create("mmap_kunit_inode",
							     sizeof(struct inode),
							     0, 0,
							     mat_inode_init_once);
		if (mat_inode_cachep) {
			mnt = kern_mount(&mat_fs_type);
			if (!IS_ERR(mnt))
				mat_mnt = mnt;
		}
	}
	mutex_unlock(&mat_fs_lock);
	KUNIT_ASSERT_NOT_NULL(test, mat_mnt);
	return mat_mnt;
}

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

/* A file with @fops on an inode of its own, on the test filesystem. */
static struct file *mat_file_open(struct kunit *test, const char *name,
				  const struct file_operations *fops,
				  void *private_data)
{
	struct vfsmount *mnt = mat_fs(test);
	struct inode *inode;
	struct file *file;

	inode = alloc_anon_inode(mnt->mnt_sb);
	KUNIT_ASSERT_FALSE(test, IS_ERR(inode));
	file = alloc_file_pseudo(inode, mnt, name, O_RDWR, fops);
	if (IS_ERR(file))
		iput(inode);
	KUNIT_ASSERT_FALSE(test, IS_ERR(file));
	file->private_data = private_data;
	KUNIT_ASSERT_EQ(test, 0, kunit_add_action_or_reset(test, mat_fput, file));
	return file;
}

/* A test file, released when the test ends. */
struct mat_file *mat_file_create_fops(struct kunit *test,
				      const struct file_operations *fops)
{
	struct mat_file *mf;

	mf = kunit_kzalloc(test, sizeof(*mf), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, mf);
	mf->test = test;
	mf->pfn = mat_synthetic_pfn();
	init_completion(&mf->zap_started);
	init_completion(&mf->zap_done);
	mf->file = mat_file_open(test, "[mmap_kunit]", fops, mf);
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

/*
 * mmap() MAT_LEN bytes of @mf through a stacked file with @fops, whose
 * f_op->mmap gets @mf as the file's private data and runs @mf's
 * mmap_prepare through compat_vma_mmap() or __compat_vma_mmap().
 */
unsigned long mat_mmap_stacked(struct mat_file *mf,
			       const struct file_operations *fops)
{
	struct kunit *test = mf->test;
	struct file *file;

	file = mat_file_open(test, "[mmap_kunit_stacked]", fops, mf);
	KUNIT_ASSERT_EQ(test, 0, kunit_attach_mm());
	return vm_mmap(file, 0, MAT_LEN, PROT_READ | PROT_WRITE, MAP_SHARED, 0);
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

unsigned long __mat_count_entries(unsigned long addr, unsigned long end)
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

/* Entries in [@start, @start + @len): one per page where PTEs map it. */
unsigned long mat_count_entries(unsigned long start, unsigned long len)
{
	unsigned long nr;

	mmap_read_lock(current->mm);
	nr = __mat_count_entries(start, start + len);
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
		KUNIT_EXPECT_EQ_MSG(test, __mat_count_entries(start, start + len), 0,
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
 * Size of the leaf mapping @addr, and its PFN for @addr in *@pfn, or 0 if
 * nothing is mapped there. The caller holds mmap_lock.
 */
unsigned long __mat_leaf_size(unsigned long addr, unsigned long *pfn)
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

/*
 * Is every page of [@start, @end) mapped? Leaf by leaf: a mapping of huge
 * leaves is quick to check. The caller holds mmap_lock.
 */
bool __mat_fully_mapped(unsigned long start, unsigned long end)
{
	unsigned long addr, pfn, size;

	for (addr = start; addr < end; addr = ALIGN_DOWN(addr, size) + size) {
		size = __mat_leaf_size(addr, &pfn);
		if (!size)
			return false;
	}
	return true;
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
 * the largest size both its alignment and mat_largest_leaf() allow, each
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

/* Run @mf->zap (or a zap of the whole file) on a second thread. */
bool mat_start_zapper(struct mat_file *mf)
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
bool mat_zapper_blocked_on_rmap(struct mat_file *mf, unsigned int ms)
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

bool mat_zap_finished_within(struct mat_file *mf, unsigned int ms)
{
	return wait_for_completion_timeout(&mf->zap_done,
					   msecs_to_jiffies(ms)) > 0;
}

/* Wait up to @ms for the rmap lock of @mf's mapping to be taken. */
bool mat_rmap_locked_within(struct mat_file *mf, unsigned int ms)
{
	unsigned long deadline = jiffies + msecs_to_jiffies(ms);

	while (!mat_rmap_locked(mf)) {
		if (time_after(jiffies, deadline))
			return false;
		usleep_range(100, 200);
	}
	return true;
}

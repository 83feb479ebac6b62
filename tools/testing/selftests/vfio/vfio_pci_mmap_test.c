// SPDX-License-Identifier: GPL-2.0-only
/*
 * User-visible contract of mmap() on a vfio-pci BAR.
 *
 * The tests rely only on behaviour that must hold whether the kernel fills
 * a BAR mapping lazily from its fault handler or eagerly at mmap() time,
 * whatever page table leaf sizes it uses and wherever it places the mapping:
 *
 *  - data written through a mapping reads back, also after a memory decode
 *    disable/enable cycle;
 *  - while PCI_COMMAND_MEMORY is clear, any access through any mapping of the
 *    BAR (including one created while it was clear) raises SIGBUS, and
 *    accesses work again once it is set, even while racing with the
 *    creation of new mappings;
 *  - mprotect() and munmap() of part of a mapping only affect that part;
 *  - a forked child shares the mapping;
 *  - a PROT_NONE mapping can be made, and made accessible with mprotect();
 *  - mmap() refuses, with EINVAL, private mappings, ranges that do not lie
 *    within an mmap-able region, and regions the device does not have, and
 *    mremap() refuses, with EFAULT, to grow a BAR mapping.
 *
 * The populated_* tests and the stress after them check what a kernel that
 * populates BAR mappings at mmap() time promises on top: no fault on the
 * first touch of a mapping it placed, nothing populated while memory
 * decode is off, no more page tables than the leaves need, and nothing
 * left mapped after a zap, however population and memory decode toggles
 * interleave. They skip, saying why, on a kernel that populates nothing
 * at mmap() time, or no mapping that needs huge leaves to stay small.
 *
 * The test writes to the largest prefetchable, mmap-able BAR of the device
 * (to every 4 KiB page of it, in places), so it runs only on a device whose
 * BAR behaves like memory: QEMU's ivshmem-plain (1af4:1110), whose BAR2 is
 * host memory, or any device when given --bar-is-memory (a GPU's VRAM
 * aperture, say). Elsewhere it skips.
 *
 * Data pattern: the only value ever written to the BAR is
 *
 *	pattern(i) = 0x5646494f00000000 ^ i	("VFIO" in the upper 32 bits)
 *
 * as a little-endian u64 at byte offset i * 4096 of the BAR (the start of
 * 4 KiB page i, whatever the CPU page size); nothing else in the BAR is ever
 * written. readback (and data_after_reenable) write it to every 4 KiB page
 * of the BAR, so after a run the BAR holds pattern(i) at offset i * 4096 for
 * every page i, which an external harness can check against the memory
 * backing the BAR (e.g. the host file behind QEMU's ivshmem).
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include <linux/kernel.h>
#include <linux/limits.h>
#include <linux/pci_regs.h>
#include <linux/sizes.h>
#include <linux/vfio.h>

#include <libvfio.h>

#include "kselftest_harness.h"

/* Granularity of the data pattern, independent of the CPU page size. */
#define SLOT_SIZE		SZ_4K

/* Returned by check_slots() when a slot holds the wrong value. */
#define CHECK_MISMATCH		(-1)

/*
 * Test timeouts (seconds), generous because everything is slow under
 * emulation: faulting in all 524288 pages of a 2 GiB BAR one by one can take
 * 10 s or more.
 */
#define TIMEOUT_SHORT		60
#define TIMEOUT_ONE_PASS	120
#define TIMEOUT_TWO_PASSES	180

/* zap_stress bounds */
#define ZAP_STRESS_NS		(3ULL * 1000 * 1000 * 1000)
#define ZAP_STRESS_MAX_ITERS	100000UL
#define ZAP_MAX_WINDOWS		8
#define ZAP_PAGES_PER_WINDOW	3

/* QEMU's ivshmem-plain, whose BAR2 is host memory. */
#define IVSHMEM_VENDOR		0x1af4
#define IVSHMEM_DEVICE		0x1110

static const char *device_bdf;
static size_t page_size;
/* --bar-is-memory: the BAR may be written whatever the device. */
static bool bar_is_memory;

static u64 pattern(size_t slot)
{
	return 0x5646494f00000000ULL ^ slot;	/* "VFIO" ^ slot */
}

/* A mapping of [offset, offset + len) of the BAR at va. */
struct bar_map {
	char *va;
	size_t offset;
	size_t len;
};

static u64 *slot_addr(const struct bar_map *m, size_t slot)
{
	return (u64 *)(m->va + slot * SLOT_SIZE - m->offset);
}

static size_t addr_slot(const struct bar_map *m, void *addr)
{
	return ((char *)addr - m->va + m->offset) / SLOT_SIZE;
}

static size_t page_slot(size_t page)
{
	return page * (page_size / SLOT_SIZE);
}

/*
 * SIGBUS/SIGSEGV guard. A thread arms it by pointing fault_guard at a
 * struct fault_guard set up with sigsetjmp(); a fault while armed records the
 * faulting address in fault_addr and siglongjmp()s back with the signal
 * number. A fault while disarmed kills the process with the default action.
 */
struct fault_guard {
	sigjmp_buf jmp;
};

static __thread struct fault_guard *fault_guard;
static __thread void *fault_addr;

static void fault_handler(int sig, siginfo_t *info, void *ucontext)
{
	struct fault_guard *guard = READ_ONCE(fault_guard);

	if (!guard) {
		signal(sig, SIG_DFL);
		return;
	}

	fault_addr = info->si_addr;
	WRITE_ONCE(fault_guard, NULL);
	siglongjmp(guard->jmp, sig);
}

static int install_fault_handlers(void)
{
	struct sigaction sa = {
		.sa_sigaction = fault_handler,
		.sa_flags = SA_SIGINFO,
	};

	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGBUS, &sa, NULL) || sigaction(SIGSEGV, &sa, NULL))
		return -errno;

	return 0;
}

/* Returns true if the read succeeded, else false with the signal in *sig. */
static bool try_read_u64(u64 *p, u64 *val, int *sig)
{
	struct fault_guard guard;
	int s;

	s = sigsetjmp(guard.jmp, 1);
	if (s) {
		*sig = s;
		return false;
	}

	WRITE_ONCE(fault_guard, &guard);
	*val = READ_ONCE(*p);
	WRITE_ONCE(fault_guard, NULL);

	*sig = 0;
	return true;
}

/* Returns true if the write succeeded, else false with the signal in *sig. */
static bool try_write_u64(u64 *p, u64 val, int *sig)
{
	struct fault_guard guard;
	int s;

	s = sigsetjmp(guard.jmp, 1);
	if (s) {
		*sig = s;
		return false;
	}

	WRITE_ONCE(fault_guard, &guard);
	WRITE_ONCE(*p, val);
	WRITE_ONCE(fault_guard, NULL);

	*sig = 0;
	return true;
}

/* Read the pattern slot at the start of BAR page @page through @m. */
static bool read_page(const struct bar_map *m, size_t page, u64 *val, int *sig)
{
	u64 raw = 0;
	bool ok;

	ok = try_read_u64(slot_addr(m, page_slot(page)), &raw, sig);
	*val = le64toh(raw);

	return ok;
}

/* Write pattern() to the slot at the start of BAR page @page through @m. */
static bool write_page(const struct bar_map *m, size_t page, int *sig)
{
	size_t slot = page_slot(page);

	return try_write_u64(slot_addr(m, slot), htole64(pattern(slot)), sig);
}

/* Out of line, so no local of fill_slots() changes between sigsetjmp() and a fault. */
static noinline void __fill_slots(const struct bar_map *m, size_t start,
				  size_t end, size_t stride)
{
	size_t slot;

	for (slot = start; slot < end; slot += stride)
		WRITE_ONCE(*slot_addr(m, slot), htole64(pattern(slot)));
}

/*
 * Write pattern(slot) to every @stride-th slot of [@start, @end) through @m,
 * with a single fault guard for the whole loop. Returns 0, or the signal
 * raised by the access to slot *@bad.
 */
static int fill_slots(const struct bar_map *m, size_t start, size_t end,
		      size_t stride, size_t *bad)
{
	struct fault_guard guard;
	int sig;

	sig = sigsetjmp(guard.jmp, 1);
	if (sig) {
		*bad = addr_slot(m, fault_addr);
		return sig;
	}

	WRITE_ONCE(fault_guard, &guard);
	__fill_slots(m, start, end, stride);
	WRITE_ONCE(fault_guard, NULL);

	return 0;
}

static noinline bool __check_slots(const struct bar_map *m, size_t start,
				   size_t end, size_t stride, size_t *bad,
				   u64 *got)
{
	size_t slot;
	u64 val;

	for (slot = start; slot < end; slot += stride) {
		val = le64toh(READ_ONCE(*slot_addr(m, slot)));
		if (val != pattern(slot)) {
			*bad = slot;
			*got = val;
			return false;
		}
	}

	return true;
}

/*
 * Check that every @stride-th slot of [@start, @end) holds pattern(slot),
 * with a single fault guard for the whole loop. Returns 0, the signal raised
 * by the access to slot *@bad, or CHECK_MISMATCH if slot *@bad holds *@got.
 */
static int check_slots(const struct bar_map *m, size_t start, size_t end,
		       size_t stride, size_t *bad, u64 *got)
{
	struct fault_guard guard;
	bool ok;
	int sig;

	sig = sigsetjmp(guard.jmp, 1);
	if (sig) {
		*bad = addr_slot(m, fault_addr);
		return sig;
	}

	WRITE_ONCE(fault_guard, &guard);
	ok = __check_slots(m, start, end, stride, bad, got);
	WRITE_ONCE(fault_guard, NULL);

	return ok ? 0 : CHECK_MISMATCH;
}

#define ASSERT_READ_OK(_m, _page) do {						\
	size_t __page = (_page);						\
	u64 __val = 0;								\
	int __sig = 0;								\
										\
	ASSERT_TRUE(read_page(_m, __page, &__val, &__sig))			\
		TH_LOG("page %#zx: read raised signal %d", __page, __sig);	\
	ASSERT_EQ(pattern(page_slot(__page)), __val)				\
		TH_LOG("page %#zx: read wrong data", __page);			\
} while (0)

#define ASSERT_READ_FAULTS(_m, _page, _signo) do {				\
	size_t __page = (_page);						\
	u64 __val = 0;								\
	int __sig = 0;								\
										\
	ASSERT_FALSE(read_page(_m, __page, &__val, &__sig))			\
		TH_LOG("page %#zx: read did not fault (got %#llx)", __page,	\
		       (unsigned long long)__val);				\
	ASSERT_EQ(_signo, __sig)						\
		TH_LOG("page %#zx: read raised the wrong signal", __page);	\
} while (0)

#define ASSERT_WRITE_OK(_m, _page) do {						\
	size_t __page = (_page);						\
	int __sig = 0;								\
										\
	ASSERT_TRUE(write_page(_m, __page, &__sig))				\
		TH_LOG("page %#zx: write raised signal %d", __page, __sig);	\
} while (0)

#define ASSERT_WRITE_FAULTS(_m, _page, _signo) do {				\
	size_t __page = (_page);						\
	int __sig = 0;								\
										\
	ASSERT_FALSE(write_page(_m, __page, &__sig))				\
		TH_LOG("page %#zx: write did not fault", __page);		\
	ASSERT_EQ(_signo, __sig)						\
		TH_LOG("page %#zx: write raised the wrong signal", __page);	\
} while (0)

#define ASSERT_FILL_OK(_m, _start, _end, _stride) do {				\
	size_t __bad = 0;							\
	int __ret;								\
										\
	__ret = fill_slots(_m, _start, _end, _stride, &__bad);			\
	ASSERT_EQ(0, __ret)							\
		TH_LOG("slot %#zx: write raised signal %d", __bad, __ret);	\
} while (0)

#define ASSERT_CHECK_OK(_m, _start, _end, _stride) do {				\
	size_t __bad = 0;							\
	u64 __got = 0;								\
	int __ret;								\
										\
	__ret = check_slots(_m, _start, _end, _stride, &__bad, &__got);	\
	ASSERT_EQ(0, __ret)							\
		TH_LOG("slot %#zx: %s (signal %d, got %#llx)", __bad,		\
		       __ret == CHECK_MISMATCH ? "wrong data" : "faulted",	\
		       __ret, (unsigned long long)__got);			\
} while (0)

static void set_memory_enable(struct vfio_pci_device *device, bool enable)
{
	if (enable)
		vfio_pci_cmd_set(device, PCI_COMMAND_MEMORY);
	else
		vfio_pci_cmd_clear(device, PCI_COMMAND_MEMORY);
}

static bool bar_is_prefetchable(struct vfio_pci_device *device, int index)
{
	u32 bar = vfio_pci_config_readl(device, PCI_BASE_ADDRESS_0 + 4 * index);

	return !(bar & PCI_BASE_ADDRESS_SPACE_IO) &&
	       (bar & PCI_BASE_ADDRESS_MEM_PREFETCH);
}

/* Index of the largest prefetchable, mmap-able, read/write BAR, or -1. */
static int largest_mmap_bar(struct vfio_pci_device *device)
{
	u32 flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE |
		    VFIO_REGION_INFO_FLAG_MMAP;
	u64 largest_size = 0;
	int i, largest = -1;

	for (i = 0; i < PCI_STD_NUM_BARS; i++) {
		struct vfio_region_info *info = &device->bars[i].info;

		if ((info->flags & flags) != flags)
			continue;
		if (!bar_is_prefetchable(device, i))
			continue;
		if (info->size > largest_size) {
			largest_size = info->size;
			largest = i;
		}
	}

	return largest;
}

/* Physical address of BAR @index, from sysfs. */
static bool bar_phys_addr(const char *bdf, int index, u64 *pa)
{
	unsigned long long start, end, flags;
	char path[PATH_MAX];
	bool found = false;
	FILE *f;
	int i;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/resource", bdf);
	f = fopen(path, "r");
	if (!f)
		return false;

	for (i = 0; i <= index; i++) {
		if (fscanf(f, "%llx %llx %llx", &start, &end, &flags) != 3)
			break;
		if (i == index) {
			*pa = start;
			found = true;
		}
	}

	fclose(f);
	return found;
}

static u64 now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static void spin_ns(u64 ns)
{
	u64 end = now_ns() + ns;

	while (now_ns() < end)
		;
}

/* mmap() [@offset, @offset + @len) of the BAR wherever the kernel likes. */
static void *mmap_bar(struct vfio_pci_device *device, struct vfio_pci_bar *bar,
		      size_t offset, size_t len)
{
	return mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, device->fd,
		    bar->info.offset + offset);
}

/*
 * A range that splits huge leaves: [mid - page, mid + span + page), with mid
 * the 1 GiB boundary for BARs of 2 GiB or more, so both PUD leaves around it,
 * the PMD leaves around mid and mid + span, and the PTE tables at both ends
 * would all be split.
 */
static void split_range(size_t size, size_t *start, size_t *end)
{
	size_t mid = size >= SZ_2G ? SZ_1G : size / 2;
	size_t span = min_t(size_t, SZ_2M, size / 4);

	*start = mid - page_size;
	*end = mid + span + page_size;
}

#define NR_SPLIT_PAGES	4

/*
 * Pages inside [@start, @end): both ends, both sides of mid and the middle;
 * and outside it: both neighbours, and the first and last page of the BAR.
 */
static void split_pages(size_t npages, size_t start, size_t end,
			size_t inside[NR_SPLIT_PAGES],
			size_t outside[NR_SPLIT_PAGES])
{
	inside[0] = start / page_size;
	inside[1] = start / page_size + 1;
	inside[2] = (start + end) / 2 / page_size;
	inside[3] = end / page_size - 1;

	outside[0] = 0;
	outside[1] = start / page_size - 1;
	outside[2] = end / page_size;
	outside[3] = npages - 1;
}

FIXTURE(vfio_pci_mmap_test) {
	struct iommu *iommu;
	struct vfio_pci_device *device;
	struct vfio_pci_bar *bar;
	int bar_index;
	size_t size;
	size_t npages;
	size_t nslots;
	struct bar_map map;
};

/* Map the whole BAR into @m: 0, or -errno. */
static int bar_map_whole(struct bar_map *m, struct vfio_pci_device *device,
			 struct vfio_pci_bar *bar)
{
	void *va = mmap_bar(device, bar, 0, bar->info.size);

	if (va == MAP_FAILED)
		return -errno;

	m->va = va;
	m->offset = 0;
	m->len = bar->info.size;
	return 0;
}

static void bar_unmap(struct bar_map *m)
{
	if (m->va)
		munmap(m->va, m->len);

	m->va = NULL;
}

/* Map the whole BAR into self->map, in a TEST_F(). */
#define ASSERT_MAP_WHOLE_BAR() do {						\
	int __ret = bar_map_whole(&self->map, self->device, self->bar);	\
										\
	ASSERT_EQ(0, __ret) TH_LOG("mmap: %s", strerror(-__ret));		\
} while (0)

FIXTURE_SETUP(vfio_pci_mmap_test)
{
	struct vfio_pci_bar *bar;
	u16 vendor, devid;

	self->iommu = iommu_init(default_iommu_mode);
	self->device = vfio_pci_device_init(device_bdf, self->iommu);

	vendor = vfio_pci_config_readw(self->device, PCI_VENDOR_ID);
	devid = vfio_pci_config_readw(self->device, PCI_DEVICE_ID);
	if (!bar_is_memory &&
	    (vendor != IVSHMEM_VENDOR || devid != IVSHMEM_DEVICE))
		SKIP(return, "%04x:%04x: not ivshmem-plain, see --bar-is-memory",
		     vendor, devid);

	self->bar_index = largest_mmap_bar(self->device);
	if (self->bar_index < 0)
		SKIP(return, "No prefetchable mmap-able BAR on %s", device_bdf);

	bar = &self->device->bars[self->bar_index];
	self->bar = bar;
	self->size = bar->info.size;

	if (self->size < 16 * page_size)
		SKIP(return, "BAR %d too small (size=%#zx)", self->bar_index,
		     self->size);

	self->npages = self->size / page_size;
	self->nslots = self->size / SLOT_SIZE;

	/*
	 * Drop libvfio's own (hand-aligned) mapping of the BAR: each test maps
	 * the BAR itself and lets the kernel choose the address.
	 */
	if (bar->vaddr) {
		ASSERT_EQ(0, munmap(bar->vaddr, self->size));
		bar->vaddr = NULL;
	}

	ASSERT_EQ(0, install_fault_handlers());

	set_memory_enable(self->device, true);
	ASSERT_TRUE(vfio_pci_config_readw(self->device, PCI_COMMAND) &
		    PCI_COMMAND_MEMORY);
}

FIXTURE_TEARDOWN(vfio_pci_mmap_test)
{
	set_memory_enable(self->device, true);
	bar_unmap(&self->map);
	vfio_pci_device_cleanup(self->device);
	iommu_cleanup(self->iommu);
}

/* One greppable line about placement and population of the mapping. */
#define MMAP_REPORT_FMT \
	"vfio_pci_mmap: size=%#zx va=%#llx pa=%s first_touch_faults=%ld pages=%zu congruent_1g=%s congruent_2m=%s\n"

/*
 * Write the pattern to every 4 KiB page of the BAR, read it all back, and
 * report how the mapping was placed and populated.
 */
TEST_F_TIMEOUT(vfio_pci_mmap_test, readback, TIMEOUT_ONE_PASS)
{
	const char *cong_1g = "unknown", *cong_2m = "unknown";
	char pa_str[32] = "unknown";
	struct rusage before, after;
	long faults;
	u64 pa = 0;
	u64 va;

	ASSERT_MAP_WHOLE_BAR();
	va = (u64)(uintptr_t)self->map.va;

	ASSERT_EQ(0, getrusage(RUSAGE_SELF, &before));
	ASSERT_FILL_OK(&self->map, 0, self->nslots, 1);
	ASSERT_EQ(0, getrusage(RUSAGE_SELF, &after));
	faults = after.ru_minflt - before.ru_minflt;

	ASSERT_CHECK_OK(&self->map, 0, self->nslots, 1);

	if (bar_phys_addr(device_bdf, self->bar_index, &pa)) {
		snprintf(pa_str, sizeof(pa_str), "%#llx", (unsigned long long)pa);
		cong_1g = va % SZ_1G == pa % SZ_1G ? "yes" : "no";
		cong_2m = va % SZ_2M == pa % SZ_2M ? "yes" : "no";
	}

	ksft_print_msg(MMAP_REPORT_FMT, self->size, (unsigned long long)va,
		       pa_str, faults, self->npages, cong_1g, cong_2m);
}

/*
 * Accesses through an established mapping raise SIGBUS while memory decode
 * is disabled, whether or not the page was accessed before, and work again
 * once it is re-enabled.
 */
TEST_F_TIMEOUT(vfio_pci_mmap_test, sigbus_while_disabled, TIMEOUT_SHORT)
{
	const size_t pages[] = { 0, self->npages / 2, self->npages - 1 };
	const size_t untouched = self->npages / 4 + 1;
	int i;

	ASSERT_MAP_WHOLE_BAR();

	for (i = 0; i < ARRAY_SIZE(pages); i++) {
		ASSERT_WRITE_OK(&self->map, pages[i]);
		ASSERT_READ_OK(&self->map, pages[i]);
	}

	set_memory_enable(self->device, false);

	for (i = 0; i < ARRAY_SIZE(pages); i++) {
		ASSERT_READ_FAULTS(&self->map, pages[i], SIGBUS);
		ASSERT_WRITE_FAULTS(&self->map, pages[i], SIGBUS);
	}
	ASSERT_READ_FAULTS(&self->map, untouched, SIGBUS);
	ASSERT_WRITE_FAULTS(&self->map, untouched, SIGBUS);

	set_memory_enable(self->device, true);

	for (i = 0; i < ARRAY_SIZE(pages); i++)
		ASSERT_READ_OK(&self->map, pages[i]);
	ASSERT_WRITE_OK(&self->map, untouched);
	ASSERT_READ_OK(&self->map, untouched);
}

/*
 * mmap() succeeds while memory decode is disabled, accesses through that
 * mapping raise SIGBUS until it is re-enabled and then see the BAR's data.
 */
TEST_F_TIMEOUT(vfio_pci_mmap_test, sigbus_mapping_made_while_disabled,
	       TIMEOUT_SHORT)
{
	const size_t pages[] = { 0, self->npages / 2 + 1, self->npages - 1 };
	int i;

	/* Seed the pages through a first mapping, then drop it. */
	ASSERT_MAP_WHOLE_BAR();
	for (i = 0; i < ARRAY_SIZE(pages); i++)
		ASSERT_WRITE_OK(&self->map, pages[i]);
	bar_unmap(&self->map);

	set_memory_enable(self->device, false);

	/* mmap() itself does not care about memory decode. */
	ASSERT_MAP_WHOLE_BAR();

	for (i = 0; i < ARRAY_SIZE(pages); i++) {
		ASSERT_READ_FAULTS(&self->map, pages[i], SIGBUS);
		ASSERT_WRITE_FAULTS(&self->map, pages[i], SIGBUS);
	}

	set_memory_enable(self->device, true);

	for (i = 0; i < ARRAY_SIZE(pages); i++) {
		ASSERT_READ_OK(&self->map, pages[i]);
		ASSERT_WRITE_OK(&self->map, pages[i]);
		ASSERT_READ_OK(&self->map, pages[i]);
	}
}

/* The whole BAR reads back correctly after a disable/enable cycle. */
TEST_F_TIMEOUT(vfio_pci_mmap_test, data_after_reenable, TIMEOUT_TWO_PASSES)
{
	ASSERT_MAP_WHOLE_BAR();

	ASSERT_FILL_OK(&self->map, 0, self->nslots, 1);

	set_memory_enable(self->device, false);
	ASSERT_READ_FAULTS(&self->map, 0, SIGBUS);
	set_memory_enable(self->device, true);

	ASSERT_CHECK_OK(&self->map, 0, self->nslots, 1);
}

/*
 * mprotect(PROT_READ) of a range that splits huge leaves makes exactly that
 * range read-only.
 */
TEST_F_TIMEOUT(vfio_pci_mmap_test, partial_mprotect, TIMEOUT_SHORT)
{
	size_t inside[NR_SPLIT_PAGES], outside[NR_SPLIT_PAGES];
	size_t start, end;
	int i;

	split_range(self->size, &start, &end);
	split_pages(self->npages, start, end, inside, outside);

	ASSERT_MAP_WHOLE_BAR();

	for (i = 0; i < ARRAY_SIZE(inside); i++) {
		ASSERT_WRITE_OK(&self->map, inside[i]);
		ASSERT_WRITE_OK(&self->map, outside[i]);
	}

	ASSERT_EQ(0, mprotect(self->map.va + start, end - start, PROT_READ));

	for (i = 0; i < ARRAY_SIZE(inside); i++) {
		ASSERT_READ_OK(&self->map, inside[i]);
		ASSERT_WRITE_FAULTS(&self->map, inside[i], SIGSEGV);
		ASSERT_READ_OK(&self->map, inside[i]);
	}

	for (i = 0; i < ARRAY_SIZE(outside); i++) {
		ASSERT_READ_OK(&self->map, outside[i]);
		ASSERT_WRITE_OK(&self->map, outside[i]);
		ASSERT_READ_OK(&self->map, outside[i]);
	}

	/* Making the range writable again restores write access. */
	ASSERT_EQ(0, mprotect(self->map.va + start, end - start,
			      PROT_READ | PROT_WRITE));

	for (i = 0; i < ARRAY_SIZE(inside); i++) {
		ASSERT_WRITE_OK(&self->map, inside[i]);
		ASSERT_READ_OK(&self->map, inside[i]);
	}
}

/*
 * munmap() of a range that splits huge leaves unmaps exactly that range: the
 * rest of the mapping keeps working.
 */
TEST_F_TIMEOUT(vfio_pci_mmap_test, partial_munmap, TIMEOUT_SHORT)
{
	size_t inside[NR_SPLIT_PAGES], outside[NR_SPLIT_PAGES];
	size_t start, end;
	int i;

	split_range(self->size, &start, &end);
	split_pages(self->npages, start, end, inside, outside);

	ASSERT_MAP_WHOLE_BAR();

	for (i = 0; i < ARRAY_SIZE(inside); i++) {
		ASSERT_WRITE_OK(&self->map, inside[i]);
		ASSERT_WRITE_OK(&self->map, outside[i]);
	}

	ASSERT_EQ(0, munmap(self->map.va + start, end - start));

	for (i = 0; i < ARRAY_SIZE(outside); i++) {
		ASSERT_READ_OK(&self->map, outside[i]);
		ASSERT_WRITE_OK(&self->map, outside[i]);
		ASSERT_READ_OK(&self->map, outside[i]);
	}

	for (i = 0; i < ARRAY_SIZE(inside); i++)
		ASSERT_READ_FAULTS(&self->map, inside[i], SIGSEGV);
}

enum fork_child_status {
	CHILD_OK = 0,
	CHILD_READ_FAULT,
	CHILD_BAD_DATA,
	CHILD_WRITE_FAULT,
};

static int fork_child(const struct bar_map *m, size_t npages)
{
	size_t stride = page_slot(512);
	size_t last = page_slot(npages - 1);
	size_t end = page_slot(npages);
	size_t bad;
	u64 got;
	int ret;

	/* Pages 0, 512, 1024, ... and the last page hold the pattern... */
	ret = check_slots(m, 0, end, stride, &bad, &got);
	if (!ret)
		ret = check_slots(m, last, last + 1, 1, &bad, &got);
	if (ret)
		return ret == CHECK_MISMATCH ? CHILD_BAD_DATA : CHILD_READ_FAULT;

	/* ... and are writable, as are pages 256, 768, ... */
	if (fill_slots(m, 0, end, stride, &bad) ||
	    fill_slots(m, last, last + 1, 1, &bad) ||
	    fill_slots(m, page_slot(256), end, stride, &bad))
		return CHILD_WRITE_FAULT;

	return CHILD_OK;
}

/*
 * A forked child sees the parent's data through the inherited mapping, and
 * the parent sees what the child wrote.
 */
TEST_F_TIMEOUT(vfio_pci_mmap_test, fork, TIMEOUT_SHORT)
{
	size_t stride = page_slot(512);
	size_t last = page_slot(self->npages - 1);
	int status;
	pid_t pid;

	ASSERT_MAP_WHOLE_BAR();

	ASSERT_FILL_OK(&self->map, 0, self->nslots, stride);
	ASSERT_FILL_OK(&self->map, last, last + 1, 1);

	fflush(stdout);
	fflush(stderr);

	pid = fork();
	ASSERT_GE(pid, 0);
	if (!pid)
		_exit(fork_child(&self->map, self->npages));

	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status)) TH_LOG("child status %#x", status);
	ASSERT_EQ(CHILD_OK, WEXITSTATUS(status));

	ASSERT_CHECK_OK(&self->map, 0, self->nslots, stride);
	ASSERT_CHECK_OK(&self->map, last, last + 1, 1);
	ASSERT_CHECK_OK(&self->map, page_slot(256), self->nslots, stride);
}

enum mem_state {
	MEM_ON,
	MEM_DISABLING,
	MEM_OFF,
	MEM_ENABLING,
};

/*
 * The toggler's state and off_generation, packed into one word so that a
 * reader samples both atomically.
 */
#define MEM_WORD(_gen, _state)	((u64)(_gen) << 2 | (_state))
#define MEM_WORD_STATE(_word)	((_word) & 3)

struct zap_window {
	size_t offset;
	size_t len;
	size_t pages[ZAP_PAGES_PER_WINDOW];
};

struct zap_ctx {
	struct vfio_pci_device *device;
	struct vfio_pci_bar *bar;
	u16 cmd;

	struct zap_window windows[ZAP_MAX_WINDOWS];
	int nr_windows;

	u64 word;
	bool stop;

	/* toggler results */
	unsigned long toggles;

	/* accessor results */
	unsigned long iterations;
	unsigned long reads;
	unsigned long successes;
	unsigned long sigbus;
	unsigned long other_signals;
	unsigned long disabled_reads;
	unsigned long violations;
	unsigned long enabled_reads;
	unsigned long enabled_faults;
	unsigned long bad_data;
	unsigned long mmap_failures;
	unsigned long munmap_failures;
	int mmap_errno;
};

static void add_zap_window(struct zap_ctx *ctx, size_t size, size_t offset,
			   size_t len)
{
	struct zap_window *w = &ctx->windows[ctx->nr_windows];
	size_t first;

	if (offset >= size || ctx->nr_windows == ZAP_MAX_WINDOWS)
		return;

	len = min_t(size_t, len, size - offset);
	first = offset / page_size;

	w->offset = offset;
	w->len = len;
	w->pages[0] = first;
	w->pages[1] = first + len / page_size / 2;
	w->pages[2] = first + len / page_size - 1;
	ctx->nr_windows++;
}

/* Thread A: toggle memory decode as fast as the state machine allows. */
static void *zap_toggler(void *arg)
{
	struct zap_ctx *ctx = arg;
	unsigned long i;
	u64 gen = 0;

	for (i = 0; !__atomic_load_n(&ctx->stop, __ATOMIC_ACQUIRE); i++) {
		__atomic_store_n(&ctx->word, MEM_WORD(gen, MEM_DISABLING),
				 __ATOMIC_SEQ_CST);
		vfio_pci_config_writew(ctx->device, PCI_COMMAND,
				       ctx->cmd & ~PCI_COMMAND_MEMORY);

		/*
		 * The write returned, so the kernel has zapped every mapping of
		 * the BAR and any later fault sees memory disabled.
		 */
		gen++;
		__atomic_store_n(&ctx->word, MEM_WORD(gen, MEM_OFF),
				 __ATOMIC_RELEASE);

		spin_ns(20000ULL << (i % 6));

		__atomic_store_n(&ctx->word, MEM_WORD(gen, MEM_ENABLING),
				 __ATOMIC_SEQ_CST);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		vfio_pci_config_writew(ctx->device, PCI_COMMAND,
				       ctx->cmd | PCI_COMMAND_MEMORY);
		__atomic_store_n(&ctx->word, MEM_WORD(gen, MEM_ON),
				 __ATOMIC_RELEASE);

		spin_ns(50000ULL << (i % 5));
	}

	ctx->toggles = i;
	return NULL;
}

static void zap_read(struct zap_ctx *ctx, const struct bar_map *m,
		     size_t page)
{
	u64 before, after, val;
	bool ok;
	int sig;

	before = __atomic_load_n(&ctx->word, __ATOMIC_ACQUIRE);
	ok = read_page(m, page, &val, &sig);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	after = __atomic_load_n(&ctx->word, __ATOMIC_ACQUIRE);

	ctx->reads++;
	if (ok) {
		ctx->successes++;
		if (val != pattern(page_slot(page)))
			ctx->bad_data++;
	} else if (sig == SIGBUS) {
		ctx->sigbus++;
	} else {
		ctx->other_signals++;
	}

	if (before != after)
		return;

	/* Memory was disabled during the whole read: it must have failed. */
	if (MEM_WORD_STATE(before) == MEM_OFF) {
		ctx->disabled_reads++;
		if (ok)
			ctx->violations++;
	}

	/* Memory was enabled during the whole read: it must have worked. */
	if (MEM_WORD_STATE(before) == MEM_ON) {
		ctx->enabled_reads++;
		if (!ok)
			ctx->enabled_faults++;
	}
}

/* Thread B: map a window of the BAR, read a few pages of it, unmap it. */
static void *zap_accessor(void *arg)
{
	struct zap_ctx *ctx = arg;
	u64 deadline = now_ns() + ZAP_STRESS_NS;
	unsigned long i;
	int j;

	for (i = 0; i < ZAP_STRESS_MAX_ITERS && now_ns() < deadline; i++) {
		const struct zap_window *w = &ctx->windows[i % ctx->nr_windows];
		struct bar_map m = { .offset = w->offset, .len = w->len };

		m.va = mmap_bar(ctx->device, ctx->bar, w->offset, w->len);
		if (m.va == MAP_FAILED) {
			ctx->mmap_failures++;
			ctx->mmap_errno = errno;
			break;
		}

		for (j = 0; j < ZAP_PAGES_PER_WINDOW; j++)
			zap_read(ctx, &m, w->pages[(i + j) % ZAP_PAGES_PER_WINDOW]);

		if (munmap(m.va, m.len))
			ctx->munmap_failures++;
	}

	ctx->iterations = i;
	__atomic_store_n(&ctx->stop, true, __ATOMIC_RELEASE);
	return NULL;
}

#define ZAP_REPORT_FMT \
	"zap_stress: iterations=%lu toggles=%lu reads=%lu ok=%lu sigbus=%lu disabled_reads=%lu violations=%lu enabled_reads=%lu enabled_faults=%lu bad_data=%lu\n"

/*
 * Race mmap() and faulting of new mappings against memory decode being
 * toggled: no read may succeed while memory decode is known to be disabled
 * for its whole duration, none may fail while it is known to be enabled for
 * its whole duration, and every read that succeeds sees the BAR's data.
 */
TEST_F_TIMEOUT(vfio_pci_mmap_test, zap_stress, TIMEOUT_SHORT)
{
	pthread_t toggler, accessor;
	struct zap_ctx *ctx;
	int i, j, ret;

	ctx = calloc(1, sizeof(*ctx));
	ASSERT_NE(NULL, ctx);

	ctx->device = self->device;
	ctx->bar = self->bar;
	ctx->cmd = vfio_pci_config_readw(self->device, PCI_COMMAND);
	ctx->word = MEM_WORD(0, MEM_ON);

	add_zap_window(ctx, self->size, 0, self->size);
	add_zap_window(ctx, self->size, 0, SZ_2M);
	add_zap_window(ctx, self->size, SZ_2M, SZ_2M);
	add_zap_window(ctx, self->size, SZ_1G - SZ_2M, SZ_4M);
	add_zap_window(ctx, self->size, SZ_1G, SZ_1G);
	add_zap_window(ctx, self->size, SZ_64K, SZ_2M);
	add_zap_window(ctx, self->size, self->size / 2 + SZ_64K, SZ_256K);
	add_zap_window(ctx, self->size,
		       self->size - min_t(size_t, self->size / 2, SZ_2M), SZ_2M);

	/* Seed the pages the accessor reads. */
	ASSERT_MAP_WHOLE_BAR();
	for (i = 0; i < ctx->nr_windows; i++)
		for (j = 0; j < ZAP_PAGES_PER_WINDOW; j++)
			ASSERT_WRITE_OK(&self->map, ctx->windows[i].pages[j]);

	ret = pthread_create(&toggler, NULL, zap_toggler, ctx);
	ASSERT_EQ(0, ret);

	ret = pthread_create(&accessor, NULL, zap_accessor, ctx);
	if (ret) {
		__atomic_store_n(&ctx->stop, true, __ATOMIC_RELEASE);
		pthread_join(toggler, NULL);
	}
	ASSERT_EQ(0, ret);

	pthread_join(accessor, NULL);
	pthread_join(toggler, NULL);

	set_memory_enable(self->device, true);

	ksft_print_msg(ZAP_REPORT_FMT, ctx->iterations, ctx->toggles, ctx->reads,
		       ctx->successes, ctx->sigbus, ctx->disabled_reads,
		       ctx->violations, ctx->enabled_reads, ctx->enabled_faults,
		       ctx->bad_data);

	ASSERT_EQ(0, ctx->mmap_failures)
		TH_LOG("mmap: %s", strerror(ctx->mmap_errno));
	ASSERT_EQ(0, ctx->munmap_failures);
	ASSERT_EQ(0, ctx->other_signals);
	ASSERT_EQ(0, ctx->violations);
	ASSERT_EQ(0, ctx->enabled_faults);
	ASSERT_EQ(0, ctx->bad_data);

	/* Both outcomes were exercised. */
	ASSERT_NE(0, ctx->successes);
	ASSERT_NE(0, ctx->sigbus);

	/* The BAR is intact. */
	for (i = 0; i < ctx->nr_windows; i++)
		for (j = 0; j < ZAP_PAGES_PER_WINDOW; j++)
			ASSERT_READ_OK(&self->map, ctx->windows[i].pages[j]);

	free(ctx);
}

/* Returns 0 if mmap() succeeded (and undoes it), else its errno. */
static int mmap_errno(size_t len, int prot, int flags, int fd, u64 offset)
{
	void *va = mmap(NULL, len, prot, flags, fd, offset);

	if (va == MAP_FAILED)
		return errno;

	munmap(va, len);
	return 0;
}

static u64 region_offset(struct vfio_pci_device *device, u32 index)
{
	struct vfio_region_info info = {
		.argsz = sizeof(info),
		.index = index,
	};

	ioctl_assert(device->fd, VFIO_DEVICE_GET_REGION_INFO, &info);
	return info.offset;
}

/* Returns 0 if mremap() succeeded (and undoes it), else its errno. */
static int mremap_errno(void *va, size_t old_len, size_t new_len, int flags)
{
	void *new = mremap(va, old_len, new_len, flags);

	if (new == MAP_FAILED)
		return errno;

	munmap(new, new_len);
	return 0;
}

/*
 * Invalid requests fail: mmap() with EINVAL for a private mapping (a BAR
 * mapping is never copy-on-write), for a range that does not lie wholly
 * within a BAR, for a region that cannot be mmap()ed (config space, ROM)
 * and for a region the device does not have; mremap() with EFAULT for
 * growing a BAR mapping, which is VM_DONTEXPAND.
 */
TEST_F_TIMEOUT(vfio_pci_mmap_test, bad_mmap_args, TIMEOUT_SHORT)
{
	const int rw = PROT_READ | PROT_WRITE;
	u64 off = self->bar->info.offset;
	int fd = self->device->fd;
	u64 stride, missing;
	struct bar_map m;

	/*
	 * Writable private mappings are charged before the driver sees them,
	 * so use one page for the writable case (a whole-BAR one could fail
	 * with ENOMEM instead), and the whole BAR read-only.
	 */
	ASSERT_EQ(EINVAL, mmap_errno(page_size, rw, MAP_PRIVATE, fd, off));
	ASSERT_EQ(EINVAL, mmap_errno(self->size, PROT_READ, MAP_PRIVATE, fd, off));

	/* Starting at or past the end of the BAR, or extending past it. */
	ASSERT_EQ(EINVAL, mmap_errno(page_size, rw, MAP_SHARED, fd,
				     off + self->size));
	ASSERT_EQ(EINVAL, mmap_errno(2 * page_size, rw, MAP_SHARED, fd,
				     off + self->size - page_size));
	ASSERT_EQ(EINVAL, mmap_errno(self->size + page_size, rw, MAP_SHARED,
				     fd, off));

	/* Config space and ROM. */
	ASSERT_EQ(EINVAL, mmap_errno(page_size, rw, MAP_SHARED, fd,
				     region_offset(self->device,
						   VFIO_PCI_CONFIG_REGION_INDEX)));
	ASSERT_EQ(EINVAL, mmap_errno(page_size, PROT_READ, MAP_SHARED, fd,
				     region_offset(self->device,
						   VFIO_PCI_ROM_REGION_INDEX)));

	/*
	 * The first region the device does not have, at the offset the
	 * regions' layout, as GET_REGION_INFO reports it for BAR0 and BAR1,
	 * gives it.
	 */
	stride = region_offset(self->device, VFIO_PCI_BAR1_REGION_INDEX) -
		 region_offset(self->device, VFIO_PCI_BAR0_REGION_INDEX);
	missing = region_offset(self->device, VFIO_PCI_BAR0_REGION_INDEX) +
		  self->device->info.num_regions * stride;
	ASSERT_NE(0, stride);
	ASSERT_EQ(EINVAL, mmap_errno(page_size, rw, MAP_SHARED, fd, missing));

	/* Growing a BAR mapping, in place or not. */
	ASSERT_MAP_WHOLE_BAR();
	ASSERT_WRITE_OK(&self->map, 0);
	ASSERT_WRITE_OK(&self->map, self->npages - 1);

	ASSERT_EQ(EFAULT, mremap_errno(self->map.va, self->size,
				       self->size + page_size, 0));
	ASSERT_EQ(EFAULT, mremap_errno(self->map.va, self->size,
				       self->size + page_size, MREMAP_MAYMOVE));

	/* Also when the grown mapping would still be within the BAR. */
	m.offset = 0;
	m.len = page_size;
	m.va = mmap_bar(self->device, self->bar, 0, page_size);
	ASSERT_NE(MAP_FAILED, m.va);
	ASSERT_EQ(EFAULT, mremap_errno(m.va, page_size, 2 * page_size, 0));
	ASSERT_EQ(EFAULT, mremap_errno(m.va, page_size, 2 * page_size,
				       MREMAP_MAYMOVE));
	ASSERT_READ_OK(&m, 0);
	ASSERT_EQ(0, munmap(m.va, m.len));

	/* The failed mremap() calls left the original mapping working. */
	ASSERT_READ_OK(&self->map, 0);
	ASSERT_READ_OK(&self->map, self->npages - 1);
}

/*
 * A PROT_NONE mapping of the whole BAR can be made (and nothing can touch
 * it), and mprotect() makes it a working mapping of the BAR.
 */
TEST_F_TIMEOUT(vfio_pci_mmap_test, prot_none_mapping, TIMEOUT_SHORT)
{
	const size_t pages[] = { 0, self->npages / 2, self->npages - 1 };
	struct bar_map m = { .offset = 0, .len = self->size };
	int i;

	ASSERT_MAP_WHOLE_BAR();
	for (i = 0; i < ARRAY_SIZE(pages); i++)
		ASSERT_WRITE_OK(&self->map, pages[i]);

	m.va = mmap(NULL, self->size, PROT_NONE, MAP_SHARED, self->device->fd,
		    self->bar->info.offset);
	ASSERT_NE(MAP_FAILED, m.va) TH_LOG("mmap(PROT_NONE): %s", strerror(errno));
	for (i = 0; i < ARRAY_SIZE(pages); i++)
		ASSERT_READ_FAULTS(&m, pages[i], SIGSEGV);

	ASSERT_EQ(0, mprotect(m.va, m.len, PROT_READ | PROT_WRITE));
	for (i = 0; i < ARRAY_SIZE(pages); i++)
		ASSERT_READ_OK(&m, pages[i]);
	ASSERT_EQ(0, munmap(m.va, m.len));
}

/*
 * Population at mmap() time. A kernel that populates BAR mappings when they
 * are created (and placed so that they can use huge leaves) takes no fault
 * on their first touch; the fault path still refills them after a zap. It
 * populates only what takes few page tables: any mapping of a few pages,
 * larger ones only where huge leaves map most of them.
 */

/* Minor faults of this process so far. */
static long minor_faults(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru))
		return -1;
	return ru.ru_minflt;
}

/*
 * Read the first slot of every page of @m (not a write: a write to a page
 * that a read did not fault in would not fault either). Out of line, so
 * that no local of touch_pages() changes between sigsetjmp() and a fault.
 */
static noinline u64 __touch_pages(const struct bar_map *m)
{
	u64 sum = 0;
	size_t off;

	for (off = 0; off < m->len; off += page_size)
		sum += READ_ONCE(*(u64 *)(m->va + off));
	return sum;
}

/*
 * Touch every page of @m and return the number of page faults it took, or
 * -1 if a touch raised a signal.
 */
static long touch_faults(const struct bar_map *m)
{
	struct fault_guard guard;
	long before, after;
	u64 sum;

	before = minor_faults();
	if (sigsetjmp(guard.jmp, 1))
		return -1;
	WRITE_ONCE(fault_guard, &guard);
	sum = __touch_pages(m);
	WRITE_ONCE(fault_guard, NULL);
	after = minor_faults();

	/* Keep the reads. */
	if (sum == 1)
		ksft_print_msg("sum %llu\n", (unsigned long long)sum);
	return after - before;
}

/* Map [@offset, @offset + @len), touch every @stride-th page; faults taken. */
static long probe_faults(struct vfio_pci_device *device,
			 struct vfio_pci_bar *bar, size_t offset, size_t len,
			 size_t stride)
{
	struct bar_map m = { .offset = offset, .len = len };
	struct fault_guard guard;
	long before, after;
	size_t off;

	m.va = mmap_bar(device, bar, offset, len);
	if (m.va == MAP_FAILED)
		return -1;
	before = minor_faults();
	if (sigsetjmp(guard.jmp, 1)) {
		munmap(m.va, m.len);
		return -1;
	}
	WRITE_ONCE(fault_guard, &guard);
	for (off = 0; off < len; off += stride)
		(void)READ_ONCE(*(u64 *)(m.va + off));
	WRITE_ONCE(fault_guard, NULL);
	after = minor_faults();
	munmap(m.va, m.len);
	return after - before;
}

/*
 * Why this kernel will not populate a large mapping of the BAR at mmap()
 * time, or NULL if it will. Probes: a mapping of a few pages, which a
 * populating kernel always populates, and one of three PTE tables' span
 * (3 x 2 MiB with 4 KiB pages), which it populates only with huge leaves.
 */
static const char *no_large_population(struct vfio_pci_device *device,
				       struct vfio_pci_bar *bar)
{
	const size_t span = page_size * (page_size / sizeof(u64));

	if (probe_faults(device, bar, 0, 4 * page_size, page_size) != 0)
		return "this kernel does not populate BAR mappings at mmap() time";
	if (bar->info.size < 3 * span)
		return "the BAR is too small to tell whether large mappings are populated";
	if (probe_faults(device, bar, 0, 3 * span, span) != 0)
		return "no huge PFN leaves here: large mappings are left to faults";
	return NULL;
}

#define EAGER_REPORT_FMT \
	"vfio_pci_mmap: eager %s: len=%#zx offset=%#zx va=%#llx first_touch_faults=%ld\n"

/* Map [@offset, @offset + @len) of the BAR into @m: 0, or -errno. */
static int bar_map_range(struct bar_map *m, struct vfio_pci_device *device,
			 struct vfio_pci_bar *bar, size_t offset, size_t len)
{
	void *va = mmap_bar(device, bar, offset, len);

	if (va == MAP_FAILED)
		return -errno;
	m->va = va;
	m->offset = offset;
	m->len = len;
	return 0;
}

/* A plain mmap(NULL) of the whole BAR is populated: no fault on first touch. */
TEST_F_TIMEOUT(vfio_pci_mmap_test, populated_whole_bar, TIMEOUT_ONE_PASS)
{
	const char *why;
	long faults;

	why = no_large_population(self->device, self->bar);
	if (why)
		SKIP(return, "%s", why);
	/* Fault in the stack and the rusage pages first. */
	ASSERT_LE(0, minor_faults());
	ASSERT_MAP_WHOLE_BAR();

	faults = touch_faults(&self->map);
	ksft_print_msg(EAGER_REPORT_FMT, "whole", self->size, (size_t)0,
		       (unsigned long long)(uintptr_t)self->map.va, faults);
	ASSERT_EQ(0, faults);
}

/*
 * A mapping around an MSI-X table, from a page past the first PMD-sized
 * block (2 MiB + 4 KiB with 4 KiB pages) over two such blocks: PTEs up to
 * the next block boundary, a PMD leaf, then PTEs. Also populated.
 */
TEST_F_TIMEOUT(vfio_pci_mmap_test, populated_odd_offset, TIMEOUT_SHORT)
{
	const size_t pmd = page_size * (page_size / sizeof(u64));
	const size_t offset = pmd + page_size, len = 2 * pmd;
	const char *why;
	struct bar_map m;
	long faults;
	int ret;

	if (self->size < offset + len)
		SKIP(return, "BAR %d too small (size=%#zx)", self->bar_index,
		     self->size);
	why = no_large_population(self->device, self->bar);
	if (why)
		SKIP(return, "%s", why);

	ASSERT_LE(0, minor_faults());
	ret = bar_map_range(&m, self->device, self->bar, offset, len);
	ASSERT_EQ(0, ret) TH_LOG("mmap: %s", strerror(-ret));

	faults = touch_faults(&m);
	ksft_print_msg(EAGER_REPORT_FMT, "odd_offset", len, offset,
		       (unsigned long long)(uintptr_t)m.va, faults);
	EXPECT_EQ(0, faults);
	ASSERT_EQ(0, munmap(m.va, m.len));
}

/*
 * A mapping made while memory decode is off is not populated: it SIGBUSes,
 * and once memory is back the pages come in through faults.
 */
TEST_F_TIMEOUT(vfio_pci_mmap_test, not_populated_while_disabled, TIMEOUT_SHORT)
{
	const size_t pages[] = { 0, self->npages / 2, self->npages - 1 };
	struct bar_map m;
	long before, after;
	int i, ret;

	set_memory_enable(self->device, false);
	ret = bar_map_range(&m, self->device, self->bar, 0, self->size);
	ASSERT_EQ(0, ret) TH_LOG("mmap: %s", strerror(-ret));

	for (i = 0; i < ARRAY_SIZE(pages); i++)
		ASSERT_READ_FAULTS(&m, pages[i], SIGBUS);

	set_memory_enable(self->device, true);
	before = minor_faults();
	for (i = 0; i < ARRAY_SIZE(pages); i++)
		ASSERT_WRITE_OK(&m, pages[i]);
	after = minor_faults();
	/* Three pages far apart: at least two leaves to fault in. */
	EXPECT_LE(2, after - before);

	for (i = 0; i < ARRAY_SIZE(pages); i++)
		ASSERT_READ_OK(&m, pages[i]);
	ASSERT_EQ(0, munmap(m.va, m.len));
}

/*
 * Disabling memory decode zaps a populated mapping completely: every page
 * sampled (one per 2 MiB) SIGBUSes; after re-enabling, faults refill it.
 */
TEST_F_TIMEOUT(vfio_pci_mmap_test, zap_removes_populated_mapping,
	       TIMEOUT_SHORT)
{
	const char *why;
	const size_t stride = SZ_2M / page_size ?: 1;
	size_t page;

	why = no_large_population(self->device, self->bar);
	if (why)
		SKIP(return, "%s", why);
	ASSERT_LE(0, minor_faults());
	ASSERT_MAP_WHOLE_BAR();
	ASSERT_EQ(0, touch_faults(&self->map));

	for (page = 0; page < self->npages; page += stride)
		ASSERT_WRITE_OK(&self->map, page);

	set_memory_enable(self->device, false);
	for (page = 0; page < self->npages; page += stride)
		ASSERT_READ_FAULTS(&self->map, page, SIGBUS);
	ASSERT_READ_FAULTS(&self->map, self->npages - 1, SIGBUS);

	set_memory_enable(self->device, true);
	for (page = 0; page < self->npages; page += stride)
		ASSERT_READ_OK(&self->map, page);
}

/*
 * Two mappings of the same BAR at once, both populated: what one writes the
 * other reads, and unmapping one leaves the other working.
 */
TEST_F_TIMEOUT(vfio_pci_mmap_test, two_live_mappings, TIMEOUT_SHORT)
{
	const char *why;
	const size_t pages[] = { 0, self->npages / 2, self->npages - 1 };
	struct bar_map second;
	int i, ret;

	why = no_large_population(self->device, self->bar);
	if (why)
		SKIP(return, "%s", why);
	ASSERT_LE(0, minor_faults());
	ASSERT_MAP_WHOLE_BAR();
	ret = bar_map_range(&second, self->device, self->bar, 0, self->size);
	ASSERT_EQ(0, ret) TH_LOG("mmap: %s", strerror(-ret));
	EXPECT_EQ(0, touch_faults(&second));

	for (i = 0; i < ARRAY_SIZE(pages); i++) {
		ASSERT_WRITE_OK(&self->map, pages[i]);
		ASSERT_READ_OK(&second, pages[i]);
	}

	ASSERT_EQ(0, munmap(self->map.va, self->map.len));
	self->map.va = NULL;
	for (i = 0; i < ARRAY_SIZE(pages); i++) {
		ASSERT_READ_OK(&second, pages[i]);
		ASSERT_WRITE_OK(&second, pages[i]);
	}
	ASSERT_EQ(0, munmap(second.va, second.len));
}

/*
 * The BAR already mapped by someone else, through its sysfs resource file
 * (which reserves a memory type for it): mmap() through vfio still works,
 * populated, and both mappings see the same data.
 */
TEST_F_TIMEOUT(vfio_pci_mmap_test, bar_mapped_through_sysfs, TIMEOUT_SHORT)
{
	const char *why;
	const size_t pages[] = { 0, self->npages / 2, self->npages - 1 };
	struct bar_map sysfs = { .offset = 0, .len = self->size };
	char path[128];
	int fd, i;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/resource%d",
		 device_bdf, self->bar_index);
	fd = open(path, O_RDWR | O_SYNC);
	if (fd < 0)
		SKIP(return, "resource%d: %s", self->bar_index, strerror(errno));
	sysfs.va = mmap(NULL, self->size, PROT_READ | PROT_WRITE, MAP_SHARED,
			fd, 0);
	close(fd);
	if (sysfs.va == MAP_FAILED)
		SKIP(return, "mmap of resource%d: %s", self->bar_index,
		     strerror(errno));
	why = no_large_population(self->device, self->bar);
	if (why)
		SKIP(return, "%s", why);

	ASSERT_LE(0, minor_faults());
	ASSERT_MAP_WHOLE_BAR();
	EXPECT_EQ(0, touch_faults(&self->map));

	for (i = 0; i < ARRAY_SIZE(pages); i++) {
		ASSERT_WRITE_OK(&self->map, pages[i]);
		ASSERT_READ_OK(&sysfs, pages[i]);
	}
	ASSERT_EQ(0, munmap(sysfs.va, sysfs.len));
	for (i = 0; i < ARRAY_SIZE(pages); i++)
		ASSERT_READ_OK(&self->map, pages[i]);
}

/* Page table memory of this process, in kB ("VmPTE:" of /proc/self/status). */
static long vm_pte_kb(void)
{
	char line[128];
	long kb = -1;
	FILE *f;

	f = fopen("/proc/self/status", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmPTE: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

enum thp_child_status {
	THP_CHILD_OK = 0,
	THP_CHILD_SETUP,
	THP_CHILD_MMAP,
	THP_CHILD_PAGE_TABLES,
	THP_CHILD_BAD_DATA,
};

/*
 * In a child that disabled THP: map the whole BAR, check the page table
 * memory that cost, and the data at @pages.
 */
static int thp_disabled_child(struct vfio_pci_device *device,
			      struct vfio_pci_bar *bar, const size_t *pages,
			      int nr_pages)
{
	struct bar_map m = { .offset = 0, .len = bar->info.size };
	long before, after;
	u64 t0, t1, val;
	int i, sig;

	if (prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0))
		return THP_CHILD_SETUP;
	before = vm_pte_kb();
	t0 = now_ns();
	m.va = mmap_bar(device, bar, 0, m.len);
	t1 = now_ns();
	if (m.va == MAP_FAILED)
		return THP_CHILD_MMAP;
	after = vm_pte_kb();
	ksft_print_msg("vfio_pci_mmap: thp_disabled: size=%#zx mmap_us=%llu page_tables_kb=%ld\n",
		       m.len, (unsigned long long)(t1 - t0) / 1000, after - before);
	/* Two PTE tables and a table per level above them, at most. */
	if (before < 0 || after - before > (long)(4 * page_size / 1024))
		return THP_CHILD_PAGE_TABLES;
	for (i = 0; i < nr_pages; i++)
		if (!read_page(&m, pages[i], &val, &sig) ||
		    val != pattern(page_slot(pages[i])))
			return THP_CHILD_BAD_DATA;
	return THP_CHILD_OK;
}

/*
 * A process that disabled THP gets no huge leaves, so populating a large
 * mapping would take a PTE per page. Its mmap() of the whole BAR must cost
 * no more page tables than leaves need (it is left to faults), and the
 * mapping must work.
 */
TEST_F_TIMEOUT(vfio_pci_mmap_test, thp_disabled_mapping_bounded, TIMEOUT_SHORT)
{
	const size_t pages[] = { 0, self->npages / 2, self->npages - 1 };
	int i, status;
	pid_t pid;

	ASSERT_MAP_WHOLE_BAR();
	for (i = 0; i < ARRAY_SIZE(pages); i++)
		ASSERT_WRITE_OK(&self->map, pages[i]);

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	ASSERT_GE(pid, 0);
	if (!pid)
		_exit(thp_disabled_child(self->device, self->bar, pages,
					 ARRAY_SIZE(pages)));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status)) TH_LOG("child status %#x", status);
	ASSERT_EQ(THP_CHILD_OK, WEXITSTATUS(status));
}

/*
 * Pages of @m present in its page tables, by mincore(): 1 for a page a PTE
 * or a PMD or PUD leaf maps, 0 for one none does (a PFN mapping has no page
 * cache behind it). -1 if mincore() fails.
 */
static long present_pages(const struct bar_map *m)
{
	size_t i, n = m->len / page_size;
	unsigned char *vec = malloc(n);
	long present = 0;

	if (!vec || mincore(m->va, m->len, vec)) {
		free(vec);
		return -1;
	}
	for (i = 0; i < n; i++)
		present += vec[i] & 1;
	free(vec);
	return present;
}

/* One page per 2 MiB of @m, and its last: where leaves of every size sit. */
#define SAMPLE_STRIDE	(SZ_2M / page_size ?: 1)

/* Write the pattern at the sampled pages of @m: 0, or the signal. */
static int fill_samples(const struct bar_map *m)
{
	size_t page, npages = m->len / page_size;
	int sig;

	for (page = 0; page < npages; page += SAMPLE_STRIDE)
		if (!write_page(m, page, &sig))
			return sig;
	return write_page(m, npages - 1, &sig) ? 0 : sig;
}

/*
 * Read the sampled pages of @m: 0 if each holds the pattern, else the
 * signal a read raised (*@page says where), or CHECK_MISMATCH.
 */
static int check_samples(const struct bar_map *m, size_t *page)
{
	size_t npages = m->len / page_size;
	u64 val;
	int sig;

	for (*page = 0; *page < npages + SAMPLE_STRIDE; *page += SAMPLE_STRIDE) {
		if (*page >= npages)
			*page = npages - 1;
		if (!read_page(m, *page, &val, &sig))
			return sig;
		if (val != pattern(page_slot(*page)))
			return CHECK_MISMATCH;
		if (*page == npages - 1)
			break;
	}
	return 0;
}

/*
 * Zap @m (memory decode off): nothing may stay in its page tables, and
 * every sampled page must SIGBUS; then memory back on. 0, or what failed.
 */
static const char *zap_removes_all(struct vfio_pci_device *device,
				   const struct bar_map *m)
{
	size_t page, npages = m->len / page_size;
	const char *bad = NULL;
	u64 val;
	int sig;

	set_memory_enable(device, false);
	if (present_pages(m) != 0)
		bad = "entries left after the zap";
	for (page = 0; !bad && page < npages; page += SAMPLE_STRIDE)
		if (read_page(m, page, &val, &sig) || sig != SIGBUS)
			bad = "a page did not SIGBUS after the zap";
	set_memory_enable(device, true);
	return bad;
}

#define ASSERT_SAMPLES_OK(_m, _when) do {					\
	size_t __page = 0;							\
	int __ret = check_samples(_m, &__page);				\
										\
	ASSERT_EQ(0, __ret) TH_LOG("%s: page %#zx: %s (%d)", _when, __page,	\
				   __ret == CHECK_MISMATCH ? "wrong data" :	\
				   "faulted", __ret);				\
} while (0)

/*
 * A reservation of @len bytes of address space whose address is congruent
 * to @va modulo 1 GiB: where a mapping keeps the leaves it has at @va.
 */
static char *reserve_congruent(size_t len, const char *va)
{
	char *resv = mmap(NULL, len + SZ_1G, PROT_NONE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	char *at;

	if (resv == MAP_FAILED)
		return NULL;
	at = resv + (((uintptr_t)va - (uintptr_t)resv) & (SZ_1G - 1));
	munmap(resv, at - resv);
	munmap(at + len, resv + len + SZ_1G - (at + len));
	return at;
}

#define MREMAP_REPORT_FMT \
	"vfio_pci_mmap: mremap: len=%#zx from=%#llx to=%#llx present_before=%ld present_after=%ld refill_faults=%ld\n"

/*
 * mremap() of a populated whole-BAR mapping to a 1 GiB-congruent address
 * moves its leaves: the new range reads right without a refill fault, the
 * old one is gone (SIGSEGV), and a zap still finds everything at the new
 * one (SIGBUS).
 */
TEST_F_TIMEOUT(vfio_pci_mmap_test, mremap_moves_populated_mapping, TIMEOUT_SHORT)
{
	long present, faults;
	const char *why, *bad;
	char *old, *to;
	u64 val;
	int sig;

	why = no_large_population(self->device, self->bar);
	if (why)
		SKIP(return, "%s", why);
	ASSERT_LE(0, minor_faults());
	ASSERT_MAP_WHOLE_BAR();
	ASSERT_EQ(0, fill_samples(&self->map));
	present = present_pages(&self->map);
	ASSERT_EQ((long)self->npages, present);

	old = self->map.va;
	to = reserve_congruent(self->size, old);
	ASSERT_NE(NULL, to);
	ASSERT_EQ(to, mremap(old, self->size, self->size,
			     MREMAP_MAYMOVE | MREMAP_FIXED, to))
		TH_LOG("mremap: %s", strerror(errno));
	self->map.va = to;

	ASSERT_FALSE(try_read_u64((u64 *)old, &val, &sig));
	ASSERT_EQ(SIGSEGV, sig);
	present = present_pages(&self->map);
	faults = minor_faults();
	ASSERT_SAMPLES_OK(&self->map, "after mremap()");
	faults = minor_faults() - faults;
	ksft_print_msg(MREMAP_REPORT_FMT, self->size,
		       (unsigned long long)(uintptr_t)old,
		       (unsigned long long)(uintptr_t)to, (long)self->npages,
		       present, faults);
	EXPECT_EQ((long)self->npages, present);
	EXPECT_EQ(0, faults);

	bad = zap_removes_all(self->device, &self->map);
	ASSERT_EQ(NULL, bad) TH_LOG("%s", bad);
	ASSERT_SAMPLES_OK(&self->map, "after the zap");
}

/*
 * Page table walkers userspace can aim at a populated mapping, each as a
 * call on the mapping: it may be refused or do nothing, but the data must
 * be right afterwards, and a zap must still remove everything.
 */
struct walker {
	const char *name;
	long (*walk)(const struct bar_map *m);
};

static long walk_mprotect(const struct bar_map *m)
{
	if (mprotect(m->va, m->len, PROT_READ))
		return -errno;
	return mprotect(m->va, m->len, PROT_READ | PROT_WRITE) ? -errno : 0;
}

/* Newer than some C libraries' headers. */
#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE		25
#endif
#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL	102
#define MADV_GUARD_REMOVE	103
#endif

static long walk_madvise(const struct bar_map *m)
{
	static const int advice[] = {
		MADV_NORMAL, MADV_RANDOM, MADV_SEQUENTIAL, MADV_WILLNEED,
		MADV_DONTNEED, MADV_FREE, MADV_COLD, MADV_PAGEOUT,
		MADV_POPULATE_READ, MADV_POPULATE_WRITE, MADV_HUGEPAGE,
		MADV_NOHUGEPAGE, MADV_COLLAPSE, MADV_MERGEABLE,
		MADV_UNMERGEABLE, MADV_DONTFORK, MADV_DOFORK, MADV_DONTDUMP,
		MADV_GUARD_INSTALL, MADV_GUARD_REMOVE, MADV_NORMAL,
	};
	long refused = 0;
	int i;

	for (i = 0; i < ARRAY_SIZE(advice); i++)
		refused += !!madvise(m->va, m->len, advice[i]);
	return refused;
}

static long walk_mlock(const struct bar_map *m)
{
	long ret = mlock(m->va, m->len) ? -errno : 0;

	munlock(m->va, m->len);
	return ret;
}

static long walk_msync(const struct bar_map *m)
{
	long ret = msync(m->va, m->len, MS_ASYNC) ? -errno : 0;

	return ret ?: (msync(m->va, m->len, MS_SYNC) ? -errno : 0);
}

static long read_proc_file(const char *path)
{
	char buf[4096];
	long total = 0;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -errno;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		total += n;
	close(fd);
	return n < 0 ? -errno : total;
}

static long walk_smaps(const struct bar_map *m)
{
	return read_proc_file("/proc/self/smaps");
}

static long walk_smaps_rollup(const struct bar_map *m)
{
	return read_proc_file("/proc/self/smaps_rollup");
}

static long walk_numa_maps(const struct bar_map *m)
{
	return read_proc_file("/proc/self/numa_maps");
}

static long walk_pagemap(const struct bar_map *m)
{
	u64 entries[64];
	ssize_t n;
	int fd;

	fd = open("/proc/self/pagemap", O_RDONLY);
	if (fd < 0)
		return -errno;
	n = pread(fd, entries, sizeof(entries),
		  (uintptr_t)m->va / page_size * sizeof(u64));
	close(fd);
	return n < 0 ? -errno : n;
}

static long walk_proc_mem(const struct bar_map *m)
{
	u64 val;
	ssize_t n;
	int fd;

	fd = open("/proc/self/mem", O_RDONLY);
	if (fd < 0)
		return -errno;
	n = pread(fd, &val, sizeof(val), (uintptr_t)m->va);
	close(fd);
	return n < 0 ? -errno : n;
}

static long walk_process_vm_readv(const struct bar_map *m)
{
	u64 val;
	struct iovec local = { &val, sizeof(val) };
	struct iovec remote = { m->va, sizeof(val) };
	ssize_t n = process_vm_readv(getpid(), &local, 1, &remote, 1, 0);

	return n < 0 ? -errno : n;
}

static long walk_fork(const struct bar_map *m)
{
	size_t page;
	int status;
	pid_t pid;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (!pid)
		_exit(check_samples(m, &page) ? 1 : 0);
	if (waitpid(pid, &status, 0) != pid)
		return -errno;
	return WIFEXITED(status) && !WEXITSTATUS(status) ? 0 : -EIO;
}

static const struct walker walkers[] = {
	{ "mprotect", walk_mprotect },
	{ "madvise", walk_madvise },
	{ "mlock", walk_mlock },
	{ "msync", walk_msync },
	{ "smaps", walk_smaps },
	{ "smaps_rollup", walk_smaps_rollup },
	{ "numa_maps", walk_numa_maps },
	{ "pagemap", walk_pagemap },
	{ "proc_mem", walk_proc_mem },
	{ "process_vm_readv", walk_process_vm_readv },
	{ "fork", walk_fork },
};

#define WALK_REPORT_FMT \
	"vfio_pci_mmap: walker %s: returned %ld, %ld of %zu pages present after it\n"

/*
 * Each walker on a freshly populated whole-BAR mapping: the data is right
 * afterwards (a walker may drop leaves, faults refill them), and a zap
 * removes everything.
 */
TEST_F_TIMEOUT(vfio_pci_mmap_test, walkers_keep_populated_mapping, TIMEOUT_ONE_PASS)
{
	const char *why, *bad;
	long ret, present;
	int i;

	why = no_large_population(self->device, self->bar);
	if (why)
		SKIP(return, "%s", why);
	for (i = 0; i < ARRAY_SIZE(walkers); i++) {
		ASSERT_MAP_WHOLE_BAR();
		ASSERT_EQ(0, fill_samples(&self->map));
		ASSERT_EQ((long)self->npages, present_pages(&self->map));

		ret = walkers[i].walk(&self->map);
		present = present_pages(&self->map);
		ksft_print_msg(WALK_REPORT_FMT, walkers[i].name, ret, present,
			       self->npages);
		ASSERT_SAMPLES_OK(&self->map, walkers[i].name);
		bad = zap_removes_all(self->device, &self->map);
		ASSERT_EQ(NULL, bad) TH_LOG("after %s: %s", walkers[i].name, bad);
		bar_unmap(&self->map);
	}
}

/*
 * Every path that makes the BAR's memory unusable zaps its mappings first:
 * memory decode off through PCI_COMMAND, a PCI_PM_CTRL write to D3hot,
 * runtime PM through VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY, and the resets,
 * VFIO_DEVICE_RESET and VFIO_DEVICE_PCI_HOT_RESET. The zap_path fixture
 * races each against mmap() of the BAR, which a populating kernel fills at
 * once, and probes the live mapping while the memory is unusable. It only
 * reads the BAR, and runs on any device, each variant where the device has
 * what it needs (a reset method, power management, a bus of its own).
 *
 * Two kinds of windows. After an off switch returned and before the on
 * switch starts (decode, D3hot, low power: 5 ms), a read must raise SIGBUS.
 * A reset zaps near its start and holds memory_lock until it is over (a
 * read would wait for that): mincore(), which does not wait, samples the
 * live mapping every half millisecond during a reset, and the samples
 * taken wholly inside the middle half of the reset, as the zapper timed
 * it, must find no entry. The quarters at either end keep a sample taken
 * before the zap, or after the reset gave the memory back and a new
 * mmap() populated, from counting as stray; and for resets the zapper runs
 * SCHED_FIFO, so that the mapper and the prober, which spin, cannot
 * preempt it between its clock reads and the reset (with three threads on
 * two CPUs they did, for up to 8 ms of a 14 ms bus reset). The other
 * paths' windows are only ever judged short by a delay.
 */
#define PATH_STRESS_OVERLAPS	50UL
#define PATH_STRESS_UNUSABLE	20UL
#define PATH_STRESS_MAX_OPS	2000UL
#define PATH_STRESS_NS		(30ULL * 1000 * 1000 * 1000)
#define OFF_WINDOW_NS		(5ULL * 1000 * 1000)
#define RESET_SAMPLE_EVERY_NS	(500ULL * 1000)
#define RESET_MARGIN_NS		(1ULL * 1000 * 1000)
#define RESET_SAMPLES		1024

struct path_ctx;

struct zap_path {
	const char *name;
	/* Why the device cannot take this path, or NULL. */
	const char *(*unsupported)(struct path_ctx *ctx);
	/* Make memory unusable: 0 or -errno. A reset is all of it. */
	int (*off)(struct path_ctx *ctx);
	/* Make it usable again; NULL for a reset. */
	int (*on)(struct path_ctx *ctx);
};

struct path_ctx {
	struct vfio_pci_device *device;
	struct vfio_pci_bar *bar;
	const struct zap_path *path;
	size_t size;
	u16 cmd;
	u8 pm_cap;

	/* The zapper's state word (MEM_WORD()); when the current op began. */
	u64 word;
	u64 op_start;
	/* The mapping the mapper has live, or NULL; bumped around unmapping. */
	char *live;
	u64 live_gen;
	/* When the live mapping's mmap() began and returned. */
	u64 live_t0, live_t1;
	bool stop;

	/* The prober's mincore()s of the live mapping during reset @gen. */
	struct {
		u64 gen, t0, t1, map_t0, map_t1;
		long present;
	} samples[RESET_SAMPLES];
	unsigned long nr_samples;
	bool sampling;

	unsigned long ops, op_errors, busy;
	int op_errno;
	unsigned long maps, map_failures, overlapped;
	unsigned long probes, unusable_probes, stray, other_signals;
};

static const char *no_decode(struct path_ctx *ctx)
{
	return NULL;
}

static int decode_off(struct path_ctx *ctx)
{
	vfio_pci_config_writew(ctx->device, PCI_COMMAND,
			       ctx->cmd & ~PCI_COMMAND_MEMORY);
	return 0;
}

static int decode_on(struct path_ctx *ctx)
{
	vfio_pci_config_writew(ctx->device, PCI_COMMAND,
			       ctx->cmd | PCI_COMMAND_MEMORY);
	return 0;
}

/* Offset of the device's power management capability in config space. */
static u8 find_pm_cap(struct vfio_pci_device *device)
{
	u8 pos = vfio_pci_config_readb(device, PCI_CAPABILITY_LIST);
	int ttl = 48;

	if (!(vfio_pci_config_readw(device, PCI_STATUS) & PCI_STATUS_CAP_LIST))
		return 0;
	while (pos >= 0x40 && ttl--) {
		if (vfio_pci_config_readb(device, pos + PCI_CAP_LIST_ID) == PCI_CAP_ID_PM)
			return pos;
		pos = vfio_pci_config_readb(device, pos + PCI_CAP_LIST_NEXT);
	}
	return 0;
}

static const char *no_pm(struct path_ctx *ctx)
{
	return ctx->pm_cap ? NULL : "no power management capability";
}

static int set_power_state(struct path_ctx *ctx, u16 state)
{
	u16 ctrl = vfio_pci_config_readw(ctx->device, ctx->pm_cap + PCI_PM_CTRL);

	vfio_pci_config_writew(ctx->device, ctx->pm_cap + PCI_PM_CTRL,
			       (ctrl & ~PCI_PM_CTRL_STATE_MASK) | state);
	return 0;
}

/* PCI_PM_CTRL_STATE_MASK values: D0 and D3hot. */
#define PM_CTRL_D0	0
#define PM_CTRL_D3HOT	3

static int d3hot_off(struct path_ctx *ctx)
{
	return set_power_state(ctx, PM_CTRL_D3HOT);
}

static int d3hot_on(struct path_ctx *ctx)
{
	return set_power_state(ctx, PM_CTRL_D0);
}

static int low_power(struct path_ctx *ctx, u32 feature)
{
	struct vfio_device_feature f = {
		.argsz = sizeof(f),
		.flags = VFIO_DEVICE_FEATURE_SET | feature,
	};

	return ioctl(ctx->device->fd, VFIO_DEVICE_FEATURE, &f) ? -errno : 0;
}

static const char *no_low_power(struct path_ctx *ctx)
{
	struct vfio_device_feature f = {
		.argsz = sizeof(f),
		.flags = VFIO_DEVICE_FEATURE_PROBE | VFIO_DEVICE_FEATURE_SET |
			 VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY,
	};

	if (ioctl(ctx->device->fd, VFIO_DEVICE_FEATURE, &f))
		return "no VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY";
	return ctx->pm_cap ? NULL : "no power management capability";
}

static int low_power_off(struct path_ctx *ctx)
{
	return low_power(ctx, VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY);
}

static int low_power_on(struct path_ctx *ctx)
{
	return low_power(ctx, VFIO_DEVICE_FEATURE_LOW_POWER_EXIT);
}

static const char *no_reset(struct path_ctx *ctx)
{
	return ctx->device->info.flags & VFIO_DEVICE_FLAGS_RESET ? NULL :
	       "no reset method (VFIO_DEVICE_FLAGS_RESET)";
}

static int device_reset(struct path_ctx *ctx)
{
	return ioctl(ctx->device->fd, VFIO_DEVICE_RESET) ? -errno : 0;
}

/* A bus reset of the device's own bus, by a device opened through a cdev. */
static int hot_reset(struct path_ctx *ctx)
{
	struct vfio_pci_hot_reset hr = { .argsz = sizeof(hr), .count = 0 };

	return ioctl(ctx->device->fd, VFIO_DEVICE_PCI_HOT_RESET, &hr) ? -errno : 0;
}

static const char *no_hot_reset(struct path_ctx *ctx)
{
	struct vfio_pci_hot_reset_info *info;
	const char *why = NULL;
	size_t sz = sizeof(*info) + 8 * sizeof(info->devices[0]);

	info = calloc(1, sz);
	if (!info)
		return "out of memory";
	info->argsz = sz;
	if (ioctl(ctx->device->fd, VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, info))
		why = "no bus reset for the device (VFIO_DEVICE_GET_PCI_HOT_RESET_INFO)";
	else if (info->count != 1)
		why = "other devices on the bus";
	free(info);
	if (!why && hot_reset(ctx)) {
		static char buf[64];

		snprintf(buf, sizeof(buf), "VFIO_DEVICE_PCI_HOT_RESET: %s",
			 strerror(errno));
		why = buf;
	}
	return why;
}

static const struct zap_path zap_paths[] = {
	{ "decode", no_decode, decode_off, decode_on },
	{ "d3hot", no_pm, d3hot_off, d3hot_on },
	{ "low_power", no_low_power, low_power_off, low_power_on },
	{ "reset", no_reset, device_reset, NULL },
	{ "hot_reset", no_hot_reset, hot_reset, NULL },
};

#define STRAY_FMT \
	"stray: reset %llu of %llu us: %ld present in [%llu, %llu] us, mmap() in [%lld, %lld] us\n"

/*
 * Reset @gen ran from @start to @end: judge the prober's samples of it
 * taken wholly inside its middle half (and a margin from either end), when
 * memory_lock was held and the zap done. Each with an entry is stray.
 */
static void judge_reset_samples(struct path_ctx *ctx, u64 gen, u64 start,
				u64 end)
{
	u64 quarter = (end - start) / 4;
	u64 margin = quarter > RESET_MARGIN_NS ? quarter : RESET_MARGIN_NS;
	unsigned long n = ctx->nr_samples, i;

	for (i = n; i > 0 && i + RESET_SAMPLES > n; i--) {
		typeof(ctx->samples[0]) *sm = &ctx->samples[(i - 1) % RESET_SAMPLES];

		if (sm->gen != gen)
			break;
		if (sm->t0 < start + margin || sm->t1 + margin > end)
			continue;
		ctx->unusable_probes++;
		if (!sm->present)
			continue;
		ctx->stray++;
		ksft_print_msg(STRAY_FMT,
			       (unsigned long long)gen,
			       (unsigned long long)(end - start) / 1000,
			       sm->present,
			       (unsigned long long)(sm->t0 - start) / 1000,
			       (unsigned long long)(sm->t1 - start) / 1000,
			       ((long long)sm->map_t0 - (long long)start) / 1000,
			       ((long long)sm->map_t1 - (long long)start) / 1000);
	}
}

/* The zapper: take the path on and off until enough mmap()s overlapped it. */
static void *path_zapper(void *arg)
{
	struct path_ctx *ctx = arg;
	u64 deadline = now_ns() + PATH_STRESS_NS, gen = 0, start;
	struct sched_param sp = { .sched_priority = 1 };
	unsigned long i;
	int ret;

	ret = ctx->path->on ? 0 :
	      pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp);
	if (ret)
		ksft_print_msg("zapper not SCHED_FIFO (%s): reset windows may be skewed\n",
			       strerror(ret));

	for (i = 0; i < PATH_STRESS_MAX_OPS && now_ns() < deadline &&
	     (__atomic_load_n(&ctx->overlapped, __ATOMIC_RELAXED) < PATH_STRESS_OVERLAPS ||
	      __atomic_load_n(&ctx->unusable_probes, __ATOMIC_RELAXED) < PATH_STRESS_UNUSABLE);
	     i++) {
		gen++;
		start = now_ns();
		__atomic_store_n(&ctx->op_start, start, __ATOMIC_SEQ_CST);
		__atomic_store_n(&ctx->word, MEM_WORD(gen, MEM_DISABLING),
				 __ATOMIC_SEQ_CST);
		ret = ctx->path->off(ctx);
		if (!ctx->path->on) {
			u64 end = now_ns();

			/* Stop the prober's sampling, then judge it. */
			__atomic_store_n(&ctx->word, MEM_WORD(gen, MEM_ENABLING),
					 __ATOMIC_SEQ_CST);
			while (__atomic_load_n(&ctx->sampling, __ATOMIC_ACQUIRE))
				;
			/* A hot reset backs off when a fault holds memory_lock. */
			if (ret == -EBUSY) {
				ctx->busy++;
				ret = 0;
			} else if (!ret) {
				judge_reset_samples(ctx, gen, start, end);
			}
		}
		if (ret) {
			ctx->op_errors++;
			ctx->op_errno = -ret;
			break;
		}
		if (ctx->path->on) {
			__atomic_store_n(&ctx->word, MEM_WORD(gen, MEM_OFF),
					 __ATOMIC_RELEASE);
			spin_ns(OFF_WINDOW_NS);
			__atomic_store_n(&ctx->word, MEM_WORD(gen, MEM_ENABLING),
					 __ATOMIC_SEQ_CST);
			ret = ctx->path->on(ctx);
			if (ret) {
				ctx->op_errors++;
				ctx->op_errno = -ret;
				break;
			}
		}
		__atomic_store_n(&ctx->word, MEM_WORD(gen, MEM_ON),
				 __ATOMIC_RELEASE);
		spin_ns(rand() % 2000000);
	}
	ctx->ops = i;
	__atomic_store_n(&ctx->stop, true, __ATOMIC_RELEASE);
	return NULL;
}

/* The mapper: map the BAR (populated where memory is usable), publish, unmap. */
static void *path_mapper(void *arg)
{
	struct path_ctx *ctx = arg;

	while (!__atomic_load_n(&ctx->stop, __ATOMIC_ACQUIRE)) {
		u64 before = __atomic_load_n(&ctx->word, __ATOMIC_ACQUIRE);
		u64 t0 = now_ns();
		char *va = mmap_bar(ctx->device, ctx->bar, 0, ctx->size);
		u64 t1 = now_ns();

		if (va == MAP_FAILED) {
			ctx->map_failures++;
			continue;
		}
		ctx->maps++;
		if (__atomic_load_n(&ctx->word, __ATOMIC_ACQUIRE) != before)
			__atomic_add_fetch(&ctx->overlapped, 1, __ATOMIC_RELAXED);
		__atomic_store_n(&ctx->live_t0, t0, __ATOMIC_RELAXED);
		__atomic_store_n(&ctx->live_t1, t1, __ATOMIC_RELAXED);
		__atomic_store_n(&ctx->live, va, __ATOMIC_RELEASE);
		spin_ns(200000);

		/* Retract the mapping before it goes away. */
		__atomic_store_n(&ctx->live, NULL, __ATOMIC_SEQ_CST);
		__atomic_add_fetch(&ctx->live_gen, 1, __ATOMIC_SEQ_CST);
		munmap(va, ctx->size);
		__atomic_add_fetch(&ctx->live_gen, 1, __ATOMIC_SEQ_CST);
	}
	return NULL;
}

/*
 * During a reset, sample the live mapping with mincore(), which does not
 * wait for the reset as a read would, every RESET_SAMPLE_EVERY_NS until the
 * reset returns; the zapper then judges the samples.
 */
static void sample_reset(struct path_ctx *ctx, u64 word)
{
	struct bar_map m = { .offset = 0, .len = ctx->size };
	u64 gen, next = now_ns(), t0, map_t0, map_t1;
	long present;

	__atomic_store_n(&ctx->sampling, true, __ATOMIC_SEQ_CST);
	while (__atomic_load_n(&ctx->word, __ATOMIC_ACQUIRE) == word) {
		typeof(ctx->samples[0]) *sm;

		if (now_ns() < next)
			continue;
		gen = __atomic_load_n(&ctx->live_gen, __ATOMIC_ACQUIRE);
		m.va = __atomic_load_n(&ctx->live, __ATOMIC_ACQUIRE);
		if (!m.va || (gen & 1))
			continue;
		map_t0 = __atomic_load_n(&ctx->live_t0, __ATOMIC_RELAXED);
		map_t1 = __atomic_load_n(&ctx->live_t1, __ATOMIC_RELAXED);
		t0 = now_ns();
		present = present_pages(&m);
		/* Only a mapping that stayed for the whole mincore(). */
		if (present < 0 ||
		    gen != __atomic_load_n(&ctx->live_gen, __ATOMIC_ACQUIRE))
			continue;
		sm = &ctx->samples[ctx->nr_samples++ % RESET_SAMPLES];
		sm->gen = word >> 2;
		sm->t0 = t0;
		sm->t1 = now_ns();
		sm->map_t0 = map_t0;
		sm->map_t1 = map_t1;
		sm->present = present;
		next = sm->t1 + RESET_SAMPLE_EVERY_NS;
	}
	__atomic_store_n(&ctx->sampling, false, __ATOMIC_SEQ_CST);
}

/*
 * The prober: read the live mapping at pages spread over it; count the
 * reads made wholly while the memory was known to be off, and those of
 * them that succeeded: each hit an entry a zap left behind, or that
 * population added after it. During a reset, sample_reset().
 */
static void *path_prober(void *arg)
{
	struct path_ctx *ctx = arg;
	size_t npages = ctx->size / page_size;
	unsigned long i;

	for (i = 0; !__atomic_load_n(&ctx->stop, __ATOMIC_ACQUIRE); i++) {
		u64 gen = __atomic_load_n(&ctx->live_gen, __ATOMIC_ACQUIRE);
		char *va = __atomic_load_n(&ctx->live, __ATOMIC_ACQUIRE);
		struct bar_map m = { .va = va, .offset = 0, .len = ctx->size };
		u64 before, after, val;
		bool ok;
		int sig;

		if (!va || (gen & 1))
			continue;
		before = __atomic_load_n(&ctx->word, __ATOMIC_ACQUIRE);
		if (!ctx->path->on) {
			if (MEM_WORD_STATE(before) == MEM_DISABLING)
				sample_reset(ctx, before);
			continue;
		}
		ok = read_page(&m, (i * 7919) % npages, &val, &sig);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		after = __atomic_load_n(&ctx->word, __ATOMIC_ACQUIRE);

		/* The mapping went away under us: SIGSEGV, not a finding. */
		if (gen != __atomic_load_n(&ctx->live_gen, __ATOMIC_ACQUIRE))
			continue;
		ctx->probes++;
		if (!ok && sig != SIGBUS)
			ctx->other_signals++;
		/* Off for the whole read: it must have raised SIGBUS. */
		if (before != after || MEM_WORD_STATE(before) != MEM_OFF)
			continue;
		__atomic_add_fetch(&ctx->unusable_probes, 1, __ATOMIC_RELAXED);
		if (ok)
			ctx->stray++;
	}
	return NULL;
}

FIXTURE(zap_path) {
	struct iommu *iommu;
	struct vfio_pci_device *device;
	struct path_ctx ctx;
};

FIXTURE_VARIANT(zap_path) {
	int path;
};

FIXTURE_VARIANT_ADD(zap_path, decode) { .path = 0 };
FIXTURE_VARIANT_ADD(zap_path, d3hot) { .path = 1 };
FIXTURE_VARIANT_ADD(zap_path, low_power) { .path = 2 };
FIXTURE_VARIANT_ADD(zap_path, reset) { .path = 3 };
FIXTURE_VARIANT_ADD(zap_path, hot_reset) { .path = 4 };

FIXTURE_SETUP(zap_path)
{
	struct path_ctx *ctx = &self->ctx;
	const char *why;
	int index;

	self->iommu = iommu_init(default_iommu_mode);
	self->device = vfio_pci_device_init(device_bdf, self->iommu);
	ctx->device = self->device;
	ctx->path = &zap_paths[variant->path];
	index = largest_mmap_bar(self->device);
	if (index < 0)
		SKIP(return, "No prefetchable mmap-able BAR on %s", device_bdf);
	ctx->bar = &self->device->bars[index];
	ctx->size = ctx->bar->info.size;
	if (ctx->bar->vaddr) {
		ASSERT_EQ(0, munmap(ctx->bar->vaddr, ctx->size));
		ctx->bar->vaddr = NULL;
	}
	ASSERT_EQ(0, install_fault_handlers());
	ctx->cmd = vfio_pci_config_readw(self->device, PCI_COMMAND) |
		   PCI_COMMAND_MEMORY;
	vfio_pci_config_writew(self->device, PCI_COMMAND, ctx->cmd);
	ctx->pm_cap = find_pm_cap(self->device);
	why = ctx->path->unsupported(ctx);
	if (why)
		SKIP(return, "%s: %s", ctx->path->name, why);
}

FIXTURE_TEARDOWN(zap_path)
{
	vfio_pci_device_cleanup(self->device);
	iommu_cleanup(self->iommu);
}

#define PATH_REPORT_FMT \
	"zap_path %s: ops=%lu busy=%lu maps=%lu overlapped=%lu probes=%lu unusable_probes=%lu stray=%lu\n"

/*
 * Race mmap() against the path: no read may succeed while the memory is
 * known to be unusable for its whole duration. Then a new mapping is
 * populated again: the invalidation sequence is back to even.
 */
TEST_F_TIMEOUT(zap_path, no_stray_entry, 90)
{
	struct path_ctx *ctx = &self->ctx;
	pthread_t zapper, mapper, prober;
	struct bar_map m = { .offset = 0, .len = ctx->size };

	ctx->word = MEM_WORD(0, MEM_ON);
	ASSERT_EQ(0, pthread_create(&mapper, NULL, path_mapper, ctx));
	ASSERT_EQ(0, pthread_create(&prober, NULL, path_prober, ctx));
	ASSERT_EQ(0, pthread_create(&zapper, NULL, path_zapper, ctx));
	pthread_join(zapper, NULL);
	pthread_join(prober, NULL);
	pthread_join(mapper, NULL);
	vfio_pci_config_writew(self->device, PCI_COMMAND, ctx->cmd);

	ksft_print_msg(PATH_REPORT_FMT, ctx->path->name, ctx->ops, ctx->busy,
		       ctx->maps, ctx->overlapped, ctx->probes,
		       ctx->unusable_probes, ctx->stray);
	ASSERT_EQ(0, ctx->op_errors) TH_LOG("%s: %s", ctx->path->name,
					    strerror(ctx->op_errno));
	ASSERT_EQ(0, ctx->map_failures);
	ASSERT_EQ(0, ctx->other_signals);
	ASSERT_EQ(0, ctx->stray);

	/* After the last section the sequence is even: a new mapping fills. */
	m.va = mmap_bar(self->device, ctx->bar, 0, ctx->size);
	ASSERT_NE(MAP_FAILED, m.va);
	if (probe_faults(self->device, ctx->bar, 0, page_size, page_size) == 0)
		EXPECT_EQ((long)(ctx->size / page_size), present_pages(&m));
	munmap(m.va, m.len);

	if (!ctx->overlapped || !ctx->unusable_probes)
		SKIP(return, "%s: nothing raced (%lu mmap()s overlapped, %lu unusable probes)",
		     ctx->path->name, ctx->overlapped, ctx->unusable_probes);
}

/* Take --bar-is-memory out of the arguments; print it in the help. */
static void parse_own_args(int *argc, char *argv[])
{
	int i, j;

	for (i = 1, j = 1; i < *argc; i++) {
		if (!strcmp(argv[i], "--bar-is-memory")) {
			bar_is_memory = true;
			continue;
		}
		if (!strcmp(argv[i], "-h"))
			fprintf(stderr,
				"%s [--bar-is-memory] [harness options] [BDF]\n"
				"  Writes to the largest prefetchable, mmap-able BAR of the device,\n"
				"  and turns its memory decode off and on, many times: skips that\n"
				"  unless it is ivshmem-plain (1af4:1110) or --bar-is-memory says\n"
				"  that the BAR is memory that may be written and the device may\n"
				"  stop decoding it (on real hardware too). The zap_path cases only\n"
				"  read the BAR, but also reset the device and change its power state.\n",
				argv[0]);
		argv[j++] = argv[i];
	}
	argv[j] = NULL;
	*argc = j;
}

int main(int argc, char *argv[])
{
	page_size = getpagesize();
	parse_own_args(&argc, argv);
	device_bdf = vfio_selftests_get_bdf(&argc, argv);
	return test_harness_run(argc, argv);
}

// SPDX-License-Identifier: GPL-2.0
/*
 * vfio-bar-bench: what it costs a user to map a vfio-pci BAR and use it,
 * run inside the make bench guest against every BAR size it is given.
 *
 * Usage: vfio-bar-bench [-r REPS] BDF...
 *        vfio-bar-bench -p LOOPS BDF...
 *
 * With -p, it only maps and unmaps each BAR2 LOOPS times (plain), for a
 * profiler to sample (scripts/bench/profile.sh), and prints
 *   BENCH-PROFILE bdf=<bdf> size=<bytes> loops=<n> mmap_ns=<mean> munmap_ns=<mean>
 *
 * For each device (its BAR2) and each repetition, the BAR is mapped the
 * way a real program does it (one "pattern" each):
 *
 *   plain  mmap(NULL) of the whole BAR: vfio selftests' library, simple
 *          tools (and Debian's QEMU 7.2);
 *   qemu   QEMU's hand alignment: reserve size + align PROT_NONE, keep the
 *          aligned part, MAP_FIXED the BAR over it (align = the largest
 *          power of two dividing the size, at most 1 GiB);
 *   dpdk   DPDK's pci_vfio_map_resource_primary() and pci_vfio_mmap_bar()
 *          (drivers/bus/pci/linux/pci_vfio.c): the device's mmap-able
 *          memory BARs in index order, each at the next free address from
 *          the end of the hugepage memseg lists, reserved PROT_NONE with
 *          that address as a hint and mapped MAP_FIXED into the
 *          reservation (around the MSI-X table, or per sparse-mmap area,
 *          where the device has them): see dpdk_layout();
 *   msix   the MSI-X hole: mmap(NULL) of BAR offset 2 MiB + 4 KiB to the
 *          BAR's end, the mmap-able area after an MSI-X table at 2 MiB,
 *          mapped on its own as QEMU maps each sparse-mmap area;
 *   vm     a VMM: mmap(NULL), then memory decode off and on through
 *          PCI_COMMAND in the vfio config region (what a reset or guest
 *          firmware sizing BARs does), then VFIO_IOMMU_MAP_DMA of the
 *          mapping and the first touch;
 *   nothp  a forked child that set prctl(PR_SET_THP_DISABLE) mapping the
 *          BAR with mmap(NULL).
 *
 * and measures, each on a fresh mapping:
 *
 *   test=touch    (plain, qemu, dpdk, msix) mmap() latency (for qemu and
 *                 dpdk the whole sequence; for dpdk that of BAR2, the BARs
 *                 before it are mapped before the test), PageTables: of /proc/meminfo
 *                 before the mmap (once the frees of earlier munmap()s are
 *                 done), after it and after a first touch (one read per
 *                 4 KiB page) with the minor faults it took (getrusage),
 *                 munmap();
 *   test=type1    (same patterns) VFIO_IOMMU_MAP_DMA of the mapping
 *                 (type1v2 container), its faults, VFIO_IOMMU_UNMAP_DMA;
 *                 each map right after an untimed one of a hand-aligned
 *                 mapping (type1_settle());
 *   test=iommufd  (same patterns) IOMMU_IOAS_MAP of the mapping, or the
 *                 errno with which iommufd refuses it;
 *   test=vm       mmap(), page tables, the decode toggle, page tables,
 *                 VFIO_IOMMU_MAP_DMA and its faults, the first touch and
 *                 its faults, page tables, VFIO_IOMMU_UNMAP_DMA, munmap();
 *   test=nothp    mmap() latency, page tables before and after, munmap().
 *
 * Output, one line each, for scripts/bench/report.py:
 *   BENCH-INFO kernel=<release> ...
 *   BENCH-DEV bdf=<bdf> size=<bytes> pa=<hex> group=<n> dpdk_va=<hex>
 *   BENCH size=<bytes> pattern=<p> rep=<n> test=<test> va=<hex> len=<n> key=value...
 *   BENCH-DONE
 * Anything unexpected prints BENCH-ERROR and exits non-zero.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/iommufd.h>
#include <linux/pci_regs.h>
#include <linux/vfio.h>

#define SZ_4K		0x1000UL
#define SZ_2M		0x200000UL
#define SZ_1G		0x40000000UL
#define MSIX_TAIL	(SZ_2M + SZ_4K)
/* IOVA of BAR offset 0: 1 TiB, so IOVA and PA agree modulo 1 GiB. */
#define IOVA_BASE	(1UL << 40)
/*
 * DPDK's first BAR address, pci_find_max_end_va(): the end of the highest
 * memseg list. EAL reserves the lists upward from eal_get_baseaddr(),
 * 4 GiB on x86_64, each a hint-placed, page-size aligned PROT_NONE area;
 * with the defaults (RTE_MAX_MEM_MB_PER_TYPE 64 GiB, at most 16 GiB per
 * list of 2 MiB pages) one socket with 2 MiB hugepages has 4 lists of
 * 16 GiB: [4 GiB, 68 GiB).
 */
#define DPDK_MAX_END_VA	(4 * SZ_1G + 4 * 16 * SZ_1G)
#define MAX_SEGS	8

enum pattern { PLAIN, QEMU, DPDK, MSIX, VM, NOTHP, NR_PATTERNS };
static const char *const pattern_name[NR_PATTERNS] = {
	"plain", "qemu", "dpdk", "msix", "vm", "nothp",
};
#define NR_MAPPING_PATTERNS (MSIX + 1)	/* the ones with touch/type1/iommufd */

struct seg {
	uint64_t off;		/* offset in the BAR (and in the mapping) */
	uint64_t len;
};

/* Where DPDK maps one BAR: the VA it asks for and the parts it maps. */
struct dpdk_bar {
	int present;
	uint64_t va, size, region;
	int nr_segs;
	struct seg segs[MAX_SEGS];
};

struct dev {
	char bdf[32];
	unsigned long pa;	/* physical address of BAR2 */
	int group_nr;
	char cdev[300];		/* /dev/vfio/devices/vfioN */
	int device;		/* device fd (group or cdev) */
	uint64_t size;		/* BAR2 size */
	uint64_t region;	/* BAR2's offset in the device fd */
	uint64_t config;	/* the config region's offset in the device fd */
	struct dpdk_bar dpdk[VFIO_PCI_BAR5_REGION_INDEX + 1];
};

struct mapping {
	char *va;		/* start of the mapping (or reservation) */
	size_t len;
	uint64_t bar_off;	/* where in the BAR it starts */
	int nr_segs;		/* the parts that map the BAR, from va */
	struct seg segs[MAX_SEGS];
};

static void fail(const char *fmt, ...)
{
	va_list ap;
	int err = errno;

	printf("BENCH-ERROR ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf(": %s (errno %d)\n", strerror(err), err);
	fflush(stdout);
	exit(1);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static long minor_faults(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru))
		fail("getrusage");
	return ru.ru_minflt;
}

/* PageTables: of /proc/meminfo, in kB. */
static long page_tables_kb(void)
{
	char line[256];
	long kb = -1;
	FILE *f = fopen("/proc/meminfo", "r");

	if (!f)
		fail("open /proc/meminfo");
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "PageTables: %ld kB", &kb) == 1)
			break;
	fclose(f);
	if (kb < 0)
		fail("no PageTables: in /proc/meminfo");
	return kb;
}

/*
 * The kernel frees page tables after an RCU grace period, so PageTables:
 * still counts those of the last munmap() for a while: wait until it holds
 * still (at most 2 s), untimed, before a measurement starts.
 */
static long settled_page_tables_kb(void)
{
	long kb = page_tables_kb(), prev;
	int i, still = 0;

	for (i = 0; i < 200 && still < 3; i++) {
		usleep(10000);
		prev = kb;
		kb = page_tables_kb();
		still = kb == prev ? still + 1 : 0;
	}
	return kb;
}

static void dev_init(struct dev *d, const char *bdf)
{
	char path[256], link[256], buf[256];
	unsigned long start, end, flags;
	struct dirent *de;
	DIR *dir;
	FILE *f;
	int i;

	memset(d, 0, sizeof(*d));
	d->device = -1;
	snprintf(d->bdf, sizeof(d->bdf), "%s", bdf);

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/resource", bdf);
	f = fopen(path, "r");
	if (!f)
		fail("open %s", path);
	for (i = 0; i <= 2; i++)
		if (!fgets(buf, sizeof(buf), f))
			fail("short %s", path);
	fclose(f);
	if (sscanf(buf, "%lx %lx %lx", &start, &end, &flags) != 3 || !start)
		fail("no BAR2 in %s", path);
	d->pa = start;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/iommu_group", bdf);
	i = readlink(path, link, sizeof(link) - 1);
	if (i < 0)
		fail("readlink %s", path);
	link[i] = 0;
	d->group_nr = atoi(basename(link));

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/vfio-dev", bdf);
	dir = opendir(path);
	if (!dir)
		fail("open %s (no vfio cdev)", path);
	while ((de = readdir(dir)))
		if (!strncmp(de->d_name, "vfio", 4))
			snprintf(d->cdev, sizeof(d->cdev), "/dev/vfio/devices/%s", de->d_name);
	closedir(dir);
	if (!d->cdev[0])
		fail("no vfio cdev under %s", path);
}

/* VFIO_DEVICE_GET_REGION_INFO with its capability chain (free() it). */
static struct vfio_region_info *get_region_info(struct dev *d, unsigned int index)
{
	struct vfio_region_info *ri = NULL;
	uint32_t argsz = sizeof(*ri);

	do {
		ri = realloc(ri, argsz);
		if (!ri)
			fail("realloc");
		memset(ri, 0, argsz);
		ri->argsz = argsz;
		ri->index = index;
		if (ioctl(d->device, VFIO_DEVICE_GET_REGION_INFO, ri))
			fail("%s: VFIO_DEVICE_GET_REGION_INFO %u", d->bdf, index);
	} while (ri->argsz > argsz && (argsz = ri->argsz));
	return ri;
}

static struct vfio_info_cap_header *region_cap(struct vfio_region_info *ri, uint16_t id)
{
	uint32_t off = ri->flags & VFIO_REGION_INFO_FLAG_CAPS ? ri->cap_offset : 0;

	while (off) {
		struct vfio_info_cap_header *h = (void *)((char *)ri + off);

		if (h->id == id)
			return h;
		off = h->next;
	}
	return NULL;
}

static void config_rw(struct dev *d, int write, void *buf, size_t len, unsigned int off)
{
	ssize_t n = write ? pwrite(d->device, buf, len, d->config + off)
			  : pread(d->device, buf, len, d->config + off);

	if (n != (ssize_t)len)
		fail("%s: config %s at %#x", d->bdf, write ? "write" : "read", off);
}

static void region_info(struct dev *d)
{
	struct vfio_region_info *ri = get_region_info(d, VFIO_PCI_BAR2_REGION_INDEX);

	if (!(ri->flags & VFIO_REGION_INFO_FLAG_MMAP) || !ri->size)
		fail("%s: BAR2 cannot be mmapped", d->bdf);
	d->size = ri->size;
	d->region = ri->offset;
	free(ri);
	ri = get_region_info(d, VFIO_PCI_CONFIG_REGION_INDEX);
	d->config = ri->offset;
	free(ri);
}

/*
 * DPDK's placement of the device's BARs, as pci_vfio_map_resource_primary()
 * computes it: for each BAR in index order, skip I/O port BARs (config
 * space) and the ones vfio does not let mmap; the BAR goes at pci_map_addr
 * (first pci_find_max_end_va()), which then moves past it, page-aligned.
 * pci_vfio_mmap_bar() maps the BAR whole, or around the MSI-X table
 * (table start rounded down, end rounded up to pages) when the BAR holds
 * one that vfio does not report mappable; pci_vfio_sparse_mmap_bar() maps
 * the areas of a sparse-mmap capability instead.
 */
static void dpdk_layout(struct dev *d)
{
	uint32_t table = 0, bar_reg;
	uint16_t msix_flags = 0;
	uint64_t next = DPDK_MAX_END_VA, t_start = 0, t_end = 0;
	int msix_bar = -1, i;
	uint8_t pos;

	/* pci_vfio_get_msix_bar(): walk the capability list. */
	config_rw(d, 0, &pos, 1, PCI_CAPABILITY_LIST);
	for (i = 0; pos && i < 48; i++) {
		uint8_t hdr[2];

		config_rw(d, 0, hdr, 2, pos);
		if (hdr[0] == PCI_CAP_ID_MSIX) {
			config_rw(d, 0, &table, 4, pos + PCI_MSIX_TABLE);
			config_rw(d, 0, &msix_flags, 2, pos + PCI_MSIX_FLAGS);
			msix_bar = table & PCI_MSIX_TABLE_BIR;
			t_start = table & PCI_MSIX_TABLE_OFFSET;
			t_end = t_start + 16 * (1 + (msix_flags & PCI_MSIX_FLAGS_QSIZE));
			break;
		}
		pos = hdr[1];
	}
	if (msix_bar >= 0) {
		struct vfio_region_info *ri = get_region_info(d, msix_bar);

		if (region_cap(ri, VFIO_REGION_INFO_CAP_MSIX_MAPPABLE))
			msix_bar = -1;
		free(ri);
	}

	for (i = 0; i <= VFIO_PCI_BAR5_REGION_INDEX; i++) {
		struct dpdk_bar *b = &d->dpdk[i];
		struct vfio_region_info *ri;
		struct vfio_info_cap_header *h;

		config_rw(d, 0, &bar_reg, 4, PCI_BASE_ADDRESS_0 + 4 * i);
		if (bar_reg & PCI_BASE_ADDRESS_SPACE_IO)
			continue;
		ri = get_region_info(d, i);
		if (!(ri->flags & VFIO_REGION_INFO_FLAG_MMAP) || !ri->size) {
			free(ri);
			continue;
		}
		b->present = 1;
		b->va = next;
		b->size = ri->size;
		b->region = ri->offset;
		next = (next + ri->size + SZ_4K - 1) & ~(SZ_4K - 1);
		h = region_cap(ri, VFIO_REGION_INFO_CAP_SPARSE_MMAP);
		if (h && ((struct vfio_region_info_cap_sparse_mmap *)h)->nr_areas) {
			struct vfio_region_info_cap_sparse_mmap *sp = (void *)h;
			uint32_t k;

			for (k = 0; k < sp->nr_areas && k < MAX_SEGS; k++)
				if (sp->areas[k].size)
					b->segs[b->nr_segs++] = (struct seg){
						sp->areas[k].offset, sp->areas[k].size };
		} else if (i == msix_bar) {
			uint64_t s = t_start & ~(SZ_4K - 1), e = (t_end + SZ_4K - 1) & ~(SZ_4K - 1);

			if (s < t_start)	/* as DPDK: never below the table */
				s = t_start;
			if (s)
				b->segs[b->nr_segs++] = (struct seg){ 0, s };
			if (e < b->size)
				b->segs[b->nr_segs++] = (struct seg){ e, b->size - e };
		} else {
			b->segs[b->nr_segs++] = (struct seg){ 0, b->size };
		}
		free(ri);
	}
	if (!d->dpdk[VFIO_PCI_BAR2_REGION_INDEX].present)
		fail("%s: DPDK would not map BAR2", d->bdf);
}

/* pci_vfio_mmap_bar() / pci_vfio_sparse_mmap_bar() for one BAR. */
static int dpdk_map_one(struct dev *d, int bar, struct mapping *m)
{
	struct dpdk_bar *b = &d->dpdk[bar];
	char *res;
	int i;

	res = mmap((void *)b->va, b->size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (res == MAP_FAILED)
		return -1;
	for (i = 0; i < b->nr_segs; i++)
		if (mmap(res + b->segs[i].off, b->segs[i].len, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_FIXED, d->device,
			 b->region + b->segs[i].off) == MAP_FAILED)
			return -1;
	m->va = res;
	m->len = b->size;
	m->bar_off = 0;
	m->nr_segs = b->nr_segs;
	memcpy(m->segs, b->segs, sizeof(m->segs));
	return 0;
}

/*
 * Untimed, outside what a test measures: DPDK maps the BARs before BAR2
 * first (and keeps them). No-op for the other patterns.
 */
static void dpdk_other_bars(struct dev *d, enum pattern p, int map)
{
	static struct mapping others[VFIO_PCI_BAR2_REGION_INDEX];
	int i;

	for (i = 0; i < VFIO_PCI_BAR2_REGION_INDEX && p == DPDK; i++) {
		if (!d->dpdk[i].present)
			continue;
		if (map && dpdk_map_one(d, i, &others[i]))
			fail("%s: dpdk: mmap of BAR%d", d->bdf, i);
		if (!map && munmap(others[i].va, others[i].len))
			fail("%s: dpdk: munmap of BAR%d", d->bdf, i);
	}
}

static int map_bar(struct dev *d, enum pattern p, struct mapping *m)
{
	int prot = PROT_READ | PROT_WRITE;
	uint64_t align;
	char *res, *va;

	if (p == DPDK)
		return dpdk_map_one(d, VFIO_PCI_BAR2_REGION_INDEX, m);
	m->bar_off = p == MSIX ? MSIX_TAIL : 0;
	m->len = d->size - m->bar_off;
	m->nr_segs = 1;
	m->segs[0] = (struct seg){ 0, m->len };
	if (p != QEMU) {
		va = mmap(NULL, m->len, prot, MAP_SHARED, d->device, d->region + m->bar_off);
		if (va == MAP_FAILED)
			return -1;
		m->va = va;
		return 0;
	}
	/* QEMU's way: over-reserve, trim to the aligned part, map over it. */
	align = d->size & -d->size;
	if (align > SZ_1G)
		align = SZ_1G;
	res = mmap(NULL, m->len + align, PROT_NONE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (res == MAP_FAILED)
		return -1;
	va = (char *)(((uintptr_t)res + align - 1) & ~(uintptr_t)(align - 1));
	if (va > res && munmap(res, va - res))
		return -1;
	if (va + m->len < res + m->len + align &&
	    munmap(va + m->len, res + m->len + align - (va + m->len)))
		return -1;
	if (mmap(va, m->len, prot, MAP_SHARED | MAP_FIXED, d->device, d->region) != va)
		return -1;
	m->va = va;
	return 0;
}

static void map_or_fail(struct dev *d, enum pattern p, struct mapping *m, uint64_t *ns)
{
	uint64_t t0 = now_ns();

	if (map_bar(d, p, m))
		fail("%s: mmap of BAR2 (%s)", d->bdf, pattern_name[p]);
	*ns = now_ns() - t0;
}

static void unmap_or_fail(struct dev *d, struct mapping *m, uint64_t *ns)
{
	uint64_t t0 = now_ns();

	if (munmap(m->va, m->len))
		fail("%s: munmap", d->bdf);
	*ns = now_ns() - t0;
}

static uint64_t touch(const struct mapping *m)
{
	uint64_t sum = 0;
	size_t off;
	int i;

	for (i = 0; i < m->nr_segs; i++)
		for (off = m->segs[i].off; off < m->segs[i].off + m->segs[i].len; off += SZ_4K)
			sum += *(volatile uint32_t *)(m->va + off);
	return sum;
}

/* Memory decode off and on through the vfio config region: a zap. */
static uint64_t toggle_decode(struct dev *d)
{
	uint16_t cmd, off;
	uint64_t t0;

	config_rw(d, 0, &cmd, 2, PCI_COMMAND);
	if (!(cmd & PCI_COMMAND_MEMORY))
		fail("%s: memory decode is off before the toggle", d->bdf);
	off = cmd & ~PCI_COMMAND_MEMORY;
	t0 = now_ns();
	config_rw(d, 1, &off, 2, PCI_COMMAND);
	config_rw(d, 1, &cmd, 2, PCI_COMMAND);
	return now_ns() - t0;
}

static void prefix(const struct dev *d, enum pattern p, int rep, const char *test,
		   const struct mapping *m)
{
	printf("BENCH size=%llu pattern=%s rep=%d test=%s va=%#lx len=%zu",
	       (unsigned long long)d->size, pattern_name[p], rep, test,
	       (unsigned long)m->va, m->len);
}

static void test_touch(struct dev *d, enum pattern p, int rep)
{
	uint64_t map_ns, touch_ns, unmap_ns, t0;
	long pt0, pt1, pt2, f0, f1;
	struct mapping m;

	dpdk_other_bars(d, p, 1);
	pt0 = settled_page_tables_kb();
	map_or_fail(d, p, &m, &map_ns);
	pt1 = page_tables_kb();
	f0 = minor_faults();
	t0 = now_ns();
	touch(&m);
	touch_ns = now_ns() - t0;
	f1 = minor_faults();
	pt2 = page_tables_kb();
	unmap_or_fail(d, &m, &unmap_ns);
	dpdk_other_bars(d, p, 0);
	prefix(d, p, rep, "touch", &m);
	printf(" mmap_ns=%llu pt0_kb=%ld pt1_kb=%ld touch_ns=%llu touch_faults=%ld pt2_kb=%ld munmap_ns=%llu\n",
	       (unsigned long long)map_ns, pt0, pt1, (unsigned long long)touch_ns,
	       f1 - f0, pt2, (unsigned long long)unmap_ns);
	fflush(stdout);
}

/* VFIO_IOMMU_MAP_DMA of every part of a mapping, at IOVA_BASE + BAR offset. */
static int dma_map(int container, const struct mapping *m)
{
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map),
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
	};
	int i;

	for (i = 0; i < m->nr_segs; i++) {
		map.vaddr = (uintptr_t)m->va + m->segs[i].off;
		map.iova = IOVA_BASE + m->bar_off + m->segs[i].off;
		map.size = m->segs[i].len;
		if (ioctl(container, VFIO_IOMMU_MAP_DMA, &map))
			return -1;
	}
	return 0;
}

static int dma_unmap(int container, const struct mapping *m)
{
	struct vfio_iommu_type1_dma_unmap unmap = { .argsz = sizeof(unmap) };
	int i;

	for (i = 0; i < m->nr_segs; i++) {
		unmap.iova = IOVA_BASE + m->bar_off + m->segs[i].off;
		unmap.size = m->segs[i].len;
		if (ioctl(container, VFIO_IOMMU_UNMAP_DMA, &unmap) || unmap.size != m->segs[i].len)
			return -1;
	}
	return 0;
}

/*
 * Untimed: DMA-map and unmap a hand-aligned mapping of the BAR. Every timed
 * VFIO_IOMMU_MAP_DMA comes right after one of these, so that none of them
 * pays for what the test before it left behind: a map that followed the
 * offset mapping's test took about 1.6x as long as one that followed
 * another style's, for the same leaves (seen on the patched kernel by
 * swapping the order; a separate IOVA per style did not change it).
 */
static void type1_settle(struct dev *d, int container)
{
	struct mapping m;
	uint64_t ns;

	map_or_fail(d, QEMU, &m, &ns);
	if (dma_map(container, &m) || dma_unmap(container, &m))
		fail("%s: untimed VFIO_IOMMU_MAP_DMA/UNMAP_DMA", d->bdf);
	unmap_or_fail(d, &m, &ns);
}

static void test_type1(struct dev *d, int container, enum pattern p, int rep)
{
	uint64_t map_ns, dma_ns, undma_ns, unmap_ns, t0;
	struct mapping m;
	long f0, f1;

	type1_settle(d, container);
	dpdk_other_bars(d, p, 1);
	map_or_fail(d, p, &m, &map_ns);
	f0 = minor_faults();
	t0 = now_ns();
	if (dma_map(container, &m))
		fail("%s: VFIO_IOMMU_MAP_DMA of BAR2 (%s)", d->bdf, pattern_name[p]);
	dma_ns = now_ns() - t0;
	f1 = minor_faults();
	t0 = now_ns();
	if (dma_unmap(container, &m))
		fail("%s: VFIO_IOMMU_UNMAP_DMA", d->bdf);
	undma_ns = now_ns() - t0;
	unmap_or_fail(d, &m, &unmap_ns);
	dpdk_other_bars(d, p, 0);
	prefix(d, p, rep, "type1", &m);
	printf(" mmap_ns=%llu dma_ns=%llu dma_faults=%ld undma_ns=%llu munmap_ns=%llu\n",
	       (unsigned long long)map_ns, (unsigned long long)dma_ns, f1 - f0,
	       (unsigned long long)undma_ns, (unsigned long long)unmap_ns);
	fflush(stdout);
}

/* The VMM's sequence: mmap, decode off and on, DMA map, first touch. */
static void test_vm(struct dev *d, int container, int rep)
{
	uint64_t map_ns, toggle_ns, dma_ns, touch_ns, undma_ns, unmap_ns, t0;
	long pt0, pt1, ptz, pt2, f0, f1, f2;
	struct mapping m;

	type1_settle(d, container);
	pt0 = settled_page_tables_kb();
	map_or_fail(d, VM, &m, &map_ns);
	pt1 = page_tables_kb();
	toggle_ns = toggle_decode(d);
	ptz = page_tables_kb();
	f0 = minor_faults();
	t0 = now_ns();
	if (dma_map(container, &m))
		fail("%s: VFIO_IOMMU_MAP_DMA of BAR2 (vm)", d->bdf);
	dma_ns = now_ns() - t0;
	f1 = minor_faults();
	t0 = now_ns();
	touch(&m);
	touch_ns = now_ns() - t0;
	f2 = minor_faults();
	pt2 = page_tables_kb();
	t0 = now_ns();
	if (dma_unmap(container, &m))
		fail("%s: VFIO_IOMMU_UNMAP_DMA", d->bdf);
	undma_ns = now_ns() - t0;
	unmap_or_fail(d, &m, &unmap_ns);
	prefix(d, VM, rep, "vm", &m);
	printf(" mmap_ns=%llu pt0_kb=%ld pt1_kb=%ld toggle_ns=%llu ptz_kb=%ld dma_ns=%llu dma_faults=%ld"
	       " touch_ns=%llu touch_faults=%ld pt2_kb=%ld undma_ns=%llu munmap_ns=%llu\n",
	       (unsigned long long)map_ns, pt0, pt1, (unsigned long long)toggle_ns, ptz,
	       (unsigned long long)dma_ns, f1 - f0, (unsigned long long)touch_ns, f2 - f1,
	       pt2, (unsigned long long)undma_ns, (unsigned long long)unmap_ns);
	fflush(stdout);
}

/* A child with THP disabled (PR_SET_THP_DISABLE) maps the whole BAR. */
static void test_nothp(struct dev *d, int rep)
{
	uint64_t map_ns, unmap_ns;
	struct mapping m;
	long pt0, pt1;
	int status;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid < 0)
		fail("fork");
	if (pid == 0) {
		if (prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0))
			fail("prctl(PR_SET_THP_DISABLE)");
		pt0 = settled_page_tables_kb();
		map_or_fail(d, NOTHP, &m, &map_ns);
		pt1 = page_tables_kb();
		unmap_or_fail(d, &m, &unmap_ns);
		prefix(d, NOTHP, rep, "nothp", &m);
		printf(" mmap_ns=%llu pt0_kb=%ld pt1_kb=%ld munmap_ns=%llu\n",
		       (unsigned long long)map_ns, pt0, pt1, (unsigned long long)unmap_ns);
		fflush(stdout);
		_exit(0);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status))
		fail("%s: the PR_SET_THP_DISABLE child failed (status %#x)", d->bdf, status);
}

static void test_iommufd(struct dev *d, int iommufd, uint32_t ioas, enum pattern p, int rep)
{
	struct iommu_ioas_unmap unmap = { .size = sizeof(unmap), .ioas_id = ioas };
	struct iommu_ioas_map map = {
		.size = sizeof(map),
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
			 IOMMU_IOAS_MAP_WRITEABLE,
		.ioas_id = ioas,
	};
	uint64_t map_ns, dma_ns, unmap_ns, t0;
	struct mapping m;
	int err = 0;

	dpdk_other_bars(d, p, 1);
	map_or_fail(d, p, &m, &map_ns);
	map.user_va = (uintptr_t)m.va + m.segs[0].off;
	map.length = m.segs[0].len;
	map.iova = IOVA_BASE + m.bar_off + m.segs[0].off;
	t0 = now_ns();
	if (ioctl(iommufd, IOMMU_IOAS_MAP, &map))
		err = errno;
	dma_ns = now_ns() - t0;
	if (!err) {
		unmap.iova = map.iova;
		unmap.length = map.length;
		if (ioctl(iommufd, IOMMU_IOAS_UNMAP, &unmap))
			fail("%s: IOMMU_IOAS_UNMAP", d->bdf);
	}
	unmap_or_fail(d, &m, &unmap_ns);
	dpdk_other_bars(d, p, 0);
	prefix(d, p, rep, "iommufd", &m);
	printf(" dma_ns=%llu err=%d errname=%s\n", (unsigned long long)dma_ns, err,
	       err ? strerrorname_np(err) : "0");
	fflush(stdout);
}

/* Untimed: read the whole BAR once, so the host has it mapped in QEMU. */
static void warm_up(struct dev *d)
{
	struct mapping m;
	uint64_t ns;

	map_or_fail(d, QEMU, &m, &ns);
	touch(&m);
	unmap_or_fail(d, &m, &ns);
}

/* -p: the plain mmap() and munmap() of BAR2, @loops times. */
static void profile_loops(struct dev *d, int loops)
{
	uint64_t map_ns = 0, unmap_ns = 0, ns;
	struct mapping m;
	int i;

	for (i = 0; i < loops; i++) {
		map_or_fail(d, PLAIN, &m, &ns);
		map_ns += ns;
		unmap_or_fail(d, &m, &ns);
		unmap_ns += ns;
	}
	printf("BENCH-PROFILE bdf=%s size=%llu loops=%d mmap_ns=%llu munmap_ns=%llu\n",
	       d->bdf, (unsigned long long)d->size, loops,
	       (unsigned long long)(map_ns / loops),
	       (unsigned long long)(unmap_ns / loops));
	fflush(stdout);
}

static void run_type1(struct dev *d, int reps, int loops)
{
	struct vfio_group_status status = { .argsz = sizeof(status) };
	int container, group, rep, p;
	char path[64];

	container = open("/dev/vfio/vfio", O_RDWR);
	if (container < 0)
		fail("open /dev/vfio/vfio");
	snprintf(path, sizeof(path), "/dev/vfio/%d", d->group_nr);
	group = open(path, O_RDWR);
	if (group < 0)
		fail("open %s", path);
	if (ioctl(group, VFIO_GROUP_GET_STATUS, &status) ||
	    !(status.flags & VFIO_GROUP_FLAGS_VIABLE))
		fail("%s: group %d not viable", d->bdf, d->group_nr);
	if (ioctl(group, VFIO_GROUP_SET_CONTAINER, &container))
		fail("%s: VFIO_GROUP_SET_CONTAINER", d->bdf);
	if (ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU))
		fail("VFIO_SET_IOMMU type1v2");
	d->device = ioctl(group, VFIO_GROUP_GET_DEVICE_FD, d->bdf);
	if (d->device < 0)
		fail("%s: VFIO_GROUP_GET_DEVICE_FD", d->bdf);
	region_info(d);
	dpdk_layout(d);
	printf("BENCH-DEV bdf=%s size=%llu pa=%#lx group=%d dpdk_va=%#llx\n", d->bdf,
	       (unsigned long long)d->size, d->pa, d->group_nr,
	       (unsigned long long)d->dpdk[VFIO_PCI_BAR2_REGION_INDEX].va);
	fflush(stdout);

	warm_up(d);
	if (loops)
		profile_loops(d, loops);
	for (rep = 1; !loops && rep <= reps; rep++) {
		for (p = 0; p < NR_MAPPING_PATTERNS; p++) {
			test_touch(d, p, rep);
			test_type1(d, container, p, rep);
		}
		test_vm(d, container, rep);
		test_nothp(d, rep);
	}
	close(d->device);
	close(group);
	close(container);
	d->device = -1;
}

static void run_iommufd(struct dev *d, int reps)
{
	struct vfio_device_bind_iommufd bind = { .argsz = sizeof(bind) };
	struct vfio_device_attach_iommufd_pt attach = { .argsz = sizeof(attach) };
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	int iommufd, rep, p;

	iommufd = open("/dev/iommu", O_RDWR);
	if (iommufd < 0)
		fail("open /dev/iommu");
	d->device = open(d->cdev, O_RDWR);
	if (d->device < 0)
		fail("open %s", d->cdev);
	bind.iommufd = iommufd;
	if (ioctl(d->device, VFIO_DEVICE_BIND_IOMMUFD, &bind))
		fail("%s: VFIO_DEVICE_BIND_IOMMUFD", d->bdf);
	if (ioctl(iommufd, IOMMU_IOAS_ALLOC, &alloc))
		fail("IOMMU_IOAS_ALLOC");
	attach.pt_id = alloc.out_ioas_id;
	if (ioctl(d->device, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach))
		fail("%s: VFIO_DEVICE_ATTACH_IOMMUFD_PT", d->bdf);
	region_info(d);
	dpdk_layout(d);
	for (rep = 1; rep <= reps; rep++)
		for (p = 0; p < NR_MAPPING_PATTERNS; p++)
			test_iommufd(d, iommufd, alloc.out_ioas_id, p, rep);
	close(d->device);
	close(iommufd);
	d->device = -1;
}

int main(int argc, char **argv)
{
	struct utsname u;
	struct dev d;
	int reps = 5, loops = 0, opt, i;

	while ((opt = getopt(argc, argv, "r:p:")) != -1) {
		switch (opt) {
		case 'r':
			reps = atoi(optarg);
			break;
		case 'p':
			loops = atoi(optarg);
			if (loops < 1) {
				fprintf(stderr, "%s: -p wants a positive number of loops\n",
					argv[0]);
				return 2;
			}
			break;
		default:
			fprintf(stderr, "usage: %s [-r REPS | -p LOOPS] BDF...\n", argv[0]);
			return 2;
		}
	}
	if (optind >= argc || reps < 1 || loops < 0) {
		fprintf(stderr, "usage: %s [-r REPS | -p LOOPS] BDF...\n", argv[0]);
		return 2;
	}
	uname(&u);
	printf("BENCH-INFO kernel=%s reps=%d page_size=%ld\n", u.release, reps,
	       sysconf(_SC_PAGESIZE));
	for (i = optind; i < argc; i++) {
		dev_init(&d, argv[i]);
		run_type1(&d, reps, loops);
		if (!loops)
			run_iommufd(&d, reps);
	}
	printf("BENCH-DONE\n");
	return 0;
}

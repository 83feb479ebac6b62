// SPDX-License-Identifier: GPL-2.0
/*
 * vfio-bar-bench: what it costs a user to map a vfio-pci BAR and use it,
 * run inside the make bench guest against every BAR size it is given.
 *
 * Usage: vfio-bar-bench [-r REPS] BDF...
 *
 * For each device (its BAR2), each repetition and each way of mapping it:
 *
 *   plain    mmap(NULL, size): the kernel picks the VA;
 *   aligned  what QEMU does by hand: reserve size + align PROT_NONE, keep
 *            the aligned part, mmap MAP_FIXED there, with align = the
 *            largest power of two dividing the size, at most 1 GiB;
 *   offset   mmap(NULL) from BAR offset 2 MiB + 4 KiB to the BAR's end
 *            (DPDK mapping around an MSI-X table);
 *
 * it measures, on fresh mappings:
 *
 *   test=touch    mmap() latency (for 'aligned' the whole sequence), one
 *                 read per 4 KiB page with the minor faults it took
 *                 (getrusage), PageTables: of /proc/meminfo before the
 *                 mmap (once the frees of earlier munmap()s are done),
 *                 after it and after the touch, and munmap();
 *   test=type1    VFIO_IOMMU_MAP_DMA of the mapping (type1v2 container),
 *                 its faults, VFIO_IOMMU_UNMAP_DMA, each map right after
 *                 an untimed one of a hand-aligned mapping (type1_settle());
 *   test=iommufd  IOMMU_IOAS_MAP of the mapping (device cdev attached to
 *                 an IOAS), or the errno with which iommufd refuses it.
 *
 * Output, one line each, for scripts/bench/report.py:
 *   BENCH-INFO kernel=<release> ...
 *   BENCH-DEV bdf=<bdf> size=<bytes> pa=<hex> group=<n>
 *   BENCH size=<bytes> style=<style> rep=<n> test=<test> key=value...
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
#include <sys/resource.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <linux/iommufd.h>
#include <linux/vfio.h>

#define SZ_4K		0x1000UL
#define SZ_2M		0x200000UL
#define SZ_1G		0x40000000UL
#define ODD_OFFSET	(SZ_2M + SZ_4K)
/* IOVA of BAR offset 0: 1 TiB, so IOVA and PA agree modulo 1 GiB. */
#define IOVA_BASE	(1UL << 40)

enum style { PLAIN, ALIGNED, OFFSET, NR_STYLES };
static const char *const style_name[NR_STYLES] = { "plain", "aligned", "offset" };

struct dev {
	char bdf[32];
	unsigned long pa;	/* physical address of BAR2 */
	int group_nr;
	char cdev[300];		/* /dev/vfio/devices/vfioN */
	int device;		/* device fd (group or cdev) */
	uint64_t size;		/* BAR2 size */
	uint64_t region;	/* BAR2's offset in the device fd */
};

struct mapping {
	char *va;
	size_t len;
	uint64_t bar_off;	/* where in the BAR it starts */
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

static void region_info(struct dev *d)
{
	struct vfio_region_info ri = {
		.argsz = sizeof(ri),
		.index = VFIO_PCI_BAR2_REGION_INDEX,
	};

	if (ioctl(d->device, VFIO_DEVICE_GET_REGION_INFO, &ri))
		fail("%s: VFIO_DEVICE_GET_REGION_INFO", d->bdf);
	if (!(ri.flags & VFIO_REGION_INFO_FLAG_MMAP) || !ri.size)
		fail("%s: BAR2 cannot be mmapped", d->bdf);
	d->size = ri.size;
	d->region = ri.offset;
}

static int map_bar(struct dev *d, enum style s, struct mapping *m)
{
	int prot = PROT_READ | PROT_WRITE;
	uint64_t align;
	char *res, *va;

	m->bar_off = s == OFFSET ? ODD_OFFSET : 0;
	m->len = d->size - m->bar_off;
	if (s != ALIGNED) {
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

static void map_or_fail(struct dev *d, enum style s, struct mapping *m, uint64_t *ns)
{
	uint64_t t0 = now_ns();

	if (map_bar(d, s, m))
		fail("%s: mmap of BAR2 (%s)", d->bdf, style_name[s]);
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

	for (off = 0; off < m->len; off += SZ_4K)
		sum += *(volatile uint32_t *)(m->va + off);
	return sum;
}

static void prefix(const struct dev *d, enum style s, int rep, const char *test,
		   const struct mapping *m)
{
	printf("BENCH size=%llu style=%s rep=%d test=%s va=%#lx len=%zu",
	       (unsigned long long)d->size, style_name[s], rep, test,
	       (unsigned long)m->va, m->len);
}

static void test_touch(struct dev *d, enum style s, int rep)
{
	uint64_t map_ns, touch_ns, unmap_ns, t0;
	long pt0, pt1, pt2, f0, f1;
	struct mapping m;

	pt0 = settled_page_tables_kb();
	map_or_fail(d, s, &m, &map_ns);
	pt1 = page_tables_kb();
	f0 = minor_faults();
	t0 = now_ns();
	touch(&m);
	touch_ns = now_ns() - t0;
	f1 = minor_faults();
	pt2 = page_tables_kb();
	unmap_or_fail(d, &m, &unmap_ns);
	prefix(d, s, rep, "touch", &m);
	printf(" mmap_ns=%llu touch_ns=%llu faults=%ld pt0_kb=%ld pt1_kb=%ld pt2_kb=%ld munmap_ns=%llu\n",
	       (unsigned long long)map_ns, (unsigned long long)touch_ns, f1 - f0,
	       pt0, pt1, pt2, (unsigned long long)unmap_ns);
	fflush(stdout);
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
	struct vfio_iommu_type1_dma_unmap unmap = { .argsz = sizeof(unmap) };
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map),
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
	};
	struct mapping m;
	uint64_t ns;

	map_or_fail(d, ALIGNED, &m, &ns);
	map.vaddr = (uintptr_t)m.va;
	map.iova = IOVA_BASE + m.bar_off;
	map.size = m.len;
	unmap.iova = map.iova;
	unmap.size = map.size;
	if (ioctl(container, VFIO_IOMMU_MAP_DMA, &map) ||
	    ioctl(container, VFIO_IOMMU_UNMAP_DMA, &unmap))
		fail("%s: untimed VFIO_IOMMU_MAP_DMA/UNMAP_DMA", d->bdf);
	unmap_or_fail(d, &m, &ns);
}

static void test_type1(struct dev *d, int container, enum style s, int rep)
{
	uint64_t map_ns, dma_ns, undma_ns, unmap_ns, t0;
	struct vfio_iommu_type1_dma_unmap unmap = { .argsz = sizeof(unmap) };
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map),
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
	};
	struct mapping m;
	long f0, f1;

	type1_settle(d, container);
	map_or_fail(d, s, &m, &map_ns);
	map.vaddr = (uintptr_t)m.va;
	map.iova = IOVA_BASE + m.bar_off;
	map.size = m.len;
	f0 = minor_faults();
	t0 = now_ns();
	if (ioctl(container, VFIO_IOMMU_MAP_DMA, &map))
		fail("%s: VFIO_IOMMU_MAP_DMA of BAR2 (%s)", d->bdf, style_name[s]);
	dma_ns = now_ns() - t0;
	f1 = minor_faults();
	unmap.iova = map.iova;
	unmap.size = map.size;
	t0 = now_ns();
	if (ioctl(container, VFIO_IOMMU_UNMAP_DMA, &unmap) || unmap.size != map.size)
		fail("%s: VFIO_IOMMU_UNMAP_DMA", d->bdf);
	undma_ns = now_ns() - t0;
	unmap_or_fail(d, &m, &unmap_ns);
	prefix(d, s, rep, "type1", &m);
	printf(" mmap_ns=%llu map_ns=%llu faults=%ld unmap_ns=%llu munmap_ns=%llu\n",
	       (unsigned long long)map_ns, (unsigned long long)dma_ns, f1 - f0,
	       (unsigned long long)undma_ns, (unsigned long long)unmap_ns);
	fflush(stdout);
}

static void test_iommufd(struct dev *d, int iommufd, uint32_t ioas, enum style s, int rep)
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

	map_or_fail(d, s, &m, &map_ns);
	map.user_va = (uintptr_t)m.va;
	map.length = m.len;
	map.iova = IOVA_BASE + m.bar_off;
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
	prefix(d, s, rep, "iommufd", &m);
	printf(" map_ns=%llu err=%d errname=%s\n", (unsigned long long)dma_ns, err,
	       err ? strerrorname_np(err) : "0");
	fflush(stdout);
}

/* Untimed: read the whole BAR once, so the host has it mapped in QEMU. */
static void warm_up(struct dev *d)
{
	struct mapping m;
	uint64_t ns;

	map_or_fail(d, ALIGNED, &m, &ns);
	touch(&m);
	unmap_or_fail(d, &m, &ns);
}

static void run_type1(struct dev *d, int reps)
{
	struct vfio_group_status status = { .argsz = sizeof(status) };
	int container, group, rep, s;
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
	printf("BENCH-DEV bdf=%s size=%llu pa=%#lx group=%d\n", d->bdf,
	       (unsigned long long)d->size, d->pa, d->group_nr);
	fflush(stdout);

	warm_up(d);
	for (rep = 1; rep <= reps; rep++) {
		for (s = 0; s < NR_STYLES; s++) {
			test_touch(d, s, rep);
			test_type1(d, container, s, rep);
		}
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
	int iommufd, rep, s;

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
	for (rep = 1; rep <= reps; rep++)
		for (s = 0; s < NR_STYLES; s++)
			test_iommufd(d, iommufd, alloc.out_ioas_id, s, rep);
	close(d->device);
	close(iommufd);
	d->device = -1;
}

int main(int argc, char **argv)
{
	struct utsname u;
	struct dev d;
	int reps = 5, opt, i;

	while ((opt = getopt(argc, argv, "r:")) != -1) {
		switch (opt) {
		case 'r':
			reps = atoi(optarg);
			break;
		default:
			fprintf(stderr, "usage: %s [-r REPS] BDF...\n", argv[0]);
			return 2;
		}
	}
	if (optind >= argc || reps < 1) {
		fprintf(stderr, "usage: %s [-r REPS] BDF...\n", argv[0]);
		return 2;
	}
	uname(&u);
	printf("BENCH-INFO kernel=%s reps=%d page_size=%ld\n", u.release, reps,
	       sysconf(_SC_PAGESIZE));
	for (i = optind; i < argc; i++) {
		dev_init(&d, argv[i]);
		run_type1(&d, reps);
		run_iommufd(&d, reps);
	}
	printf("BENCH-DONE\n");
	return 0;
}

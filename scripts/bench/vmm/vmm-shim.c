// SPDX-License-Identifier: GPL-2.0
/*
 * vmm-shim.so: LD_PRELOADed into the host's own qemu-system-x86_64 when it
 * runs inside the make bench guest and assigns an ivshmem device with
 * -device vfio-pci. It only watches the calls QEMU makes anyway (mmap,
 * pwrite of the vfio config region, ioctl) and reports, on stderr:
 *
 *   VMM-EVENT t=<ms since exec> ...   as they happen: QEMU's mmap() of
 *       BAR2 (its latency, and whether the mmap() populated it: one read
 *       of its first page right after it, with this thread's faults
 *       counted, 0 = populated), every PCI_COMMAND write that turns memory
 *       decode off (a zap) or on, VFIO_DEVICE_RESET, and the
 *       VFIO_IOMMU_MAP_DMA calls before the BAR's (guest RAM, ROMs);
 *   VMM-RESULT key=value...            when the VFIO_IOMMU_MAP_DMA of the
 *       BAR returns: where QEMU mapped the BAR, the map's latency and the
 *       faults this thread took in it
 *       (getrusage(RUSAGE_THREAD): refilling a zapped BAR), the faults of
 *       the whole process since exec (RUSAGE_SELF); then it ends QEMU with
 *       _exit(42), since nothing after the map is measured.
 *
 * Times are CLOCK_BOOTTIME, from the process start of /proc/self/stat
 * (clock ticks: 10 ms resolution). The read that probes population maps a
 * leaf where mmap() did not; a zap before the map removes it again.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <linux/pci_regs.h>
#include <linux/vfio.h>

#define REGION(i)	((uint64_t)(i) << 40)	/* vfio-pci's region offsets */

static void *(*real_mmap)(void *, size_t, int, int, int, off_t);
static ssize_t (*real_pwrite)(int, const void *, size_t, off_t);
static ssize_t (*real_pread)(int, void *, size_t, off_t);
static int (*real_ioctl)(int, unsigned long, ...);

static int out = -1;
static uint64_t exec_ns;
static char *bar_va;
static size_t bar_len;
static long shim_ms, mmap_ms, mmap_us, populated = -1, decode_off, decode_on, other_maps;
static uint64_t other_map_ns;
static int decode = -1;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static long since_exec_ms(void)
{
	return (long)((now_ns() - exec_ns) / 1000000);
}

static long faults(int who)
{
	struct rusage ru;

	return getrusage(who, &ru) ? -1 : ru.ru_minflt;
}

static void report(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vdprintf(out, fmt, ap);
	va_end(ap);
}

static void init(void)
{
	unsigned long long start = 0;
	char buf[1024], *p;
	FILE *f;

	if (real_mmap)
		return;
	real_mmap = dlsym(RTLD_NEXT, "mmap");
	real_pwrite = dlsym(RTLD_NEXT, "pwrite64");
	real_pread = dlsym(RTLD_NEXT, "pread64");
	real_ioctl = dlsym(RTLD_NEXT, "ioctl");
	out = dup(2);
	f = fopen("/proc/self/stat", "r");
	if (f && fgets(buf, sizeof(buf), f) && (p = strrchr(buf, ')')))
		/* field 22, starttime; p points at the end of field 2 */
		sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu",
		       &start);
	if (f)
		fclose(f);
	exec_ns = start * (1000000000ULL / sysconf(_SC_CLK_TCK));
	shim_ms = since_exec_ms();
	report("VMM-EVENT t=%ld shim loaded into pid %d\n", shim_ms, getpid());
}

__attribute__((constructor)) static void shim_init(void)
{
	init();
}

static void *mmap_common(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	uint64_t t0, t1;
	uint16_t cmd = 0;
	long f0;
	void *va;

	init();
	t0 = now_ns();
	va = real_mmap(addr, len, prot, flags, fd, off);
	t1 = now_ns();
	if (va == MAP_FAILED || fd < 0 || (uint64_t)off < REGION(VFIO_PCI_BAR2_REGION_INDEX) ||
	    (uint64_t)off >= REGION(VFIO_PCI_BAR2_REGION_INDEX + 1))
		return va;
	bar_va = va;
	bar_len = len;
	mmap_ms = since_exec_ms();
	mmap_us = (long)((t1 - t0) / 1000);
	/* Probe only while decode is on: a read would SIGBUS otherwise. */
	if (real_pread(fd, &cmd, 2, REGION(VFIO_PCI_CONFIG_REGION_INDEX) + PCI_COMMAND) == 2 &&
	    (cmd & PCI_COMMAND_MEMORY)) {
		f0 = faults(RUSAGE_THREAD);
		(void)*(volatile uint32_t *)va;
		populated = faults(RUSAGE_THREAD) == f0;
	}
	report("VMM-EVENT t=%ld mmap of BAR2: va=%p len=%#zx in %ld us, populated=%s\n",
	       mmap_ms, va, len, mmap_us,
	       populated < 0 ? "unknown (decode off)" : populated ? "yes" : "no");
	return va;
}

void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	return mmap_common(addr, len, prot, flags, fd, off);
}

void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	return mmap_common(addr, len, prot, flags, fd, off);
}

static ssize_t pwrite_common(int fd, const void *buf, size_t len, off_t off)
{
	uint64_t cfg = REGION(VFIO_PCI_CONFIG_REGION_INDEX), o = off;
	ssize_t ret;
	int mem;

	init();
	ret = real_pwrite(fd, buf, len, off);
	if (ret <= 0 || o > cfg + PCI_COMMAND || o + len <= cfg + PCI_COMMAND)
		return ret;
	mem = !!(((const uint8_t *)buf)[cfg + PCI_COMMAND - o] & PCI_COMMAND_MEMORY);
	if (mem != decode) {
		if (decode >= 0 || !mem)
			mem ? decode_on++ : decode_off++;
		report("VMM-EVENT t=%ld PCI_COMMAND write: memory decode %s\n",
		       since_exec_ms(), mem ? "on" : "off (zap)");
	}
	decode = mem;
	return ret;
}

ssize_t pwrite(int fd, const void *buf, size_t len, off_t off)
{
	return pwrite_common(fd, buf, len, off);
}

ssize_t pwrite64(int fd, const void *buf, size_t len, off_t off)
{
	return pwrite_common(fd, buf, len, off);
}

int ioctl(int fd, unsigned long req, ...)
{
	struct vfio_iommu_type1_dma_map *map;
	uint64_t t0, t1;
	long f0, f1;
	va_list ap;
	void *arg;
	int ret;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	init();
	if (req != VFIO_IOMMU_MAP_DMA) {
		ret = real_ioctl(fd, req, arg);
		if (req == VFIO_DEVICE_RESET)
			report("VMM-EVENT t=%ld VFIO_DEVICE_RESET = %d\n", since_exec_ms(), ret);
		return ret;
	}
	map = arg;
	f0 = faults(RUSAGE_THREAD);
	t0 = now_ns();
	ret = real_ioctl(fd, req, arg);
	t1 = now_ns();
	f1 = faults(RUSAGE_THREAD);
	if (!bar_va || map->vaddr < (uintptr_t)bar_va || map->vaddr >= (uintptr_t)bar_va + bar_len) {
		other_maps++;
		other_map_ns += t1 - t0;
		return ret;
	}
	report("VMM-EVENT t=%ld VFIO_IOMMU_MAP_DMA of BAR2: iova=%#llx size=%#llx = %d in %llu us, %ld faults\n",
	       since_exec_ms(), (unsigned long long)map->iova, (unsigned long long)map->size, ret,
	       (unsigned long long)(t1 - t0) / 1000, f1 - f0);
	if (ret) {
		report("VMM-ERROR the BAR's VFIO_IOMMU_MAP_DMA failed (%d)\n", ret);
		_exit(43);
	}
	report("VMM-RESULT rep=%s bar_size=%zu shim_ms=%ld mmap_ms=%ld mmap_us=%ld populated=%ld"
	       " va=%p decode_off=%ld decode_on=%ld map_start_ms=%ld map_end_ms=%ld map_us=%llu"
	       " map_faults=%ld proc_faults=%ld other_maps=%ld other_map_us=%llu\n",
	       getenv("VMM_REP") ?: "1", bar_len, shim_ms, mmap_ms, mmap_us, populated,
	       bar_va, decode_off, decode_on,
	       (long)((t0 - exec_ns) / 1000000), (long)((t1 - exec_ns) / 1000000),
	       (unsigned long long)(t1 - t0) / 1000, f1 - f0, faults(RUSAGE_SELF), other_maps,
	       (unsigned long long)other_map_ns / 1000);
	if (!getenv("VMM_SHIM_STAY"))
		_exit(42);
	return ret;
}

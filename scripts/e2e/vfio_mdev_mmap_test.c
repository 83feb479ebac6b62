// SPDX-License-Identifier: GPL-2.0
/*
 * mmap() of a vfio mdev's framebuffer: samples/vfio-mdev mdpy and mbochs,
 * the vfio drivers the end-to-end guest can run that are not vfio-pci.
 *
 * Each test creates an mdev of the sample through sysfs, opens it through
 * the vfio device cdev bound to an iommufd, and finds the framebuffer as
 * the region VFIO_DEVICE_GET_REGION_INFO reports mmap-able. It checks what
 * must hold whether the driver implements vfio_device_ops->mmap or
 * ->mmap_prepare:
 *
 *  - what is written through a mapping reads back through it, through a
 *    second mapping of the region and through a new mapping made after the
 *    first is gone;
 *  - invalid mmap() requests fail with the errno of the unpatched v7.3.4
 *    (measured with 'make e2e BASE=1').
 *
 * The samples' read() and write() of the framebuffer are no reference:
 * in 7.3.4 mdpy's ignore the offset (always the first bytes) and mbochs'
 * are two pages off (pos -= MBOCHS_MMIO_BAR_OFFSET).
 *
 * kselftest harness output (TAP, "# Totals:"), as scripts/e2e.sh parses it.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <sys/ioctl.h>
#include <sys/mman.h>

#include <linux/vfio.h>

#include "kselftest_harness.h"

/* Granularity of the data pattern, whatever the CPU page size. */
#define SLOT_SIZE	4096UL

static uint64_t pattern(uint64_t seed, size_t slot)
{
	return 0x4d44455600000000ULL ^ (seed << 20) ^ slot;	/* "MDEV" */
}

/* Write @s to the sysfs file @path: 0 or -errno. */
static int sysfs_write(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY);
	int ret = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, s, strlen(s)) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

/* mmap() of the device file: 0 if it succeeded (and is undone), else errno. */
static int mmap_errno(int fd, size_t len, int flags, off_t off)
{
	void *va = mmap(NULL, len, PROT_READ | PROT_WRITE, flags, fd, off);

	if (va == MAP_FAILED)
		return errno;
	munmap(va, len);
	return 0;
}

FIXTURE(mdev) {
	char dev[128];		/* /sys/bus/mdev/devices/<uuid> */
	char cdev[300];		/* /dev/vfio/devices/vfio<N> */
	int iommufd;
	int fd;			/* the vfio device cdev, bound */
	struct vfio_device_info info;
	struct vfio_region_info fb;
	size_t page;
	uint64_t seed;
};

FIXTURE_VARIANT(mdev) {
	const char *parent;	/* /sys/class/mdev_bus/<parent> */
	const char *type;	/* its mdev_supported_types/<type> */
	const char *uuid;
};

FIXTURE_VARIANT_ADD(mdev, mdpy) {
	.parent = "mdpy",
	.type = "mdpy-vga",
	.uuid = "6d647079-0000-4000-8000-000000000001",
};

FIXTURE_VARIANT_ADD(mdev, mbochs) {
	.parent = "mbochs",
	.type = "mbochs-small",
	.uuid = "6d626f63-0000-4000-8000-000000000001",
};

FIXTURE_SETUP(mdev)
{
	struct vfio_device_bind_iommufd bind = { .argsz = sizeof(bind) };
	char path[256];
	struct dirent *e;
	unsigned int i;
	DIR *d;

	self->page = getpagesize();
	self->seed = (uint64_t)getpid() << 8 ^ (uintptr_t)&bind;
	self->fd = self->iommufd = -1;
	snprintf(self->dev, sizeof(self->dev), "/sys/bus/mdev/devices/%s",
		 variant->uuid);

	/* A leftover of an earlier run would make create fail. */
	snprintf(path, sizeof(path), "%s/remove", self->dev);
	if (!access(path, F_OK)) {
		ASSERT_EQ(0, sysfs_write(path, "1"));
	}
	snprintf(path, sizeof(path),
		 "/sys/class/mdev_bus/%s/mdev_supported_types/%s/create",
		 variant->parent, variant->type);
	ASSERT_EQ(0, sysfs_write(path, variant->uuid)) TH_LOG("%s", path);

	snprintf(path, sizeof(path), "%s/vfio-dev", self->dev);
	d = opendir(path);
	ASSERT_NE(NULL, d) TH_LOG("%s: %s", path, strerror(errno));
	self->cdev[0] = 0;
	while ((e = readdir(d)))
		if (!strncmp(e->d_name, "vfio", 4))
			snprintf(self->cdev, sizeof(self->cdev),
				 "/dev/vfio/devices/%s", e->d_name);
	closedir(d);
	ASSERT_NE(0, self->cdev[0]) TH_LOG("no vfio cdev in %s", path);

	self->fd = open(self->cdev, O_RDWR);
	ASSERT_LE(0, self->fd) TH_LOG("%s: %s", self->cdev, strerror(errno));
	self->iommufd = open("/dev/iommu", O_RDWR);
	ASSERT_LE(0, self->iommufd) TH_LOG("/dev/iommu: %s", strerror(errno));
	bind.iommufd = self->iommufd;
	ASSERT_EQ(0, ioctl(self->fd, VFIO_DEVICE_BIND_IOMMUFD, &bind))
		TH_LOG("VFIO_DEVICE_BIND_IOMMUFD: %s", strerror(errno));

	/* The framebuffer: the (only) mmap-able region. */
	self->info.argsz = sizeof(self->info);
	ASSERT_EQ(0, ioctl(self->fd, VFIO_DEVICE_GET_INFO, &self->info));
	memset(&self->fb, 0, sizeof(self->fb));
	for (i = 0; i < self->info.num_regions; i++) {
		struct vfio_region_info r = { .argsz = sizeof(r), .index = i };

		ASSERT_EQ(0, ioctl(self->fd, VFIO_DEVICE_GET_REGION_INFO, &r));
		if (!(r.flags & VFIO_REGION_INFO_FLAG_MMAP))
			continue;
		ASSERT_EQ(0, self->fb.size) TH_LOG("more than one mmap-able region");
		self->fb = r;
	}
	ASSERT_NE(0, self->fb.size) TH_LOG("no mmap-able region");
	ASSERT_EQ(0, self->fb.size % self->page);
	ASSERT_EQ(0, self->fb.offset % self->page);
	TH_LOG("%s: region %u: %llu KiB at offset %#llx", variant->type,
	       self->fb.index, (unsigned long long)self->fb.size >> 10,
	       (unsigned long long)self->fb.offset);
}

/*
 * In the parent, once the test's process is gone with its mappings and
 * files: removing an mdev that is still open blocks until it is released.
 */
FIXTURE_TEARDOWN_PARENT(mdev)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/remove", self->dev);
	if (!access(path, F_OK)) {
		EXPECT_EQ(0, sysfs_write(path, "1"));
	}
}

/* Map the whole framebuffer, MAP_SHARED, read-write. */
static void *map_fb(FIXTURE_DATA(mdev) *self, size_t len)
{
	return mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, self->fd,
		    self->fb.offset);
}

/* Fill every slot of @va with the pattern, 0 or the first bad slot + 1. */
static size_t fill_and_check(volatile uint64_t *va, size_t slots, uint64_t seed)
{
	size_t i;

	for (i = 0; i < slots; i++)
		va[i * SLOT_SIZE / 8] = pattern(seed, i);
	for (i = 0; i < slots; i++)
		if (va[i * SLOT_SIZE / 8] != pattern(seed, i))
			return i + 1;
	return 0;
}

/*
 * The pattern written through a mapping reads back through it, and
 * through a new mapping once the first is gone: it is in the device.
 */
TEST_F(mdev, readback)
{
	size_t slots = self->fb.size / SLOT_SIZE, i;
	volatile uint64_t *va = map_fb(self, self->fb.size);

	ASSERT_NE(MAP_FAILED, (void *)va) TH_LOG("mmap: %s", strerror(errno));
	ASSERT_EQ(0, fill_and_check(va, slots, self->seed));
	ASSERT_EQ(0, munmap((void *)va, self->fb.size));

	va = map_fb(self, self->fb.size);
	ASSERT_NE(MAP_FAILED, (void *)va) TH_LOG("mmap: %s", strerror(errno));
	for (i = 0; i < slots; i++) {
		ASSERT_EQ(pattern(self->seed, i), va[i * SLOT_SIZE / 8])
			TH_LOG("slot %zu, through a new mapping", i);
	}
	ASSERT_EQ(0, munmap((void *)va, self->fb.size));
}

/* Two mappings of the framebuffer, one of its first half, are one memory. */
TEST_F(mdev, mappings_alias)
{
	size_t half = self->fb.size / 2, slots = half / SLOT_SIZE, i;
	volatile uint64_t *a = map_fb(self, self->fb.size);
	volatile uint64_t *b = map_fb(self, half);

	ASSERT_NE(MAP_FAILED, (void *)a) TH_LOG("mmap: %s", strerror(errno));
	ASSERT_NE(MAP_FAILED, (void *)b) TH_LOG("mmap: %s", strerror(errno));
	for (i = 0; i < slots; i++)
		b[i * SLOT_SIZE / 8] = pattern(self->seed, i) ^ 1;
	for (i = 0; i < slots; i++) {
		ASSERT_EQ(pattern(self->seed, i) ^ 1, a[i * SLOT_SIZE / 8])
			TH_LOG("slot %zu", i);
	}
	ASSERT_EQ(0, munmap((void *)a, self->fb.size));
	ASSERT_EQ(0, munmap((void *)b, half));
}

/* Invalid requests fail as on v7.3.4 (the samples' ->mmap, vfio core, mm). */
TEST_F(mdev, bad_mmap_args)
{
	size_t page = self->page, size = self->fb.size;
	off_t off = self->fb.offset;
	unsigned int i;

	/* The samples: "if ((vma->vm_flags & VM_SHARED) == 0) return -EINVAL;" */
	EXPECT_EQ(EINVAL, mmap_errno(self->fd, page, MAP_PRIVATE, off));
	/* "if (vma->vm_end - vma->vm_start > mdev_state->memsize)" */
	EXPECT_EQ(EINVAL, mmap_errno(self->fd, size + page, MAP_SHARED, off));
	/* "if (vma->vm_pgoff != ..._MEMORY_BAR_OFFSET >> PAGE_SHIFT)" */
	EXPECT_EQ(EINVAL, mmap_errno(self->fd, page, MAP_SHARED, off + page));
	EXPECT_EQ(EINVAL, mmap_errno(self->fd, page, MAP_SHARED, off + size));
	EXPECT_EQ(EINVAL, mmap_errno(self->fd, page, MAP_SHARED,
				     (off_t)1 << 62));
	/* Regions that are not mmap-able (config space, mbochs' MMIO BAR). */
	for (i = 0; i < self->info.num_regions; i++) {
		struct vfio_region_info r = { .argsz = sizeof(r), .index = i };

		ASSERT_EQ(0, ioctl(self->fd, VFIO_DEVICE_GET_REGION_INFO, &r));
		if (!r.size || (r.flags & VFIO_REGION_INFO_FLAG_MMAP) ||
		    r.offset % page || r.offset == self->fb.offset)
			continue;
		EXPECT_EQ(EINVAL, mmap_errno(self->fd, page, MAP_SHARED, r.offset))
			TH_LOG("region %u at %#llx", i, (unsigned long long)r.offset);
	}
	/* mm: pgoff + pages overflows. */
	EXPECT_EQ(EOVERFLOW, mmap_errno(self->fd, 2 * page, MAP_SHARED,
					-(off_t)page));
	/* mm: zero length. */
	EXPECT_EQ(EINVAL, mmap_errno(self->fd, 0, MAP_SHARED, off));
}

/* vfio core: a device file that is not bound to an iommufd cannot mmap. */
TEST_F(mdev, unbound_fd_cannot_mmap)
{
	int fd = open(self->cdev, O_RDWR);

	ASSERT_LE(0, fd) TH_LOG("%s: %s", self->cdev, strerror(errno));
	EXPECT_EQ(EINVAL, mmap_errno(fd, self->page, MAP_SHARED, self->fb.offset));
	close(fd);
}

TEST_HARNESS_MAIN

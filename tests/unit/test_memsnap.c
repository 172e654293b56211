/* Unit tests for snapshot memory files as written from guest RAM: a Full
 * file has exactly the RAM size with holes at zero pages (with and without
 * /proc/self/pagemap, untouched anonymous pages left unfaulted), RAM mapped
 * from an older memory file is copied whole, and vm_snapshot_write_memory()
 * writes Diffs of the pages devices marked (and KVM logged) when the VM has
 * a base, every non-zero page when it has none, clears the dirty state on
 * success, keeps it on failure, and refuses the file its RAM is mapped
 * from. The vm_snapshot_write_memory() tests with dirty tracking need a
 * real KVM VM for KVM_GET_DIRTY_LOG (no vCPU) and skip without /dev/kvm. */
#define _GNU_SOURCE /* SEEK_DATA, SEEK_HOLE */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "snapshot/memfile.h"
#include "vmm/layout.h"
#include "vmm/vm.h"

#define PG 4096ULL
#define PAGES 1024ULL /* 4 MiB of RAM */

static char dir[64], path[96], path2[96];
static struct vm_config cfg;
static struct vm vm;
static struct guest_mem *gm = &vm.gm;
static char err[256];

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/femtovm-test-memsnap-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/mem", dir);
	snprintf(path2, sizeof(path2), "%s/mem2", dir);
	memset(&vm, 0, sizeof(vm));
	memset(&cfg, 0, sizeof(cfg));
	vm.cfg = &cfg;
	vm.kvm.kvm_fd = vm.kvm.vm_fd = -1;
}

static void teardown(void)
{
	if (vm.kvm.vm_fd >= 0)
		kvm_close(&vm.kvm);
	gm_destroy(gm);
	unlink(path);
	unlink(path2);
	rmdir(dir);
}

TestSuite(memsnap, .init = setup, .fini = teardown);

/* Anonymous RAM as a booted VM has it, with KVM and tracking if @track. */
static void ram(bool track)
{
	cr_assert_eq(gm_init(gm, PAGES * PG), 0);
	cfg.machine.track_dirty_pages = track;
	if (!track)
		return;
	if (access("/dev/kvm", R_OK | W_OK))
		cr_skip_test("no /dev/kvm for KVM_GET_DIRTY_LOG");
	cr_assert_eq(kvm_open(&vm.kvm, NULL), 0);
	cr_assert_eq(kvm_set_memory(&vm.kvm, gm, 1), 0);
	cr_assert_eq(vm_dirty_init(&vm), 0);
}

static void fill(uint64_t page, uint8_t v)
{
	memset(gm->base + page * PG, v, PG);
}

/* The data ranges of @p as page numbers: "3-3,700-700" style. */
static const char *data_pages(const char *p)
{
	static char out[256];
	int fd = open(p, O_RDONLY);
	off_t off = 0, end;
	struct stat st;
	size_t n = 0;

	cr_assert_geq(fd, 0, "%s", p);
	cr_assert_eq(fstat(fd, &st), 0);
	out[0] = 0;
	while (off < st.st_size && (off = lseek(fd, off, SEEK_DATA)) >= 0) {
		end = lseek(fd, off, SEEK_HOLE);
		n += (size_t)snprintf(out + n, sizeof(out) - n, "%s%lld-%lld", n ? "," : "",
				      (long long)(off / PG), (long long)((end - 1) / PG));
		off = end;
	}
	close(fd);
	return out;
}

static off_t file_size(const char *p)
{
	struct stat st;

	cr_assert_eq(stat(p, &st), 0);
	return st.st_size;
}

static void assert_file_is_ram(const char *p)
{
	int fd = open(p, O_RDONLY);
	uint8_t *buf = malloc(PG);

	for (uint64_t i = 0; i < PAGES; i++) {
		cr_assert_eq(pread(fd, buf, PG, (off_t)(i * PG)), (ssize_t)PG);
		cr_assert_eq(memcmp(buf, gm->base + i * PG, PG), 0, "page %lu differs",
			     (unsigned long)i);
	}
	free(buf);
	close(fd);
}

static int write_full(void)
{
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600), ret;

	cr_assert_geq(fd, 0);
	ret = snap_mem_write_full(fd, gm);
	close(fd);
	return ret;
}

/* /proc/self/pagemap's present bit of RAM page @page, or -1 if unreadable. */
static int present(uint64_t page)
{
	int fd = open("/proc/self/pagemap", O_RDONLY);
	uint64_t e;
	ssize_t n;

	if (fd < 0)
		return -1;
	n = pread(fd, &e, 8, (off_t)((uintptr_t)(gm->base + page * PG) / PG * 8));
	close(fd);
	return n == 8 ? (int)(e >> 63) : -1;
}

Test(memsnap, full_writes_only_non_zero_pages)
{
	uint64_t absent = PAGES;

	ram(false);
	fill(3, 0x11);
	gm->base[700 * PG + PG - 1] = 1; /* one byte at a page's end */
	fill(50, 0);                     /* touched, but zero */
	/* A page still not populated (transparent huge pages may have
	 * populated the neighbours of the ones written). */
	for (uint64_t p = PAGES; p-- > 0 && absent == PAGES;)
		if (present(p) == 0)
			absent = p;
	cr_assert_eq(write_full(), 0);
	cr_assert_eq(file_size(path), (off_t)(PAGES * PG), "exactly the RAM size");
	cr_assert_str_eq(data_pages(path), "3-3,700-700");
	/* Untouched pages were skipped unread, not faulted in. */
	if (absent < PAGES)
		cr_assert_eq(present(absent), 0, "page %lu faulted in", (unsigned long)absent);
	assert_file_is_ram(path);
}

Test(memsnap, full_without_pagemap_compares_every_page)
{
	ram(false);
	fill(0, 0x22);
	fill(1, 0x22);
	fill(PAGES - 1, 0x33);
	gm->anon = false; /* as if /proc were missing, or RAM were a file */
	cr_assert_eq(write_full(), 0);
	cr_assert_eq(file_size(path), (off_t)(PAGES * PG));
	cr_assert_str_eq(data_pages(path), "0-1,1023-1023");
	assert_file_is_ram(path);
}

Test(memsnap, full_discards_what_the_file_held)
{
	int fd = open(path, O_RDWR | O_CREAT, 0600);
	uint8_t junk[PG];

	memset(junk, 0xff, sizeof(junk));
	for (uint64_t i = 0; i < 2 * PAGES; i++)
		cr_assert_eq(pwrite(fd, junk, PG, (off_t)(i * PG)), (ssize_t)PG);
	close(fd);
	ram(false);
	fill(10, 0x44);
	cr_assert_eq(write_full(), 0);
	cr_assert_eq(file_size(path), (off_t)(PAGES * PG));
	cr_assert_str_eq(data_pages(path), "10-10");
	assert_file_is_ram(path);
}

Test(memsnap, full_copies_ram_mapped_from_a_memory_file)
{
	struct stat st;

	/* An older memory file: pages 0 and 2 hold data, the rest holes. */
	ram(false);
	fill(0, 0xa0);
	fill(2, 0xa2);
	cr_assert_eq(write_full(), 0);
	gm_destroy(gm);
	/* A VM restored from it: untouched pages are the file's. */
	cr_assert_eq(gm_layout(gm, PAGES * PG), 0);
	cr_assert_eq(snap_mem_map_gm(path, gm, err, sizeof(err)), 0, "%s", err);
	cr_assert_not(gm->anon);
	cr_assert(gm->file_known);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(gm->file_ino, (uint64_t)st.st_ino);
	cr_assert_eq(gm->regions[0].hva, gm->base);
	cr_assert_not_null(gm->file_data[0]);
	cr_assert_eq(gm->file_data[0][0], 0x5, "the file's data pages: 0 and 2");
	for (uint64_t w = 1; w < gm_dirty_words(&gm->regions[0]); w++)
		cr_assert_eq(gm->file_data[0][w], 0);
	cr_assert_eq(gm->base[PG], 0, "page 1 (a hole of the file) read once here");
	fill(2, 0xb2); /* copied on write */
	fill(5, 0xb5);
	{
		int fd = open(path2, O_RDWR | O_CREAT, 0600);

		cr_assert_eq(snap_mem_write_full(fd, gm), 0);
		close(fd);
	}
	cr_assert_str_eq(data_pages(path2), "0-0,2-2,5-5");
	assert_file_is_ram(path2);
	cr_assert_eq(gm->base[0], 0xa0, "the untouched file page");
}

Test(memsnap, file_backed_ram_over_two_regions_reads_only_data_pages)
{
	uint64_t r0 = LAYOUT_MMIO_HOLE / PG, size = LAYOUT_MMIO_HOLE + 64 * PG;
	uint8_t page[PG];
	int fd = open(path, O_RDWR | O_CREAT, 0600);

	/* A sparse memory file of 3 GiB + 256 KiB: data on the last page of
	 * region 0 and on page 3 of region 1 only. */
	cr_assert_geq(fd, 0);
	cr_assert_eq(ftruncate(fd, (off_t)size), 0);
	memset(page, 0x77, sizeof(page));
	cr_assert_eq(pwrite(fd, page, PG, (off_t)((r0 - 1) * PG)), (ssize_t)PG);
	cr_assert_eq(pwrite(fd, page, PG, (off_t)((r0 + 3) * PG)), (ssize_t)PG);
	close(fd);
	cr_assert_eq(gm_layout(gm, size), 0);
	cr_assert_eq(gm->nr_regions, 2);
	cr_assert_eq(snap_mem_map_gm(path, gm, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(gm->regions[1].hva, gm->base + LAYOUT_MMIO_HOLE);
	cr_assert_eq(gm->file_data[0][(r0 - 1) / 64], 1ULL << 63);
	cr_assert_eq(gm->file_data[1][0], 1ULL << 3);
	gm->regions[1].hva[10 * PG] = 1; /* the guest wrote page 10 of region 1 */
	fd = open(path2, O_RDWR | O_CREAT, 0600);
	cr_assert_eq(snap_mem_write_full(fd, gm), 0);
	close(fd);
	cr_assert_str_eq(data_pages(path2), "786431-786431,786435-786435,786442-786442");
	/* The holes of region 0 were not read (faulted in) to find that. */
	if (present(5) >= 0)
		cr_assert_eq(present(5), 0);
}

Test(memsnap, map_gm_checks_the_file)
{
	cr_assert_eq(gm_layout(gm, PAGES * PG), 0);
	cr_assert_eq(snap_mem_map_gm(path, gm, err, sizeof(err)), -ENOENT);
	cr_assert_null(gm->base);
	cr_assert(strstr(err, path), "%s", err);
}

/* --- vm_snapshot_write_memory --- */

/* A memory file whose state file was then written (the taken dirty pages
 * are dropped), as vm_snapshot_create() does. */
static int snap(const char *p, bool diff)
{
	struct vm_mem_taken t;
	int ret;

	err[0] = 0;
	ret = vm_snapshot_write_memory(&vm, p, diff, &t, err, sizeof(err));
	if (!ret)
		vm_snapshot_settle_memory(&vm, &t, true);
	return ret;
}

Test(memsnap, diff_needs_tracking)
{
	ram(false);
	cr_assert_eq(snap(path, true), -EINVAL);
	cr_assert(strstr(err, "track_dirty_pages"), "%s", err);
}

Test(memsnap, diff_with_base_holds_marked_pages_even_zero_ones)
{
	ram(true);
	fill(1, 0x01); /* written by the monitor, not marked: not in a Diff */
	fill(2, 0x02);
	gm_mark_dirty(gm, 2 * PG + 10, 1);
	gm_mark_dirty(gm, 9 * PG, PG); /* a device wrote zeros */
	vm.mem_has_base = true;
	cr_assert_eq(snap(path, true), 0, "%s", err);
	cr_assert_eq(file_size(path), (off_t)(PAGES * PG));
	cr_assert_str_eq(data_pages(path), "2-2,9-9");
	/* The next Diff is relative to this one: nothing changed since. */
	cr_assert_eq(snap(path2, true), 0, "%s", err);
	cr_assert_str_eq(data_pages(path2), "");
	cr_assert_eq(file_size(path2), (off_t)(PAGES * PG));
}

Test(memsnap, diff_without_base_is_complete_on_its_own)
{
	ram(true);
	fill(1, 0x01);
	fill(2, 0x02);
	gm_mark_dirty(gm, 9 * PG, PG); /* zero: nothing to write without a base */
	vm.mem_has_base = false;
	cr_assert_eq(snap(path, true), 0, "%s", err);
	cr_assert_str_eq(data_pages(path), "1-2");
	assert_file_is_ram(path);
	/* And the dirty state was cleared. */
	vm.mem_has_base = true;
	cr_assert_eq(snap(path2, true), 0, "%s", err);
	cr_assert_str_eq(data_pages(path2), "");
}

Test(memsnap, full_with_tracking_clears_the_dirty_state)
{
	ram(true);
	fill(4, 0x04);
	gm_mark_dirty(gm, 4 * PG, 1);
	cr_assert_eq(snap(path, false), 0, "%s", err);
	cr_assert_str_eq(data_pages(path), "4-4");
	vm.mem_has_base = true;
	cr_assert_eq(snap(path2, true), 0, "%s", err);
	cr_assert_str_eq(data_pages(path2), "");
}

Test(memsnap, failed_write_keeps_the_dirty_pages)
{
	char bad[128];

	ram(true);
	gm_mark_dirty(gm, 6 * PG, 1);
	vm.mem_has_base = true;
	snprintf(bad, sizeof(bad), "%s/no/such/dir/mem", dir);
	cr_assert_eq(snap(bad, true), -ENOENT);
	cr_assert(strstr(err, bad), "the error names the file: %s", err);
	cr_assert(vm.mem_has_base, "unchanged by a failure");
	cr_assert_eq(snap(path, true), 0, "%s", err);
	cr_assert_str_eq(data_pages(path), "6-6", "the failed Diff's pages are still dirty");
}

/* The memory file was written but the state file was not: the snapshot
 * does not exist, so the next Diff still holds its pages. */
Test(memsnap, state_file_failure_puts_the_pages_back)
{
	struct vm_mem_taken t;

	ram(true);
	gm_mark_dirty(gm, 3 * PG, 1);
	gm_mark_dirty(gm, 8 * PG, 1);
	vm.mem_has_base = true;
	cr_assert_eq(vm_snapshot_write_memory(&vm, path, true, &t, err, sizeof(err)), 0, "%s",
		     err);
	cr_assert_str_eq(data_pages(path), "3-3,8-8");
	vm_snapshot_settle_memory(&vm, &t, false);
	cr_assert(vm.mem_has_base);
	gm_mark_dirty(gm, 5 * PG, 1);
	cr_assert_eq(snap(path2, true), 0, "%s", err);
	cr_assert_str_eq(data_pages(path2), "3-3,5-5,8-8");
}

Test(memsnap, refuses_to_overwrite_the_file_ram_is_mapped_from)
{
	ram(false);
	fill(0, 0x5a);
	cr_assert_eq(write_full(), 0);
	gm_destroy(gm);
	cr_assert_eq(gm_layout(gm, PAGES * PG), 0);
	cr_assert_eq(snap_mem_map_gm(path, gm, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(snap(path, false), -EINVAL);
	cr_assert(strstr(err, "loaded from"), "%s", err);
	cr_assert_eq(file_size(path), (off_t)(PAGES * PG), "not truncated");
	cr_assert_eq(gm->base[0], 0x5a);
	cr_assert_eq(snap(path2, false), 0, "%s", err);
	cr_assert_str_eq(data_pages(path2), "0-0");
}

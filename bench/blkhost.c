/*
 * blkhost: the host-side reference for the block benchmark: the same I/O
 * pattern as the blkbench guest, done directly on the file with one thread
 * and synchronous pread/pwrite (queue depth 1, like femtovm's single
 * event-loop thread serving one request after the other). The file is in
 * the page cache (the benchmark reads it once first), so this is the cost
 * of the system call and the copy: the ceiling for any VMM backend that
 * uses pread/pwrite on the same file.
 *
 * Usage: blkhost -f FILE -m randread|randwrite|read|write [-b BYTES] [-t MS]
 * Prints: blkhost: <mode> qd=1 bs=<b> ops=<n> bytes=<b> ms=<t> iops=<..>
 *         mbps=<..> cpu_ms=<utime+stime>
 */
#include "benchlib.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/stat.h>

int main(int argc, char **argv)
{
	const char *file = NULL, *mode = "randread";
	long bs = 0, ms = 1000;
	int opt, fd;
	struct stat st;
	struct rusage ru0, ru1;
	uint64_t ops = 0, nblocks, seq = 0, rnd = 0x9e3779b97f4a7c15ULL;
	double t0, t;
	bool random, write;
	char *buf;

	while ((opt = getopt(argc, argv, "f:m:b:t:")) != -1) {
		switch (opt) {
		case 'f': file = optarg; break;
		case 'm': mode = optarg; break;
		case 'b': bs = atol(optarg); break;
		case 't': ms = atol(optarg); break;
		default: return 2;
		}
	}
	random = !strncmp(mode, "rand", 4);
	write = strstr(mode, "write") != NULL;
	if (!bs)
		bs = random ? 4096 : 65536;
	if (!file || bs <= 0 || bs % 512) {
		fprintf(stderr, "usage: blkhost -f FILE -m MODE [-b BYTES] [-t MS]\n");
		return 2;
	}
	fd = open(file, write ? O_RDWR : O_RDONLY);
	if (fd < 0 || fstat(fd, &st) || st.st_size < bs) {
		perror(file);
		return 1;
	}
	nblocks = (uint64_t)st.st_size / (uint64_t)bs;
	buf = aligned_alloc(4096, (size_t)bs);
	memset(buf, 0x5a, (size_t)bs);
	getrusage(RUSAGE_SELF, &ru0);
	t0 = now_us();
	do {
		for (int i = 0; i < 64; i++) {
			uint64_t blk;
			ssize_t r;

			if (random) {
				rnd ^= rnd << 13;
				rnd ^= rnd >> 7;
				rnd ^= rnd << 17;
				blk = rnd % nblocks;
			} else {
				blk = seq;
				if (++seq >= nblocks)
					seq = 0;
			}
			r = write ? pwrite(fd, buf, (size_t)bs, (off_t)(blk * (uint64_t)bs))
				  : pread(fd, buf, (size_t)bs, (off_t)(blk * (uint64_t)bs));
			if (r != bs) {
				perror("pread/pwrite");
				return 1;
			}
			ops++;
		}
		t = now_us() - t0;
	} while (t < ms * 1000.0);
	getrusage(RUSAGE_SELF, &ru1);
	printf("blkhost: %s qd=1 bs=%ld ops=%llu bytes=%llu ms=%.0f iops=%.0f mbps=%.1f cpu_ms=%.0f\n",
	       mode, bs, (unsigned long long)ops, (unsigned long long)(ops * (uint64_t)bs),
	       t / 1000, ops * 1e6 / t, ops * (double)bs / t,
	       ((ru1.ru_utime.tv_sec - ru0.ru_utime.tv_sec) * 1e3 +
		(ru1.ru_utime.tv_usec - ru0.ru_utime.tv_usec) / 1e3) +
	       ((ru1.ru_stime.tv_sec - ru0.ru_stime.tv_sec) * 1e3 +
		(ru1.ru_stime.tv_usec - ru0.ru_stime.tv_usec) / 1e3));
	return 0;
}

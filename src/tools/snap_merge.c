/* femtovm-snap-merge: apply a Diff snapshot's memory file onto the memory
 * file of the snapshot before it, in place (snap_mem_merge: the diff's data
 * ranges, found with SEEK_DATA/SEEK_HOLE, are copied to the same offsets).
 * The result is the full memory of the Diff's moment, to be loaded with the
 * Diff's state file. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "snapshot/memfile.h"

enum { EXIT_MERGED = 0, EXIT_FAILED = 1, EXIT_USAGE = 2 };

static const char usage[] =
	"Usage: femtovm-snap-merge BASE_MEM DIFF_MEM\n"
	"       femtovm-snap-merge --help | --version\n"
	"\n"
	"Apply DIFF_MEM, the memory file of a femtovm Diff snapshot, onto BASE_MEM,\n"
	"the memory file of the snapshot taken (or loaded) just before it, in place.\n"
	"DIFF_MEM is sparse: its data ranges are the pages written since BASE_MEM's\n"
	"snapshot and are copied to the same offsets of BASE_MEM; its holes are\n"
	"pages left unchanged. BASE_MEM is then the full memory at the Diff's\n"
	"moment: load it with the Diff's state file (PUT /snapshot/load,\n"
	"mem_backend.backend_path = BASE_MEM). A chain of Diffs is merged one at a\n"
	"time, oldest first, onto the same file.\n"
	"\n"
	"BASE_MEM is modified and fsync'ed; keep a copy (cp --sparse=always) if the\n"
	"base snapshot is still wanted, and merge into the copy. Do not merge into a\n"
	"memory file that a running femtovm was loaded from. Both files must be\n"
	"regular files of the same size, and DIFF_MEM must be on a filesystem that\n"
	"keeps holes at page granularity (4 KiB blocks: ext4, xfs, tmpfs); a diff whose\n"
	"holes cannot be trusted is refused rather than merged wrongly. A Diff taken\n"
	"of a VM that had never been snapshotted nor loaded has no base: it is\n"
	"complete on its own and is loaded as it is, not merged.\n"
	"\n"
	"Exit status: 0 merged; 1 the merge failed (a file cannot be opened, read or\n"
	"written, sizes differ, holes not supported; BASE_MEM may then be partly\n"
	"updated); 2 bad command line (wrong arguments, or both names are the same\n"
	"file).\n";

static int same_file(const char *a, const char *b)
{
	struct stat sa, sb;

	return !stat(a, &sa) && !stat(b, &sb) && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

int main(int argc, char **argv)
{
	char err[512];
	int ret;

	if (argc == 2 && !strcmp(argv[1], "--help")) {
		fputs(usage, stdout);
		return EXIT_MERGED;
	}
	if (argc == 2 && !strcmp(argv[1], "--version")) {
		printf("femtovm-snap-merge %s\n", FEMTOVM_VERSION);
		return EXIT_MERGED;
	}
	if (argc != 3 || argv[1][0] == '-' || argv[2][0] == '-') {
		fputs(usage, stderr);
		return EXIT_USAGE;
	}
	if (same_file(argv[1], argv[2])) {
		fprintf(stderr, "femtovm-snap-merge: %s and %s are the same file\n", argv[1],
			argv[2]);
		return EXIT_USAGE;
	}
	err[0] = 0;
	ret = snap_mem_merge(argv[1], argv[2], err, sizeof(err));
	if (ret) {
		fprintf(stderr, "femtovm-snap-merge: cannot merge %s onto %s: %s\n", argv[2],
			argv[1], err[0] ? err : strerror(-ret));
		return EXIT_FAILED;
	}
	return EXIT_MERGED;
}

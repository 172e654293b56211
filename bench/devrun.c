/*
 * devrun: run a VMM, pass its stdout through line by line, and append to
 * each line the wall time since the spawn and the process's CPU time so far
 * (all threads, from /proc/<pid>/stat):
 *
 *   <line> |t_ms=<wall> cpu_ms=<utime+stime> guest_ms=<guest_time>
 *
 * guest_ms is the part of utime the kernel accounts as time in the guest
 * (KVM_RUN); cpu_ms - guest_ms is the VMM's own work (device emulation,
 * exits, event loop). The device benchmarks difference two lines (a
 * guest's "go" line and its result line) to get the CPU a phase cost.
 * Output is flushed per line, so a script can follow it in a file.
 *
 * Usage: devrun [-t TIMEOUT_S] -- CMD ARGS...   (exit status: the child's;
 *        124 after the timeout, when the child is killed)
 */
#include "benchlib.h"

#include <signal.h>
#include <sys/wait.h>

static double tck;

/* utime, stime, guest_time of pid in ms; -1 when gone. */
static int proc_cpu(pid_t pid, double *cpu, double *guest)
{
	char path[64], buf[4096], *p;
	unsigned long ut, st, gt;
	int i;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (read_small(path, buf, sizeof(buf)))
		return -1;
	p = strrchr(buf, ')');
	if (!p)
		return -1;
	p += 2;	/* field 3 */
	/* fields 14, 15 (utime, stime) and 43 (guest_time) */
	for (i = 3; i < 14 && p; i++)
		p = strchr(p, ' ') ? strchr(p, ' ') + 1 : NULL;
	if (!p || sscanf(p, "%lu %lu", &ut, &st) != 2)
		return -1;
	for (; i < 43 && p; i++)
		p = strchr(p, ' ') ? strchr(p, ' ') + 1 : NULL;
	if (!p || sscanf(p, "%lu", &gt) != 1)
		gt = 0;
	*cpu = (ut + st) * 1000.0 / tck;
	*guest = gt * 1000.0 / tck;
	return 0;
}

int main(int argc, char **argv)
{
	int opt, pfd[2], status = 0;
	double timeout = 300, t0, last_cpu = 0, last_guest = 0;
	char buf[65536];
	size_t len = 0;
	pid_t pid;

	while ((opt = getopt(argc, argv, "t:")) != -1) {
		if (opt == 't')
			timeout = atof(optarg);
		else
			return 2;
	}
	if (optind >= argc) {
		fprintf(stderr, "usage: devrun [-t S] -- CMD...\n");
		return 2;
	}
	tck = (double)sysconf(_SC_CLK_TCK);
	if (pipe(pfd))
		return 1;
	t0 = now_us();
	pid = fork();
	if (pid < 0)
		return 1;
	if (!pid) {
		dup2(pfd[1], 1);
		close(pfd[0]);
		close(pfd[1]);
		execvp(argv[optind], argv + optind);
		_exit(127);
	}
	close(pfd[1]);
	for (;;) {
		struct pollfd p = { .fd = pfd[0], .events = POLLIN };
		double left = timeout * 1e6 - (now_us() - t0);
		ssize_t n;
		char *nl;

		if (left <= 0) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			fprintf(stderr, "devrun: timeout after %.0f s\n", timeout);
			return 124;
		}
		if (poll(&p, 1, (int)(left / 1000) + 1) <= 0)
			continue;
		n = read(pfd[0], buf + len, sizeof(buf) - 1 - len);
		if (n <= 0)
			break;
		len += (size_t)n;
		while ((nl = memchr(buf, '\n', len)) || len == sizeof(buf) - 1) {
			size_t l = nl ? (size_t)(nl - buf) : len;
			double t = (now_us() - t0) / 1000.0, cpu, guest;

			if (proc_cpu(pid, &cpu, &guest) == 0) {
				last_cpu = cpu;
				last_guest = guest;
			}
			printf("%.*s |t_ms=%.1f cpu_ms=%.0f guest_ms=%.0f\n", (int)l, buf, t,
			       last_cpu, last_guest);
			fflush(stdout);
			l += nl ? 1 : 0;
			memmove(buf, buf + l, len - l);
			len -= l;
		}
	}
	if (len)
		printf("%.*s\n", (int)len, buf);
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* femtovm-fanout clone processes: the work directory, starting one femtovm
 * per clone (own API socket, serial and log file, own session; killed with
 * us unless detached), reaping, and stopping them (SIGTERM, then SIGKILL). */
#define _GNU_SOURCE
#include "tools/fanout_proc.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

double fanout_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int fanout_default_femtovm(char *out, size_t cap)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *slash;

	if (n <= 0)
		return -errno;
	self[n] = '\0';
	slash = strrchr(self, '/');
	if (!slash)
		return -ENOENT;
	*slash = '\0';
	if ((size_t)snprintf(out, cap, "%s/femtovm", self) >= cap)
		return -ENAMETOOLONG;
	return 0;
}

int fanout_work_dir(const char *want, char *out, size_t cap, bool *created)
{
	struct stat st;

	*created = false;
	if (!want) {
		if ((size_t)snprintf(out, cap, "/tmp/femtovm-fanout.XXXXXX") >= cap)
			return -ENAMETOOLONG;
		if (!mkdtemp(out))
			return -errno;
		*created = true;
		return 0;
	}
	if ((size_t)snprintf(out, cap, "%s", want) >= cap)
		return -ENAMETOOLONG;
	if (mkdir(out, 0755) == 0) {
		*created = true;
		return 0;
	}
	if (errno != EEXIST)
		return -errno;
	if (stat(out, &st) < 0)
		return -errno;
	return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

void fanout_clone_paths(struct fanout_clone *c, const char *dir, unsigned idx)
{
	c->idx = idx;
	c->fd = -1;
	snprintf(c->sock, sizeof(c->sock), "%s/clone-%u.sock", dir, idx);
	snprintf(c->serial, sizeof(c->serial), "%s/clone-%u.serial", dir, idx);
	snprintf(c->log, sizeof(c->log), "%s/clone-%u.log", dir, idx);
}

/* In the child: stdio, session, parent-death signal; never returns. */
static void child_exec(char **argv, int out, int log, bool detach, pid_t parent)
{
	int null = open("/dev/null", O_RDONLY | O_CLOEXEC);

	if (!detach && (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent))
		_exit(126);
	setsid();	/* a terminal's Ctrl-C reaches fanout only, which stops us */
	signal(SIGPIPE, SIG_DFL);
	if (null < 0 || dup2(null, 0) < 0 || dup2(out, 1) < 0 || dup2(log, 2) < 0)
		_exit(126);
	execv(argv[0], argv);
	dprintf(2, "femtovm-fanout: exec %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

int fanout_spawn(struct fanout_clone *c, const char *femtovm, const struct fanout_opts *o)
{
	char *argv[FANOUT_MAX_EXTRA + 4], *extra[FANOUT_MAX_EXTRA] = { NULL };
	unsigned n = 0;
	pid_t parent = getpid();
	int out, log, ret = 0;

	argv[n++] = (char *)femtovm;
	argv[n++] = "--api-sock";
	argv[n++] = c->sock;
	for (unsigned i = 0; i < o->nextra; i++) {
		extra[i] = malloc(PATH_MAX);
		if (!extra[i] || fanout_expand(o->extra[i], c->idx, extra[i], PATH_MAX) < 0) {
			ret = -ENOMEM;
			goto out_free;
		}
		argv[n++] = extra[i];
	}
	argv[n] = NULL;
	unlink(c->sock);
	out = open(c->serial, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	log = open(c->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (out < 0 || log < 0) {
		ret = -errno;
		goto out_close;
	}
	c->t_spawn = fanout_now_ms();
	c->pid = fork();
	if (c->pid < 0) {
		ret = -errno;
		c->pid = 0;
		c->reaped = true;
		goto out_close;
	}
	if (c->pid == 0)
		child_exec(argv, out, log, o->end == FANOUT_DETACH, parent);
out_close:
	if (out >= 0)
		close(out);
	if (log >= 0)
		close(log);
out_free:
	for (unsigned i = 0; i < o->nextra; i++)
		free(extra[i]);
	return ret;
}

bool fanout_reap(struct fanout_clone *c, bool block)
{
	if (c->reaped || c->pid <= 0)
		return true;
	if (waitpid(c->pid, &c->wstatus, block ? 0 : WNOHANG) == c->pid)
		c->reaped = true;
	return c->reaped;
}

void fanout_describe_exit(int wstatus, char *out, size_t cap)
{
	if (WIFEXITED(wstatus))
		snprintf(out, cap, "exited with status %d", WEXITSTATUS(wstatus));
	else if (WIFSIGNALED(wstatus))
		snprintf(out, cap, "was killed by signal %d", WTERMSIG(wstatus));
	else
		snprintf(out, cap, "ended (wait status 0x%x)", wstatus);
}

void fanout_last_log_line(const char *path, char *out, size_t cap)
{
	char buf[2048];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	off_t size;
	ssize_t n = 0;
	char *end, *start;

	out[0] = '\0';
	if (fd < 0)
		return;
	size = lseek(fd, 0, SEEK_END);
	if (size > 0)
		n = pread(fd, buf, sizeof(buf) - 1, size > (off_t)sizeof(buf) - 1 ?
			  size - (off_t)sizeof(buf) + 1 : 0);
	close(fd);
	if (n <= 0)
		return;
	buf[n] = '\0';
	end = buf + n;
	while (end > buf && (end[-1] == '\n' || end[-1] == '\r'))
		*--end = '\0';
	start = memrchr(buf, '\n', (size_t)(end - buf));
	/* Two lines: a usage error is followed by a "Try --help" line. */
	if (start && start > buf) {
		char *prev = memrchr(buf, '\n', (size_t)(start - buf));

		*start = ' ';
		start = prev;
	}
	snprintf(out, cap, "%s", start ? start + 1 : buf);
}

void fanout_stop(struct fanout_clone *cs, unsigned n, bool only_failed)
{
	double deadline = fanout_now_ms() + 3000;
	bool left = false;

	for (unsigned i = 0; i < n; i++) {
		struct fanout_clone *c = &cs[i];

		if (only_failed && c->state == CLONE_OK)
			continue;
		if (c->fd >= 0) {
			close(c->fd);
			c->fd = -1;
		}
		if (!fanout_reap(c, false))
			kill(c->pid, SIGTERM);
	}
	do {
		left = false;
		for (unsigned i = 0; i < n; i++)
			if (!(only_failed && cs[i].state == CLONE_OK) && !fanout_reap(&cs[i], false))
				left = true;
		if (left)
			usleep(2000);
	} while (left && fanout_now_ms() < deadline);
	for (unsigned i = 0; i < n; i++) {
		struct fanout_clone *c = &cs[i];

		if (only_failed && c->state == CLONE_OK)
			continue;
		if (!fanout_reap(c, false)) {
			kill(c->pid, SIGKILL);
			fanout_reap(c, true);
		}
		unlink(c->sock);
	}
}

void fanout_clean(struct fanout_clone *cs, unsigned n, const char *dir, bool created)
{
	for (unsigned i = 0; i < n; i++) {
		unlink(cs[i].sock);
		unlink(cs[i].serial);
		unlink(cs[i].log);
	}
	if (created)
		rmdir(dir);
}

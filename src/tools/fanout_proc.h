/* femtovm-fanout clone processes (fanout_proc.c). */
#ifndef FEMTOVM_TOOLS_FANOUT_PROC_H
#define FEMTOVM_TOOLS_FANOUT_PROC_H

#include "tools/fanout.h"

/* CLOCK_MONOTONIC in ms. */
double fanout_now_ms(void);

/* "<directory of this executable>/femtovm" into out; 0 or -errno. */
int fanout_default_femtovm(char *out, size_t cap);

/* The work directory: want (created if missing, must be a directory) or a
 * new /tmp/femtovm-fanout.XXXXXX. *created tells whether we made it. */
int fanout_work_dir(const char *want, char *out, size_t cap, bool *created);

/* Clone idx's paths in dir: clone-<idx>.sock, .serial, .log; fd = -1. */
void fanout_clone_paths(struct fanout_clone *c, const char *dir, unsigned idx);

/* fork + exec `femtovm --api-sock SOCK [--femtovm-arg...]`, stdin
 * /dev/null, stdout -> serial file, stderr -> log file, in its own session;
 * SIGKILLed when we die unless o->end is FANOUT_DETACH. 0 or -errno. */
int fanout_spawn(struct fanout_clone *c, const char *femtovm, const struct fanout_opts *o);

/* waitpid (WNOHANG unless block); true once the clone's process is gone. */
bool fanout_reap(struct fanout_clone *c, bool block);

/* "exited with status N" / "was killed by signal N". */
void fanout_describe_exit(int wstatus, char *out, size_t cap);

/* The last two lines of a (log) file on one line, "" if none. */
void fanout_last_log_line(const char *path, char *out, size_t cap);

/* Close API connections, SIGTERM, wait up to 3 s, SIGKILL the rest, reap,
 * remove the sockets. only_failed: leave the clones in CLONE_OK alone. */
void fanout_stop(struct fanout_clone *cs, unsigned n, bool only_failed);

/* Remove every clone's socket, serial and log file, and dir if created. */
void fanout_clean(struct fanout_clone *cs, unsigned n, const char *dir, bool created);

#endif

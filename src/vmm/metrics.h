/* FlushMetrics: one JSON line of counters appended to the metrics file
 * (API requests, vCPU exits, serial and block device bytes/ops/errors,
 * guest boot time). */
#ifndef FEMTOVM_METRICS_H
#define FEMTOVM_METRICS_H

#include <stddef.h>

struct controller;

/* Build the metrics object as a malloc'd JSON string (one line). */
char *metrics_json(const struct controller *c);

/* Append metrics_json() and a newline to @fd. 0 or -errno with @err. */
int metrics_flush(const struct controller *c, int fd, char *err, size_t errlen);

#endif

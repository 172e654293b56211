/* The event-loop thread's epoll set: one callback per file descriptor.
 * Handlers run on the event-loop thread only. */
#ifndef FEMTOVM_EVENT_LOOP_H
#define FEMTOVM_EVENT_LOOP_H

#include <stdbool.h>
#include <stdint.h>

struct el_handler {
	int fd;
	void (*cb)(struct el_handler *h, uint32_t events);
	void *opaque;
};

struct event_loop {
	int epfd;
	volatile bool stop;
};

int el_init(struct event_loop *el);
void el_destroy(struct event_loop *el);
/* Watch h->fd for @events (EPOLLIN...). 0 or -errno. */
int el_add(struct event_loop *el, struct el_handler *h, uint32_t events);
int el_mod(struct event_loop *el, struct el_handler *h, uint32_t events);
int el_del(struct event_loop *el, struct el_handler *h);
/* One-shot timerfd: fire after @ns nanoseconds (at least 1 ns), or disarm
 * with ns == 0 when @disarm is set. 0 or -errno; fd < 0 is -EBADF. */
int el_timer_set(int fd, uint64_t ns, bool disarm);

/* Dispatch events until el->stop is set by a handler. -errno on failure. */
int el_run(struct event_loop *el);

#endif

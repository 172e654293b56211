/* epoll-based event loop (DESIGN.md §2: API, device queues, taps, sockets,
 * timers all run here). */
#include "vmm/event_loop.h"

#include <errno.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

int el_init(struct event_loop *el)
{
	el->stop = false;
	el->epfd = epoll_create1(EPOLL_CLOEXEC);
	return el->epfd < 0 ? -errno : 0;
}

void el_destroy(struct event_loop *el)
{
	if (el->epfd >= 0)
		close(el->epfd);
	el->epfd = -1;
}

static int el_ctl(struct event_loop *el, int op, struct el_handler *h, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = h };

	return epoll_ctl(el->epfd, op, h->fd, &ev) < 0 ? -errno : 0;
}

int el_add(struct event_loop *el, struct el_handler *h, uint32_t events)
{
	return el_ctl(el, EPOLL_CTL_ADD, h, events);
}

int el_mod(struct event_loop *el, struct el_handler *h, uint32_t events)
{
	return el_ctl(el, EPOLL_CTL_MOD, h, events);
}

int el_del(struct event_loop *el, struct el_handler *h)
{
	return el_ctl(el, EPOLL_CTL_DEL, h, 0);
}

int el_timer_set(int fd, uint64_t ns, bool disarm)
{
	struct itimerspec its = { .it_value = { (time_t)(ns / 1000000000ULL),
						(long)(ns % 1000000000ULL) } };

	if (fd < 0)
		return -EBADF;
	/* An all-zero value would disarm: round a due timer up to 1 ns. */
	if (!disarm && !ns)
		its.it_value.tv_nsec = 1;
	return timerfd_settime(fd, 0, &its, NULL) < 0 ? -errno : 0;
}

int el_run(struct event_loop *el)
{
	struct epoll_event evs[32];

	while (!el->stop) {
		int n = epoll_wait(el->epfd, evs, 32, -1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		for (int i = 0; i < n && !el->stop; i++) {
			struct el_handler *h = evs[i].data.ptr;

			h->cb(h, evs[i].events);
		}
	}
	return 0;
}

/* irqfd-backed interrupt lines (DESIGN.md §2: interrupts reach the guest
 * only through irqfd on the in-kernel irqchip). */
#include "vmm/irq.h"

#include <errno.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "vmm/kvm.h"

int irq_line_init(struct irq_line *l, struct kvm *kvm, unsigned gsi)
{
	int ret;

	l->gsi = gsi;
	l->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (l->efd < 0)
		return -errno;
	if (!kvm)
		return 0;
	ret = kvm_irqfd(kvm, l->efd, gsi);
	if (ret) {
		close(l->efd);
		l->efd = -1;
	}
	return ret;
}

void irq_line_destroy(struct irq_line *l)
{
	if (l->efd >= 0)
		close(l->efd);
	l->efd = -1;
}

void irq_trigger(const struct irq_line *l)
{
	uint64_t one = 1;

	if (l->efd < 0)
		return;
	/* EAGAIN only if the counter would overflow: the edge is pending anyway. */
	if (write(l->efd, &one, sizeof(one)) < 0) {
	}
}

/* Interrupt lines: an eventfd bound to a GSI with KVM_IRQFD. Triggering
 * writes the eventfd, which KVM turns into an edge on the in-kernel
 * IOAPIC/PIC pin. Usable from any thread. */
#ifndef FEMTOVM_IRQ_H
#define FEMTOVM_IRQ_H

struct kvm;

struct irq_line {
	int efd;       /* -1: not connected (unit tests) */
	unsigned gsi;
};

/* Create the eventfd and, if @kvm is not NULL, bind it to @gsi. */
int irq_line_init(struct irq_line *l, struct kvm *kvm, unsigned gsi);
void irq_line_destroy(struct irq_line *l);
/* One interrupt edge. */
void irq_trigger(const struct irq_line *l);

#endif

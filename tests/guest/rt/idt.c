/* Runtime GDT and IDT: the descriptor tables every CPU loads, the ISR
 * dispatch (rt_trap, called by entry.S stubs), handler registration and the
 * fatal-exception report
 * "<name>: exception vector=<dec> error=0x<hex> rip=0x<hex> cr2=0x<hex>". */
#include "io.h"
#include "rt.h"

void rt_idt_init(void);
void rt_trap(struct rt_frame *f);
extern const uint8_t rt_isr_stubs[];	/* 256 stubs, 16 bytes apart */

struct desc_ptr {
	uint16_t limit;
	uint64_t base;
} __attribute__((packed));

struct idt_gate {
	uint16_t off_lo;
	uint16_t sel;
	uint8_t ist;
	uint8_t type;	/* 0x8E: present, DPL 0, 64-bit interrupt gate */
	uint16_t off_mid;
	uint32_t off_hi;
	uint32_t zero;
};

/* Same selectors as trampoline.S: 0x08 code64, 0x10 data, 0x18 code32. */
static const uint64_t gdt[4] __attribute__((aligned(16))) = {
	0, 0x00af9a000000ffffULL, 0x00cf92000000ffffULL, 0x00cf9a000000ffffULL,
};
/* Also used (as a 6-byte 32-bit lgdt operand) by entry.S before long mode. */
const struct desc_ptr rt_gdtr = { sizeof(gdt) - 1, (uint64_t)gdt };
static struct idt_gate idt[256] __attribute__((aligned(16)));
static const struct desc_ptr idtr = { sizeof(idt) - 1, (uint64_t)idt };
static rt_irq_fn *handlers[256];
static volatile int in_fatal;

void rt_cpu_tables_load(void)
{
	asm volatile("lgdt %0\n\t"
		     "pushq $0x08\n\t"
		     "leaq 1f(%%rip), %%rax\n\t"
		     "pushq %%rax\n\t"
		     "lretq\n"
		     "1:\tmovl $0x10, %%eax\n\t"
		     "movl %%eax, %%ds\n\t"
		     "movl %%eax, %%es\n\t"
		     "movl %%eax, %%ss\n\t"
		     "movl %%eax, %%fs\n\t"
		     "movl %%eax, %%gs\n\t"
		     "lidt %1"
		     : : "m"(rt_gdtr), "m"(idtr) : "rax", "memory");
}

static void set_gate(unsigned v)
{
	uint64_t a = (uint64_t)(rt_isr_stubs + 16 * v);
	idt[v].off_lo = a & 0xffff;
	idt[v].sel = 0x08;
	idt[v].ist = 0;
	idt[v].type = 0x8E;
	idt[v].off_mid = (a >> 16) & 0xffff;
	idt[v].off_hi = a >> 32;
	idt[v].zero = 0;
}

/* Only the exception vectors and the LAPIC spurious vector get gates up
 * front; every guest instruction costs ~1 us here, so no 256-entry loop. */
void rt_idt_init(void)
{
	for (unsigned v = 0; v < 32; v++)
		set_gate(v);
	set_gate(RT_SPURIOUS_VECTOR);
}

void rt_irq_register(unsigned vector, rt_irq_fn *fn)
{
	if (vector >= 256)
		return;
	handlers[vector] = fn;
	set_gate(vector);
}

void rt_trap(struct rt_frame *f)
{
	rt_irq_fn *fn = handlers[f->vector & 0xff];
	if (fn) {
		fn(f);
		return;
	}
	if (f->vector == RT_SPURIOUS_VECTOR)
		return;	/* spurious: no EOI (SDM Vol. 3 §10.9) */
	if (in_fatal++)
		guest_reset();	/* fault while reporting a fault */
	rt_printf("%s: exception vector=%lu error=0x%lx rip=0x%lx cr2=0x%lx\n",
		  rt_guest_name, f->vector, f->error, f->rip, read_cr2());
	guest_reset();
}

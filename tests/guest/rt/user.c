/* Ring-3 support (see user.h). Only guests that call rt_user_init() get any
 * of it: the runtime's own GDT, IDT gates and page tables are left as they
 * are until then. */
#include "io.h"
#include "rt.h"
#include "user.h"

#define PTE_U 0x4ULL

extern uint64_t rt_pml4[512];
extern uint64_t rt_pdpt[512];
extern uint64_t rt_pd[4][512];

long rt_user_enter(long (*fn)(void *), void *arg, void *stack_top);
void rt_user_tramp(void);
extern const uint8_t rt_user_resume[];
extern const uint8_t rt_user_gate[];

struct tss64 {
	uint32_t reserved0;
	uint64_t rsp[3];
	uint64_t reserved1;
	uint64_t ist[7];
	uint64_t reserved2;
	uint16_t reserved3;
	uint16_t iomap_base;
} __attribute__((packed));

struct desc_ptr {
	uint16_t limit;
	uint64_t base;
} __attribute__((packed));

/* 0x08 code64, 0x10 data, 0x18 code32 (as the runtime's GDT), 0x20 user
 * data (DPL 3), 0x28 user code64 (DPL 3), 0x30 the TSS (16 bytes). */
static uint64_t ugdt[8] __attribute__((aligned(16)));
static struct tss64 tss __attribute__((aligned(16)));
static uint8_t kstack[16384] __attribute__((aligned(16), section(".noinit.rt_user")));
uint64_t rt_user_saved_rsp;	/* ring-0 stack of the pending rt_user_call */

/* rt_user_enter(fn, arg, stack): save the callee-saved registers and
 * RFLAGS, remember rsp, iretq to rt_user_tramp in ring 3. The exit syscall
 * exit iretqs back to rt_user_resume with rsp restored, rax = result. */
asm(".text\n"
    ".globl rt_user_enter\n"
    "rt_user_enter:\n\t"
    "push %rbx\n\tpush %rbp\n\tpush %r12\n\tpush %r13\n\tpush %r14\n\tpush %r15\n\t"
    "pushfq\n\t"
    "mov %rsp, rt_user_saved_rsp(%rip)\n\t"
    "pushq $0x23\n\t"		/* SS */
    "pushq %rdx\n\t"		/* RSP */
    "pushq $0x3202\n\t"		/* RFLAGS: IOPL 3, IF */
    "pushq $0x2b\n\t"		/* CS */
    "leaq rt_user_tramp(%rip), %rax\n\t"
    "pushq %rax\n\t"
    "iretq\n"
    ".globl rt_user_resume\n"
    "rt_user_resume:\n\t"
    "mov $0x10, %ecx\n\tmov %ecx, %ds\n\tmov %ecx, %es\n\t"
    "popfq\n\t"
    "pop %r15\n\tpop %r14\n\tpop %r13\n\tpop %r12\n\tpop %rbp\n\tpop %rbx\n\t"
    "ret\n"
    /* Ring 3: rax = fn(arg); exit syscall with rdi = result. */
    ".globl rt_user_tramp\n"
    "rt_user_tramp:\n\t"
    "mov %rdi, %rax\n\t"
    "mov %rsi, %rdi\n\t"
    "call *%rax\n\t"
    "mov %rax, %rdi\n\t"
    "xor %eax, %eax\n\t"
    "call rt_user_gate\n\t"
    "ud2\n"
    /* The syscall gate: a #UD at exactly this address from ring 3. */
    ".globl rt_user_gate\n"
    "rt_user_gate:\n\t"
    "ud2\n\t"
    "ret\n");

static void user_syscall(struct rt_frame *f)
{
	if ((f->cs & 3) != 3 || f->rip != (uint64_t)rt_user_gate) {
		/* A real #UD: the runtime's report, plus the privilege level. */
		rt_printf("%s: exception vector=%lu error=0x%lx rip=0x%lx cr2=0x%lx cs=0x%lx\n",
			  rt_guest_name, f->vector, f->error, f->rip, read_cr2(), f->cs);
		guest_reset();
	}
	f->rip += 2;	/* past the ud2, to the gate's ret */
	switch (f->rax) {
	case 0:	/* exit: back to the rt_user_enter caller in ring 0 */
		f->rax = f->rdi;
		f->rip = (uint64_t)rt_user_resume;
		f->cs = 0x08;
		f->ss = 0x10;
		f->rsp = rt_user_saved_rsp;
		f->rflags = 0x2;	/* IF off until popfq restores it */
		break;
	case 1: {	/* run a ring-0 function */
		long (*fn)(long) = (long (*)(long))f->rdi;

		f->rax = (uint64_t)fn((long)f->rsi);
		break;
	}
	default:
		f->rax = (uint64_t)-1;
	}
}

void rt_user_init(void)
{
	struct desc_ptr gp;
	uint64_t base = (uint64_t)&tss, limit = sizeof(tss) - 1;

	ugdt[0] = 0;
	ugdt[1] = 0x00af9a000000ffffULL;
	ugdt[2] = 0x00cf92000000ffffULL;
	ugdt[3] = 0x00cf9a000000ffffULL;
	ugdt[4] = 0x00cff2000000ffffULL;	/* data, DPL 3 */
	ugdt[5] = 0x00affa000000ffffULL;	/* code64, DPL 3 */
	ugdt[6] = (limit & 0xffff) | ((base & 0xffffff) << 16) | (0x89ULL << 40) |
		  (((limit >> 16) & 0xf) << 48) | (((base >> 24) & 0xff) << 56);
	ugdt[7] = base >> 32;
	memset(&tss, 0, sizeof(tss));
	tss.rsp[0] = (uint64_t)(kstack + sizeof(kstack));
	tss.iomap_base = sizeof(tss);	/* no I/O bitmap: IOPL decides */
	gp.limit = sizeof(ugdt) - 1;
	gp.base = (uint64_t)ugdt;
	asm volatile("lgdt %0\n\tltr %w1" : : "m"(gp), "r"(RT_USER_TSS) : "memory");
	/* `int 0x80` through a DPL-3 gate would be the classic way in, but
	 * this workplace's KVM answers `int n` from ring 3 with #UD (its
	 * instruction emulator), while exceptions from ring 3 are delivered
	 * normally: the syscall is a ud2 at rt_user_gate. */
	rt_irq_register(RT_USER_VECTOR, user_syscall);
}

int rt_user_map(uint64_t pa, uint64_t len)
{
	uint64_t first = pa >> 21, last = (pa + len - 1) >> 21;

	if (!len || pa + len > (4ULL << 30))
		return -1;
	for (uint64_t i = first; i <= last; i++) {
		rt_pd[i >> 9][i & 511] |= PTE_U;
		rt_pdpt[i >> 9] |= PTE_U;
	}
	rt_pml4[0] |= PTE_U;
	write_cr3((uint64_t)rt_pml4);
	return 0;
}

long rt_user_call(long (*fn)(void *), void *arg, void *stack_top)
{
	return rt_user_enter(fn, arg, (void *)((uint64_t)stack_top & ~15ULL));
}

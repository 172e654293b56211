/* AP start-up trampoline (Intel SDM Vol. 3 §8.4.4 / MP spec B.4). smp.c copies
 * rt_tramp_start..rt_tramp_end to RT_TRAMP_BASE (0x6000, SIPI vector 6) and
 * stores the AP's stack top at offset rt_tramp_stack_off. Real mode -> 32-bit
 * protected mode -> long mode on the runtime's page tables -> rt_ap_entry. */

#define TRAMP 0x6000

	.section .rodata
	.globl rt_tramp_start, rt_tramp_end, rt_tramp_stack_off
	.code16
rt_tramp_start:
	cli
	mov %cs, %ax
	mov %ax, %ds
	lgdtl tramp_gdtr - rt_tramp_start
	mov %cr0, %eax
	or $1, %eax
	mov %eax, %cr0
	ljmpl $0x18, $(TRAMP + tramp32 - rt_tramp_start)

	.code32
tramp32:
	mov $0x10, %eax
	mov %eax, %ds
	mov %eax, %es
	mov %eax, %ss
	mov %cr4, %eax
	or $0x20, %eax			/* PAE */
	mov %eax, %cr4
	mov $rt_pml4, %eax
	mov %eax, %cr3
	mov $0xc0000080, %ecx		/* EFER.LME */
	rdmsr
	or $0x100, %eax
	wrmsr
	mov %cr0, %eax
	or $0x80000000, %eax		/* PG */
	mov %eax, %cr0
	ljmp $0x08, $(TRAMP + tramp64 - rt_tramp_start)

	.code64
tramp64:
	mov $0x10, %eax
	mov %eax, %ds
	mov %eax, %es
	mov %eax, %ss
	mov %eax, %fs
	mov %eax, %gs
	mov (TRAMP + tramp_stack - rt_tramp_start), %rsp
	movabs $rt_ap_entry, %rax
	jmp *%rax

	.balign 8
tramp_gdt:				/* same selectors as the runtime GDT */
	.quad 0
	.quad 0x00af9a000000ffff	/* 0x08 64-bit code */
	.quad 0x00cf92000000ffff	/* 0x10 flat data */
	.quad 0x00cf9a000000ffff	/* 0x18 flat 32-bit code */
tramp_gdtr:
	.word 31
	.long TRAMP + tramp_gdt - rt_tramp_start
	.balign 8
tramp_stack:
	.quad 0
rt_tramp_end:
	.set rt_tramp_stack_off, tramp_stack - rt_tramp_start

	.section .note.GNU-stack, "", @progbits

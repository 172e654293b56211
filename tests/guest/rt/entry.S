/* Guest entry points. The image is linked at 0x100000 and its first bytes are
 * .text.head: offset 0x000 = Linux 32-bit boot protocol entry (esi = boot
 * params), offset 0x200 = Linux 64-bit boot protocol entry (rsi = boot params;
 * also the bzImage 64-bit entry), then the PVH entry (ebx = hvm_start_info).
 * The 32-bit paths print the banner, map 0-2 MiB and enter long mode; all
 * paths end in rt_start(proto, info) in boot.c. Also holds the ISR stubs. */

#define SEL_CODE64 0x08
#define SEL_DATA 0x10
#define SEL_CODE32 0x18
#define PROTO_64 0
#define PROTO_PVH 1
#define PROTO_32 2

	.section .text.head, "ax"
	.code32
	.globl rt_entry32
rt_entry32:			/* image + 0x000: Linux 32-bit protocol */
	cli
	mov %esi, %ebx
	mov $PROTO_32, %ebp
	jmp common32

	.globl rt_entry_pvh
rt_entry_pvh:			/* PVH: XEN_ELFNOTE_PHYS32_ENTRY points here */
	cli
	mov $PROTO_PVH, %ebp
	jmp common32

	.org 0x200
	.code64
	.globl rt_entry64
rt_entry64:			/* image + 0x200: Linux 64-bit protocol */
	cli
	mov $rt_boot_stack_top, %esp
	mov %rsi, %rbx
	call rt_banner
	call zero_bss
	mov $PROTO_64, %edi
	mov %rbx, %rsi
	call rt_start
1:	hlt
	jmp 1b

	.text
	.code32
/* Paging is off; segments are flat (PVH and boot.rst both promise it).
 * ebx = boot structure, ebp = protocol; both survive until rt_start. */
common32:
	mov $rt_boot_stack_top, %esp
	mov $rt_guest_name, %esi
	call puts32
	mov $banner_tail, %esi
	call puts32
	mov $__bss_start, %edi		/* rep stosl: bss is a multiple of 4 */
	mov $__bss_end, %ecx
	sub %edi, %ecx
	shr $2, %ecx
	xor %eax, %eax
	rep stosl
	lgdt rt_gdtr
	ljmp $SEL_CODE32, $1f
1:	mov $SEL_DATA, %eax
	mov %eax, %ds
	mov %eax, %es
	mov %eax, %ss
	mov %eax, %fs
	mov %eax, %gs
	/* Bootstrap map of 0-2 MiB (image, bss, stack) in the final tables;
	 * boot.c fills in the rest of 0-4 GiB once in 64-bit mode. */
	movl $(rt_pdpt + 3), rt_pml4
	movl $0, rt_pml4 + 4
	movl $(rt_pd + 3), rt_pdpt
	movl $0, rt_pdpt + 4
	movl $0x83, rt_pd
	movl $0, rt_pd + 4
	mov $rt_pml4, %eax
	mov %eax, %cr3
	mov %cr4, %eax
	or $0x20, %eax			/* CR4.PAE */
	mov %eax, %cr4
	mov $0xc0000080, %ecx		/* EFER.LME */
	rdmsr
	or $0x100, %eax
	wrmsr
	mov %cr0, %eax
	or $0x80000001, %eax		/* CR0.PG | CR0.PE */
	mov %eax, %cr0
	ljmp $SEL_CODE64, $common64

/* puts32: print the NUL-terminated string at esi on COM1, polling LSR.THRE. */
puts32:
	movzbl (%esi), %ecx
	test %ecx, %ecx
	jz 3f
	mov $0x3fd, %dx
2:	inb %dx, %al
	test $0x20, %al
	jz 2b
	mov $0x3f8, %dx
	mov %cl, %al
	outb %al, %dx
	inc %esi
	jmp puts32
3:	ret

	.code64
/* Clear .bss (page tables, handler table, counters) before any C runs; loaders
 * are not trusted to have done it. The stacks live in .bss.stack, outside. */
zero_bss:
	mov $__bss_start, %edi
	mov $__bss_end, %ecx
	sub %edi, %ecx
	shr $3, %ecx
	xor %eax, %eax
	rep stosq
	ret

common64:
	mov %ebx, %esi			/* info pointer, zero-extended */
	mov %ebp, %edi			/* protocol */
	call rt_start
1:	hlt
	jmp 1b

/* ISR stubs, 16 bytes apart: push a dummy error code where the CPU pushes
 * none (SDM Vol. 3 §6.13), push the vector, join rt_isr_common. */
	.balign 16
	.globl rt_isr_stubs
rt_isr_stubs:
	.set vec, 0
	.rept 256
	.balign 16
	.if (vec == 8) || ((vec >= 10) && (vec <= 14)) || (vec == 17) || (vec == 21) || (vec == 29) || (vec == 30)
	.else
	pushq $0
	.endif
	pushq $vec
	jmp rt_isr_common
	.set vec, vec + 1
	.endr

rt_isr_common:
	push %rax
	push %rcx
	push %rdx
	push %rsi
	push %rdi
	push %r8
	push %r9
	push %r10
	push %r11
	cld
	mov %rsp, %rdi
	call rt_trap
	pop %r11
	pop %r10
	pop %r9
	pop %r8
	pop %rdi
	pop %rsi
	pop %rdx
	pop %rcx
	pop %rax
	add $16, %rsp
	iretq

	.section .rodata
banner_tail:
	.asciz ": start\n"

	.section .note.GNU-stack, "", @progbits

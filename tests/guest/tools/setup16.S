/* Real-mode setup stub for hello.bzImage, for loaders that enter a bzImage
 * the classic way (QEMU: setup segment + 0x20 : 0, boot.rst "Running the
 * kernel"). Switches to 32-bit protected mode with flat __BOOT_CS 0x10 /
 * __BOOT_DS 0x18 and jumps to code32_start (0x100000) with esi = boot_params
 * (the setup segment base), as the 32-bit boot protocol specifies.
 * mkbzimage places it at setup offset 0x280, i.e. IP 0x80 in that segment.
 * 64-bit loaders (femtovm) never run it. */

#define IP0 0x80
#define AT(x) (IP0 + (x) - start)

	.text
	.code16
start:
	cli
	cld
	xorl %eax, %eax
	mov %ds, %ax
	shll $4, %eax
	movl %eax, %esi			/* boot_params */
	xorl %ebx, %ebx
	mov %cs, %bx
	shll $4, %ebx
	leal AT(gdt)(%ebx), %eax
	movl %eax, %cs:AT(gdtr) + 2
	lgdtl %cs:AT(gdtr)
	movl %cr0, %eax
	orl $1, %eax
	movl %eax, %cr0
	movw $0x18, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	movw %ax, %fs
	movw %ax, %gs
	xorl %ebp, %ebp
	xorl %edi, %edi
	xorl %ebx, %ebx
	ljmpl $0x10, $0x100000

	.balign 8
gdt:
	.quad 0
	.quad 0
	.quad 0x00cf9a000000ffff	/* 0x10 flat 32-bit code */
	.quad 0x00cf92000000ffff	/* 0x18 flat data */
gdtr:
	.word 31
	.long 0

	.section .note.GNU-stack, "", @progbits

/* Xen PVH ELF note: XEN_ELFNOTE_PHYS32_ENTRY (type 18, owner "Xen") with the
 * 32-bit physical entry address, as a 4-byte value like Linux emits it.
 * Linked only into the *-pvh.elf guests; the monitor and QEMU find it through
 * the PT_NOTE program header. */

	.section .note.Xen, "a", @note
	.balign 4
	.long 4				/* namesz: "Xen\0" */
	.long 4				/* descsz */
	.long 18			/* XEN_ELFNOTE_PHYS32_ENTRY */
	.asciz "Xen"
	.balign 4
	.long rt_entry_pvh

	.section .note.GNU-stack, "", @progbits

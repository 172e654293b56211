# Real-Linux guest: kernel, root filesystem and the demo that boots them.
# Included from the top Makefile. See resources/kernel-configs/README.md.
#   make guest-kernel   build/guest/vmlinux from Debian's linux-source-6.1
#                       (apt; cached; ~20-40 min on 2 cores the first time)
#   make guest-rootfs   build/guest/rootfs.ext4 (busybox, no mounts needed)
#   make linux-demo     boot them with femtovm (speed probe first: on a KVM
#                       that emulates ring-0 code it explains and exits 0)
.PHONY: guest-kernel guest-rootfs linux-demo

guest-kernel:
	scripts/guest-kernel.sh

guest-rootfs:
	scripts/guest-rootfs.sh

linux-demo: all
	scripts/linux-demo.sh

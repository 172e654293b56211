/* TAP device setup (Documentation/networking/tuntap.rst). */
#include "virtio/tap.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <linux/if_tun.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "vmm/log.h"

int tap_open(const char *name)
{
	struct ifreq ifr;
	int fd, hdr = TAP_VNET_HDR_LEN, e;

	if (strlen(name) >= IFNAMSIZ) {
		log_err("tap %s: name longer than %d characters", name, IFNAMSIZ - 1);
		return -EINVAL;
	}
	/* TUNSETIFF would create a missing interface: insist on an existing one. */
	if (!if_nametoindex(name)) {
		log_err("tap %s: cannot attach: no such interface in this network namespace "
			"(create it first, e.g. ip tuntap add dev %s mode tap)", name, name);
		return -ENODEV;
	}
	fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		e = errno;
		log_err("tap %s: /dev/net/tun: %s", name, strerror(e));
		return -e;
	}
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	memcpy(ifr.ifr_name, name, strlen(name));
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		e = errno;
		log_err("tap %s: cannot attach (does the interface exist in this network "
			"namespace, and is it a tap?): %s", name, strerror(e));
		goto err_close;
	}
	if (ioctl(fd, TUNSETVNETHDRSZ, &hdr) < 0) {
		e = errno;
		log_err("tap %s: TUNSETVNETHDRSZ: %s", name, strerror(e));
		goto err_close;
	}
	return fd;
err_close:
	close(fd);
	return -e;
}

int tap_set_offload(int fd, uint64_t f)
{
	unsigned off = 0;

	/* The tap may hand us partially checksummed / GSO frames only if the
	 * guest said it can take them (virtio 1.2 §5.1.6.4). */
	if (f & (1ULL << VIRTIO_NET_F_GUEST_CSUM)) {
		off |= TUN_F_CSUM;
		if (f & (1ULL << VIRTIO_NET_F_GUEST_TSO4))
			off |= TUN_F_TSO4;
		if (f & (1ULL << VIRTIO_NET_F_GUEST_TSO6))
			off |= TUN_F_TSO6;
		if (f & (1ULL << VIRTIO_NET_F_GUEST_ECN))
			off |= TUN_F_TSO_ECN;
		if (f & (1ULL << VIRTIO_NET_F_GUEST_UFO))
			off |= TUN_F_UFO;
	}
	if (ioctl(fd, TUNSETOFFLOAD, off) < 0) {
		int e = errno;

		log_err("TUNSETOFFLOAD 0x%x: %s", off, strerror(e));
		return -e;
	}
	return 0;
}

/*
 * femtovm-guest: the two things the guest rootfs needs that busybox lacks.
 *
 *   femtovm-guest boot-timer        write 123 to port 0x3f0 (femtovm's boot
 *                                   timer; /dev/port needs CONFIG_PCI here)
 *   femtovm-guest vsock-cid         print this guest's vsock CID
 *   femtovm-guest vsock-echo PORT   echo server on vsock PORT (one child per
 *                                   connection; runs until killed)
 *
 * Built static by scripts/guest-rootfs.sh: gcc -static -Os.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/io.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/vm_sockets.h>

static int boot_timer(void)
{
	if (ioperm(0x3f0, 1, 1)) {
		perror("femtovm-guest: ioperm(0x3f0)");
		return 1;
	}
	outb(123, 0x3f0);
	return 0;
}

static int vsock_cid(void)
{
	unsigned int cid = 0;
	int fd = open("/dev/vsock", O_RDONLY);

	if (fd < 0 || ioctl(fd, IOCTL_VM_SOCKETS_GET_LOCAL_CID, &cid)) {
		perror("femtovm-guest: /dev/vsock");
		return 1;
	}
	printf("%u\n", cid);
	return 0;
}

static void echo_conn(int c)
{
	char buf[4096];
	ssize_t n;

	while ((n = read(c, buf, sizeof(buf))) > 0 || (n < 0 && errno == EINTR)) {
		for (ssize_t off = 0; n > 0 && off < n;) {
			ssize_t w = write(c, buf + off, (size_t)(n - off));

			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				return;
			off += w;
		}
	}
}

static int vsock_echo(const char *port_s)
{
	struct sockaddr_vm a = { .svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_ANY };
	char *end;
	unsigned long port = strtoul(port_s, &end, 10);
	int s;

	if (*port_s == '\0' || *end != '\0' || port > 0xffffffffUL) {
		fprintf(stderr, "femtovm-guest: bad port %s\n", port_s);
		return 2;
	}
	a.svm_port = (unsigned int)port;
	signal(SIGCHLD, SIG_IGN); /* no zombies */
	s = socket(AF_VSOCK, SOCK_STREAM, 0);
	if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) || listen(s, 16)) {
		perror("femtovm-guest: vsock listen");
		return 1;
	}
	for (;;) {
		int c = accept(s, NULL, NULL);

		if (c < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			perror("femtovm-guest: accept");
			return 1;
		}
		if (fork() == 0) {
			close(s);
			echo_conn(c);
			_exit(0);
		}
		close(c);
	}
}

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "boot-timer"))
		return boot_timer();
	if (argc == 2 && !strcmp(argv[1], "vsock-cid"))
		return vsock_cid();
	if (argc == 3 && !strcmp(argv[1], "vsock-echo"))
		return vsock_echo(argv[2]);
	fprintf(stderr, "usage: femtovm-guest boot-timer | vsock-cid | vsock-echo PORT\n");
	return 2;
}

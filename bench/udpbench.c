/*
 * udpbench: the host side of the network benchmark.
 *
 *   udpbench sink -p PORT [-b ADDR] [-t MS] [-i IDLE_MS]
 *       count datagrams to PORT from the first one for MS ms (default
 *       5000) or until IDLE_MS (default 1000) of silence; prints
 *       "udpsink: pkts=<n> bytes=<payload bytes> ms=<first..last> pps=<..> mbps=<..>"
 *   udpbench flood -d IP:PORT [-s SIZE] [-t MS]
 *       send SIZE-byte datagrams (default 1400) as fast as the socket takes
 *       them for MS ms; prints "udpflood: pkts=<sent> bytes=.. ms=.. pps=.. mbps=.. errors=<n>"
 *   udpbench rtt -d IP:PORT [-s SIZE] [-n N] [-w WARMUP]
 *       N request/response round trips, one at a time (100 ms timeout
 *       each); prints "udp_rtt_us median=.. p10=.. p90=.. p99=.. min=.. max=.. n=.."
 *       and "udp_rtt_lost value=<n> n=<N>"
 *   udpbench quit -d IP:PORT
 *       three "quit" datagrams (ends the netbench guest's echo phase)
 *   mbps = 10^6 bits/s of UDP payload.
 */
#include "benchlib.h"

#include <arpa/inet.h>
#include <netinet/in.h>

static int parse_addr(const char *s, struct sockaddr_in *a)
{
	char host[64];
	const char *c = strrchr(s, ':');

	if (!c || (size_t)(c - s) >= sizeof(host))
		return -1;
	memcpy(host, s, (size_t)(c - s));
	host[c - s] = 0;
	memset(a, 0, sizeof(*a));
	a->sin_family = AF_INET;
	a->sin_port = htons((uint16_t)atoi(c + 1));
	return inet_pton(AF_INET, host, &a->sin_addr) == 1 ? 0 : -1;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "", *dst = NULL, *bind_ip = "0.0.0.0";
	long port = 9000, ms = 5000, idle = 1000, size = 1400, n = 1000, warm = 50;
	struct sockaddr_in a;
	int opt, fd, rcv = 8 << 20;
	static char buf[65536];

	optind = 2;
	while ((opt = getopt(argc, argv, "p:b:t:i:d:s:n:w:")) != -1) {
		switch (opt) {
		case 'p': port = atol(optarg); break;
		case 'b': bind_ip = optarg; break;
		case 't': ms = atol(optarg); break;
		case 'i': idle = atol(optarg); break;
		case 'd': dst = optarg; break;
		case 's': size = atol(optarg); break;
		case 'n': n = atol(optarg); break;
		case 'w': warm = atol(optarg); break;
		default: return 2;
		}
	}
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 1;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
	if (!strcmp(cmd, "sink")) {
		unsigned long long pkts = 0, bytes = 0;
		double first = 0, last = 0;

		memset(&a, 0, sizeof(a));
		a.sin_family = AF_INET;
		a.sin_port = htons((uint16_t)port);
		inet_pton(AF_INET, bind_ip, &a.sin_addr);
		if (bind(fd, (struct sockaddr *)&a, sizeof(a))) {
			perror("bind");
			return 1;
		}
		printf("udpsink: listening on %s:%ld\n", bind_ip, port);
		fflush(stdout);
		for (;;) {
			struct pollfd p = { .fd = fd, .events = POLLIN };
			int wait = pkts ? (int)idle : 600000;

			if (pkts && now_us() - first >= ms * 1000.0)
				break;
			if (poll(&p, 1, wait) <= 0)
				break;
			ssize_t r = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
			if (r < 0)
				continue;
			last = now_us();
			if (!pkts)
				first = last;
			pkts++;
			bytes += (unsigned long long)r;
		}
		double t = pkts > 1 ? last - first : 1;
		printf("udpsink: pkts=%llu bytes=%llu ms=%.0f pps=%.0f mbps=%.1f\n", pkts, bytes,
		       t / 1000, pkts * 1e6 / t, bytes * 8.0 / t);
		return 0;
	}
	if (!dst || parse_addr(dst, &a) || size < 1 || size > 65000) {
		fprintf(stderr, "udpbench: need -d IP:PORT\n");
		return 2;
	}
	if (connect(fd, (struct sockaddr *)&a, sizeof(a))) {
		perror("connect");
		return 1;
	}
	memset(buf, 'x', (size_t)size);
	if (!strcmp(cmd, "flood")) {
		unsigned long long pkts = 0, errs = 0;
		double t0 = now_us(), t;

		do {
			for (int i = 0; i < 64; i++) {
				if (send(fd, buf, (size_t)size, 0) == size)
					pkts++;
				else
					errs++;
			}
			t = now_us() - t0;
		} while (t < ms * 1000.0);
		printf("udpflood: pkts=%llu bytes=%llu ms=%.0f pps=%.0f mbps=%.1f errors=%llu\n",
		       pkts, pkts * (unsigned long long)size, t / 1000, pkts * 1e6 / t,
		       pkts * size * 8.0 / t, errs);
		return 0;
	}
	if (!strcmp(cmd, "quit")) {
		for (int i = 0; i < 3; i++)
			if (send(fd, "quit", 4, 0) != 4)
				return 1;
		return 0;
	}
	if (!strcmp(cmd, "rtt")) {
		double *v = calloc((size_t)n, sizeof(double));
		long got = 0, lost = 0;

		for (long i = -warm; i < n; i++) {
			struct pollfd p = { .fd = fd, .events = POLLIN };
			double t0;

			memcpy(buf, &i, sizeof(i));
			t0 = now_us();
			if (send(fd, buf, (size_t)size, 0) != size) {
				lost += i >= 0;
				continue;
			}
			for (;;) {
				if (poll(&p, 1, 100) <= 0) {
					lost += i >= 0;
					break;
				}
				long j;
				ssize_t r = recv(fd, buf + 32768, 32768, 0);

				if (r < (ssize_t)sizeof(j))
					continue;
				memcpy(&j, buf + 32768, sizeof(j));
				if (j != i)
					continue;	/* a late answer to an earlier one */
				if (i >= 0)
					v[got++] = now_us() - t0;
				break;
			}
		}
		report("udp_rtt_us", v, (int)got);
		report_value("udp_rtt_lost", (double)lost, (int)n);
		return 0;
	}
	fprintf(stderr, "usage: udpbench sink|flood|rtt ...\n");
	return 2;
}

/* A virtio-vsock driver (virtio 1.2 §5.10 over §4.2 virtio-mmio, §2.7
 * split rings) with stream sockets and credit-based flow control, as a
 * test peer for femtovm's hybrid Unix-socket host side. Shared by the
 * vsock and snap guests; one device per guest (module state).
 *   server: listens on one port and echoes every byte back on the same
 *           connection (buffered up to 64 KiB); when the host stops
 *           sending (SHUTDOWN) and all is echoed, it shuts down too.
 *   client: vsk_connect() connects to CID 2 <port>, sends <bytes> bytes of
 *           a pattern, shuts down its sending side and checks the echo.
 *   events: VIRTIO_VSOCK_EVENT_TRANSPORT_RESET drops every connection and
 *           re-reads the guest CID (§5.10.6.7).
 * Queues: rx 0 kept full of 4 KiB device-writable buffers, tx 1 one
 * readable buffer per packet (header + payload), event 2 four 8-byte
 * buffers. Lines, each starting with the caller's prefix:
 * "<prefix> connect <port> ok bytes=<n>", "... refused", "... FAIL rx=..",
 * "<prefix> transport reset", "<prefix> FAIL ...", "<prefix> stats ...". */
#ifndef VSK_H
#define VSK_H

#include "vdrv.h"

#define VSK_MAX_CONNS 128

struct vsk_stats {
	uint32_t accepted, refused_in, closed, rx_pkts, tx_pkts, resets, bad;
	uint64_t rx_bytes, tx_bytes;
	uint32_t transport_resets;	/* TRANSPORT_RESET events handled */
	uint32_t dropped;		/* connections they dropped, in all */
};

extern struct vsk_stats vsk_st;

/* Bytes of buffer memory vsk_setup needs at buf_base for nconn
 * connections (packet buffers and one 64 KiB receive ring each). */
uint64_t vsk_mem(unsigned nconn);

/* Probes and negotiates dev (VERSION_1, EVENT_IDX unless the flag
 * vsock.noevent), sets up the three queues with buffers at buf_base and
 * sets DRIVER_OK. Up to nconn (≤ VSK_MAX_CONNS) connections; the server
 * accepts on listen_port (0: none). 0, or -1 after printing why. */
int vsk_setup(struct vd *dev, uint64_t buf_base, unsigned nconn, uint32_t listen_port,
	      const char *prefix);
uint64_t vsk_cid(void);

/* Starts a client connection from local port lport to host port port. */
void vsk_connect(uint32_t port, uint32_t bytes, uint32_t lport);
bool vsk_clients_busy(void);
/* Connections not closed. */
unsigned vsk_open_conns(void);

/* Received packets, events, then data out on every connection. True when
 * anything happened (call again before sleeping). */
bool vsk_poll(void);
/* A protocol error, or the device asked for a reset. */
bool vsk_failed(void);
/* With interrupts off: asks for interrupts on rx and event queues; true
 * when nothing is pending, so the caller may hlt. */
bool vsk_idle_ok(void);

void vsk_print_stats(void);

#endif

/* vsock: a virtio-vsock driver (virtio 1.2 §5.10 over §4.2 virtio-mmio,
 * §2.7 split rings) with stream sockets and credit-based flow control, as
 * a test peer for femtovm's hybrid Unix-socket host side.
 *   server: listens on vsock.listen=<port> (default 5000) and echoes every
 *           byte back on the same connection (up to 128 at once); when the
 *           host stops sending (SHUTDOWN) and all is echoed, it shuts down.
 *   client: vsock.connect=<port> connects to CID 2 <port>, sends
 *           vsock.bytes=<n> bytes of a pattern, shuts down its sending
 *           side and checks that the host echoes exactly those bytes;
 *           vsock.refuse=<port> expects the connection to be refused (RST).
 * The driver itself is ../vsk.c (shared with the snap guest); this file
 * is the command line and the main loop. Interrupts through the IOAPIC;
 * the CPU sleeps in hlt when idle.
 * Lines (README.md): "vsock: ready cid=<cid> listen=<port>",
 * "vsock: connect <port> ok bytes=<n>", "vsock: connect <port> refused",
 * "vsock: stats ...", "vsock: transport reset", "vsock: FAIL ...". */
#include <linux/virtio_ids.h>

#include "io.h"
#include "rt.h"
#include "../vdrv.h"
#include "../vsk.h"

const char rt_guest_name[] = "vsock";

/* Buffers live at 16 MiB (outside the image, as the net guest does). */
#define BUF_BASE 0x1000000UL
#define MEM_NEEDED (BUF_BASE + vsk_mem(VSK_MAX_CONNS))

void guest_main(const struct boot_info *bi)
{
	uint32_t run_ticks = (uint32_t)(rt_cmdline_u64("vsock.run_ms", 0) / RT_TICK_MS);
	uint32_t stats_ticks = (uint32_t)(rt_cmdline_u64("vsock.stats_ms", 1000) / RT_TICK_MS);
	uint32_t cport = (uint32_t)rt_cmdline_u64("vsock.connect", 0);
	uint32_t rport = (uint32_t)rt_cmdline_u64("vsock.refuse", 0);
	uint32_t listen_port = (uint32_t)rt_cmdline_u64("vsock.listen", 5000);
	bool quit_after = rt_cmdline_has("vsock.quit");
	struct vd *dev = NULL;

	rt_printf("vsock: cmdline=%s\n", bi->cmdline);
	if (bi->ram_top < MEM_NEEDED) {
		rt_printf("vsock: FAIL needs %lu MiB of RAM\n", (MEM_NEEDED >> 20) + 1);
		guest_reset();
	}
	rt_pit_start();
	int ndev = vd_discover();
	for (int i = 0; i < ndev && !dev; i++)
		if (vd_rd(&vd_devs[i], VIRTIO_MMIO_DEVICE_ID) == VIRTIO_ID_VSOCK)
			dev = &vd_devs[i];
	if (!dev) {
		rt_printf("vsock: FAIL no virtio-vsock device among %d\n", ndev);
		guest_reset();
	}
	if (vsk_setup(dev, BUF_BASE, VSK_MAX_CONNS, listen_port, "vsock:")) {
		rt_printf("vsock: FAIL\n");
		vd_set_status(dev, 0);
		guest_reset();
	}
	rt_printf("vsock: ready cid=%lu listen=%u\n", vsk_cid(), listen_port);
	if (rport)
		vsk_connect(rport, 0, 40000);
	if (cport)
		vsk_connect(cport, (uint32_t)rt_cmdline_u64("vsock.bytes", 4096), 40001);

	uint32_t t0 = rt_ticks, next_stats = t0 + stats_ticks, printed = 0;
	for (;;) {
		bool busy = vsk_poll();
		uint32_t now = rt_ticks;

		if (vsk_failed()) {
			rt_printf("vsock: FAIL device needs reset or protocol error\n");
			break;
		}
		if (run_ticks && (uint32_t)(now - t0) >= run_ticks)
			break;
		if (quit_after && (rport || cport) && !vsk_clients_busy())
			break;
		if (stats_ticks && (int32_t)(now - next_stats) >= 0) {
			next_stats = now + stats_ticks;
			if (vsk_st.rx_pkts != printed) {
				printed = vsk_st.rx_pkts;
				vsk_print_stats();
			}
		}
		if (busy)
			continue;
		cpu_cli();
		if (vsk_idle_ok())
			rt_idle();
		cpu_sti();
	}
	cpu_cli();
	vsk_print_stats();
	rt_printf("vsock: irqs=%u\n", dev->irqs);
	vd_set_status(dev, 0);
	rt_pit_stop();
	rt_printf("vsock: done\n");
	guest_reset();
}

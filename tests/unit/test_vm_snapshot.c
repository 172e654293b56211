/* Unit tests for the pure snapshot pieces of the monitor: serial and i8042
 * save/restore round trips (FIFOs linearised from their head) and their
 * rejection of impossible state, and the CONFIG section's machine-config
 * JSON round trip and validation. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "vmm/i8042.h"
#include "vmm/serial.h"
#include "api/routes.h"
#include "vmm/vm.h"

_Static_assert(sizeof(struct serial_state) == 10 + SERIAL_RX_FIFO, "serial_state is packed");
_Static_assert(sizeof(struct i8042_state) == 3 + I8042_BUF, "i8042_state is packed");

Test(vm_snapshot, serial_round_trip_linearises_fifo)
{
	struct serial a, b;
	struct serial_state st;
	char err[160];

	serial_init(&a, -1, NULL);
	serial_init(&b, -1, NULL);
	a.ier = 0x3;
	a.lcr = 0x83;
	a.scr = 0x5a;
	a.dll = 1;
	a.thr_ipending = 1;
	a.rx_head = SERIAL_RX_FIFO - 2; /* wraps */
	a.rx_count = 4;
	for (unsigned i = 0; i < 4; i++)
		a.rx[(a.rx_head + i) % SERIAL_RX_FIFO] = (uint8_t)('a' + i);
	serial_save(&a, &st);
	cr_assert_eq(st.rx_count, 4);
	cr_assert_eq(memcmp(st.rx, "abcd", 4), 0);
	cr_assert_eq(serial_restore(&b, &st, err, sizeof(err)), 0);
	cr_assert_eq(b.ier, 0x3);
	cr_assert_eq(b.lcr, 0x83);
	cr_assert_eq(b.scr, 0x5a);
	cr_assert_eq(b.dll, 1);
	cr_assert_eq(b.thr_ipending, 1);
	cr_assert_eq(b.rx_head, 0);
	cr_assert_eq(b.rx_count, 4);
	cr_assert_eq(memcmp(b.rx, "abcd", 4), 0);
	serial_destroy(&a);
	serial_destroy(&b);
}

Test(vm_snapshot, serial_restore_rejects_impossible)
{
	struct serial s;
	struct serial_state st = { 0 };
	char err[160];

	serial_init(&s, -1, NULL);
	st.rx_count = SERIAL_RX_FIFO + 1;
	cr_assert_eq(serial_restore(&s, &st, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "FIFO"), "%s", err);
	cr_assert_eq(s.rx_count, 0);
	st.rx_count = 0;
	st.ier = 0xf0;
	cr_assert_eq(serial_restore(&s, &st, err, sizeof(err)), -EINVAL);
	cr_assert_eq(s.ier, 0);
	serial_destroy(&s);
}

Test(vm_snapshot, i8042_round_trip_and_rejects)
{
	struct i8042 a, b;
	struct i8042_state st;
	char err[160];

	i8042_init(&a, NULL, NULL, NULL);
	i8042_init(&b, NULL, NULL, NULL);
	a.ctr = 0x45;
	a.pending_cmd = 0x60;
	a.head = I8042_BUF - 1;
	a.count = 2;
	a.buf[I8042_BUF - 1] = 0x11;
	a.buf[0] = 0x22;
	i8042_save(&a, &st);
	cr_assert_eq(i8042_restore(&b, &st, err, sizeof(err)), 0);
	cr_assert_eq(b.ctr, 0x45);
	cr_assert_eq(b.pending_cmd, 0x60);
	cr_assert_eq(b.head, 0);
	cr_assert_eq(b.count, 2);
	cr_assert_eq(b.buf[0], 0x11);
	cr_assert_eq(b.buf[1], 0x22);
	st.count = I8042_BUF + 1;
	cr_assert_eq(i8042_restore(&b, &st, err, sizeof(err)), -EINVAL);
	st.count = 0;
	st.pending_cmd = 0xaa;
	cr_assert_eq(i8042_restore(&b, &st, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "pending command"), "%s", err);
	i8042_destroy(&a);
	i8042_destroy(&b);
}

Test(vm_snapshot, config_json_round_trip)
{
	struct vm_config in, out;
	char err[160];
	char *s;

	config_defaults(&in);
	in.has_boot_source = true;
	in.boot.kernel_image_path = strdup("/k");
	in.machine = (struct machine_config){ .vcpu_count = 2, .mem_size_mib = 256, .smt = true,
					      .track_dirty_pages = true };
	in.ndrives = 1;
	in.drives[0] = (struct drive_config){ .drive_id = strdup("root"),
					      .path_on_host = strdup("/disk"),
					      .is_root_device = true, .is_read_only = true };
	in.nnets = 1;
	in.nets[0] = (struct net_config){ .iface_id = strdup("eth0"),
					  .host_dev_name = strdup("tap7"),
					  .guest_mac = strdup("06:00:00:00:00:01") };
	in.vsock = (struct vsock_config){ .present = true, .guest_cid = 3,
					  .uds_path = strdup("/v.sock") };
	s = api_vm_config_json(&in);
	cr_assert_not_null(s);
	cr_assert_eq(vm_snapshot_parse_config(s, (uint32_t)strlen(s), &out, err, sizeof(err)), 0,
		     "%s", err);
	cr_assert_eq(out.machine.vcpu_count, 2);
	cr_assert_eq(out.machine.mem_size_mib, 256);
	cr_assert(out.machine.smt);
	cr_assert(out.machine.track_dirty_pages);
	cr_assert_eq(out.ndrives, 1);
	cr_assert_str_eq(out.drives[0].path_on_host, "/disk");
	cr_assert(out.drives[0].is_read_only);
	cr_assert_eq(out.nnets, 1);
	cr_assert_str_eq(out.nets[0].host_dev_name, "tap7");
	cr_assert_str_eq(out.nets[0].guest_mac, "06:00:00:00:00:01");
	cr_assert(out.vsock.present);
	cr_assert_eq(out.vsock.guest_cid, 3);
	cr_assert_str_eq(out.vsock.uds_path, "/v.sock");
	free(s);
	config_free(&in);
	config_free(&out);
}

Test(vm_snapshot, config_rejects_bad)
{
	struct vm_config cfg;
	char err[160];
	static const char *const bad[] = {
		"[]", "{",
		"{\"boot-source\":{\"kernel_image_path\":\"/k\"},"
		"\"machine-config\":{\"vcpu_count\":0,\"mem_size_mib\":128}}",
		"{\"machine-config\":{\"vcpu_count\":1,\"mem_size_mib\":128}}",
		"{\"boot-source\":{\"kernel_image_path\":\"/k\"},\"x\":1}",
		"{\"boot-source\":{\"kernel_image_path\":\"/k\"},"
		"\"drives\":[{\"drive_id\":\"a\"}]}",
	};

	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(vm_snapshot_parse_config(bad[i], (uint32_t)strlen(bad[i]), &cfg, err,
						      sizeof(err)), -EINVAL, "%s", bad[i]);
		cr_assert(strstr(err, "snapshot CONFIG section: "), "%s", err);
	}
}

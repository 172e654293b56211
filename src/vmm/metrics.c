/* Metrics snapshot as a JSON line: what FlushMetrics writes. */
#include "vmm/metrics.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "vmm/controller.h"
#include "vmm/log.h"

static void add_u64(cJSON *o, const char *k, uint64_t v)
{
	cJSON_AddNumberToObject(o, k, (double)v);
}

static cJSON *vcpu_metrics(const struct vm *vm)
{
	struct exit_stats sum = { 0 };
	cJSON *o = cJSON_CreateObject();

	for (unsigned i = 0; vm && i < vm->nvcpus; i++) {
		const struct exit_stats *s = &vm->vcpus[i].stats;

		sum.pio += s->pio;
		sum.mmio += s->mmio;
		sum.unmapped_pio += s->unmapped_pio;
		sum.unmapped_mmio += s->unmapped_mmio;
		sum.other += s->other;
	}
	add_u64(o, "exit_io_in_out", sum.pio);
	add_u64(o, "exit_mmio", sum.mmio);
	add_u64(o, "exit_io_unmapped", sum.unmapped_pio);
	add_u64(o, "exit_mmio_unmapped", sum.unmapped_mmio);
	add_u64(o, "exit_other", sum.other);
	return o;
}

static cJSON *block_metrics(const struct vm *vm)
{
	cJSON *arr = cJSON_CreateArray();

	for (unsigned i = 0; vm && i < vm->cfg->ndrives; i++) {
		const struct vblk_stats *s = &vm->blks[i].stats;
		cJSON *o = cJSON_CreateObject();

		cJSON_AddStringToObject(o, "drive_id", vm->blks[i].id);
		add_u64(o, "read_bytes", s->read_bytes);
		add_u64(o, "write_bytes", s->write_bytes);
		add_u64(o, "read_count", s->reads);
		add_u64(o, "write_count", s->writes);
		add_u64(o, "flush_count", s->flushes);
		add_u64(o, "errors", s->errors);
		add_u64(o, "rate_limiter_throttled", s->throttled);
		cJSON_AddItemToArray(arr, o);
	}
	return arr;
}

static cJSON *net_metrics(const struct vm *vm)
{
	cJSON *arr = cJSON_CreateArray();

	for (unsigned i = 0; vm && i < vm->cfg->nnets; i++) {
		const struct vnet_stats *s = &vm->nets[i].stats;
		cJSON *o = cJSON_CreateObject();

		cJSON_AddStringToObject(o, "iface_id", vm->nets[i].id);
		add_u64(o, "rx_bytes_count", s->rx_bytes);
		add_u64(o, "rx_packets_count", s->rx_packets);
		add_u64(o, "rx_dropped", s->rx_dropped);
		add_u64(o, "rx_rate_limiter_throttled", s->rx_throttled);
		add_u64(o, "tx_bytes_count", s->tx_bytes);
		add_u64(o, "tx_packets_count", s->tx_packets);
		add_u64(o, "tx_dropped", s->tx_dropped);
		add_u64(o, "tx_malformed", s->tx_malformed);
		add_u64(o, "tx_rate_limiter_throttled", s->tx_throttled);
		cJSON_AddItemToArray(arr, o);
	}
	return arr;
}

/* Firecracker's names where it has one (rx = to the guest). */
static cJSON *vsock_metrics(const struct vm *vm)
{
	const struct vsock_stats *s;
	cJSON *o;

	if (!vm || !vm->vsock)
		return cJSON_CreateObject();
	s = &vm->vsock->stats;
	o = cJSON_CreateObject();
	add_u64(o, "conns_added", s->conns_host + s->conns_guest);
	add_u64(o, "conns_host", s->conns_host);
	add_u64(o, "conns_guest", s->conns_guest);
	add_u64(o, "conns_refused", s->conns_refused);
	add_u64(o, "conns_active", s->conns_active);
	add_u64(o, "rx_bytes_count", s->rx_bytes);
	add_u64(o, "rx_packets_count", s->rx_packets);
	add_u64(o, "tx_bytes_count", s->tx_bytes);
	add_u64(o, "tx_packets_count", s->tx_packets);
	add_u64(o, "tx_malformed", s->tx_malformed);
	add_u64(o, "rx_dropped", s->rx_dropped);
	add_u64(o, "rst_sent", s->rst_sent);
	add_u64(o, "rst_received", s->rst_received);
	add_u64(o, "credit_violations", s->credit_violations);
	add_u64(o, "timeouts", s->timeouts);
	add_u64(o, "bad_connect_lines", s->bad_connect_lines);
	add_u64(o, "host_errors", s->host_errors);
	return o;
}

char *metrics_json(const struct controller *c)
{
	cJSON *o = cJSON_CreateObject(), *api = cJSON_CreateObject(), *ser = cJSON_CreateObject();
	const struct vm *vm = c->vm;
	struct timespec ts;
	char *s;

	clock_gettime(CLOCK_REALTIME, &ts);
	add_u64(o, "utc_timestamp_ms", (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000);
	add_u64(api, "requests", c->api_requests);
	add_u64(api, "errors", c->api_errors);
	cJSON_AddItemToObject(o, "api_server", api);
	cJSON_AddItemToObject(o, "vcpu", vcpu_metrics(vm));
	add_u64(ser, "tx_bytes", vm ? vm->serial.tx_bytes : 0);
	add_u64(ser, "rx_bytes", vm ? vm->serial.rx_bytes : 0);
	cJSON_AddItemToObject(o, "uart", ser);
	cJSON_AddItemToObject(o, "block", block_metrics(vm));
	cJSON_AddItemToObject(o, "net", net_metrics(vm));
	cJSON_AddItemToObject(o, "vsock", vsock_metrics(vm));
	add_u64(o, "guest_boot_time_us", vm ? vm->boot_timer.fired_us : 0);
	s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return s;
}

int metrics_flush(const struct controller *c, int fd, char *err, size_t errlen)
{
	char *s = metrics_json(c);
	size_t n;
	int ret = 0;

	if (!s) {
		snprintf(err, errlen, "FlushMetrics: out of memory");
		return -ENOMEM;
	}
	n = strlen(s);
	s[n] = '\n'; /* replaces the NUL; length is tracked */
	if (write(fd, s, n + 1) != (ssize_t)(n + 1)) {
		ret = -errno;
		snprintf(err, errlen, "FlushMetrics: cannot write the metrics file: %s",
			 strerror(errno));
	}
	free(s);
	return ret;
}

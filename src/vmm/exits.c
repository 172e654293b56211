/* KVM exit dispatch: port I/O and MMIO go to the buses, everything else is
 * mapped to continue / clean stop / guest fault. No KVM calls here. */
#include "vmm/exits.h"

#include <inttypes.h>
#include <string.h>

#include "vmm/log.h"

static enum exit_action do_pio(struct kvm_run *run, size_t run_size,
			       const struct bus *pio, struct exit_stats *st)
{
	uint32_t size = run->io.size, count = run->io.count;
	uint64_t off = run->io.data_offset;
	uint8_t *data;

	if ((size != 1 && size != 2 && size != 4) || count == 0 ||
	    off > run_size || (uint64_t)size * count > run_size - off) {
		log_ratelimited(LOG_ERROR, "bad PIO exit: port 0x%x size %u count %u",
				run->io.port, size, count);
		return EXIT_ACT_GUEST_FAULT;
	}
	data = (uint8_t *)run + off;
	for (uint32_t i = 0; i < count; i++, data += size) {
		int ret;

		if (run->io.direction == KVM_EXIT_IO_OUT)
			ret = bus_write(pio, run->io.port, data, size);
		else
			ret = bus_read(pio, run->io.port, data, size);
		if (ret && st)
			st->unmapped_pio++;
		if (ret)
			log_ratelimited(LOG_WARN, "guest %s unmapped port 0x%x (size %u)",
					run->io.direction == KVM_EXIT_IO_OUT ? "wrote" : "read",
					run->io.port, size);
	}
	return EXIT_ACT_CONTINUE;
}

static enum exit_action do_mmio(struct kvm_run *run, const struct bus *mmio,
				struct exit_stats *st)
{
	uint32_t len = run->mmio.len;
	int ret;

	if (len == 0 || len > sizeof(run->mmio.data)) {
		log_ratelimited(LOG_ERROR, "bad MMIO exit: len %u", len);
		return EXIT_ACT_GUEST_FAULT;
	}
	if (run->mmio.is_write)
		ret = bus_write(mmio, run->mmio.phys_addr, run->mmio.data, len);
	else
		ret = bus_read(mmio, run->mmio.phys_addr, run->mmio.data, len);
	if (ret) {
		if (st)
			st->unmapped_mmio++;
		log_ratelimited(LOG_WARN, "guest %s unmapped address 0x%" PRIx64 " (len %u)",
				run->mmio.is_write ? "wrote" : "read",
				(uint64_t)run->mmio.phys_addr, len);
	}
	return EXIT_ACT_CONTINUE;
}

enum exit_action exit_dispatch(struct kvm_run *run, size_t run_size,
			       const struct bus *pio, const struct bus *mmio,
			       struct exit_stats *st)
{
	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		if (st)
			st->pio++;
		return do_pio(run, run_size, pio, st);
	case KVM_EXIT_MMIO:
		if (st)
			st->mmio++;
		return do_mmio(run, mmio, st);
	case KVM_EXIT_INTR:
		/* A signal kicked us out (pause/stop); the caller checks why. */
		return EXIT_ACT_CONTINUE;
	case KVM_EXIT_HLT:
		/* Only without an in-kernel LAPIC; treat like a power-off. */
		return EXIT_ACT_STOP;
	case KVM_EXIT_SYSTEM_EVENT:
		if (run->system_event.type == KVM_SYSTEM_EVENT_SHUTDOWN ||
		    run->system_event.type == KVM_SYSTEM_EVENT_RESET)
			return EXIT_ACT_STOP;
		return EXIT_ACT_GUEST_FAULT;
	default:
		if (st)
			st->other++;
		return EXIT_ACT_GUEST_FAULT;
	}
}

const char *exit_reason_name(uint32_t reason)
{
	switch (reason) {
	case KVM_EXIT_UNKNOWN: return "unknown";
	case KVM_EXIT_EXCEPTION: return "exception";
	case KVM_EXIT_IO: return "io";
	case KVM_EXIT_HLT: return "hlt";
	case KVM_EXIT_MMIO: return "mmio";
	case KVM_EXIT_SHUTDOWN: return "shutdown (triple fault)";
	case KVM_EXIT_FAIL_ENTRY: return "fail_entry";
	case KVM_EXIT_INTR: return "intr";
	case KVM_EXIT_INTERNAL_ERROR: return "internal_error";
	case KVM_EXIT_SYSTEM_EVENT: return "system_event";
	default: return "other";
	}
}

/* Sections holding one KVM structure as-is: the irqchips (PIC master/slave,
 * IOAPIC; KVM_GET_IRQCHIP), the PIT (KVM_GET_PIT2) and kvmclock
 * (KVM_GET_CLOCK). Decoders insist on the exact size and on fields the
 * kernel defines as zero or as known flag bits. */
#include <errno.h>
#include <string.h>

#include "snapshot/internal.h"
#include "snapshot/sections.h"

static const char *const chip_names[] = { "PIC master", "PIC slave", "IOAPIC" };

static uint32_t chip_section(uint32_t chip_id)
{
	switch (chip_id) {
	case KVM_IRQCHIP_PIC_MASTER: return SNAP_SEC_IRQCHIP_PIC_MASTER;
	case KVM_IRQCHIP_PIC_SLAVE: return SNAP_SEC_IRQCHIP_PIC_SLAVE;
	case KVM_IRQCHIP_IOAPIC: return SNAP_SEC_IOAPIC;
	}
	return 0;
}

static int exact(uint32_t len, size_t want, const char *what, char *err, size_t errlen)
{
	if (len < want)
		return snap_errf(-EINVAL, err, errlen, "truncated %s (%u of %zu bytes)", what, len,
				 want);
	if (len > want)
		return snap_errf(-EINVAL, err, errlen, "%zu trailing bytes in %s", len - want,
				 what);
	return 0;
}

int snap_encode_irqchip(struct snap_writer *w, const struct kvm_irqchip *chip)
{
	uint32_t id = chip_section(chip->chip_id);

	if (!id && !w->error)
		w->error = snap_errf(-EINVAL, w->err, sizeof(w->err), "unknown irqchip id %u",
				     chip->chip_id);
	if (w->error)
		return w->error;
	return snap_put_section(w, id, 0, 1, chip, sizeof(*chip));
}

int snap_decode_irqchip(const void *payload, uint32_t len, uint32_t chip_id,
			struct kvm_irqchip *chip, char *err, size_t errlen)
{
	int ret;

	if (!chip_section(chip_id))
		return snap_errf(-EINVAL, err, errlen, "unknown irqchip id %u", chip_id);
	ret = exact(len, sizeof(*chip), chip_names[chip_id], err, errlen);
	if (ret)
		return ret;
	memcpy(chip, payload, sizeof(*chip));
	if (chip->chip_id != chip_id)
		return snap_errf(-EINVAL, err, errlen, "%s section holds irqchip id %u",
				 chip_names[chip_id], chip->chip_id);
	if (chip->pad)
		return snap_errf(-EINVAL, err, errlen, "%s pad not zero", chip_names[chip_id]);
	return 0;
}

int snap_encode_pit(struct snap_writer *w, const struct kvm_pit_state2 *pit)
{
	return snap_put_section(w, SNAP_SEC_PIT, 0, 1, pit, sizeof(*pit));
}

int snap_decode_pit(const void *payload, uint32_t len, struct kvm_pit_state2 *pit, char *err,
		    size_t errlen)
{
	const uint32_t known = KVM_PIT_FLAGS_HPET_LEGACY | KVM_PIT_FLAGS_SPEAKER_DATA_ON;
	int ret = exact(len, sizeof(*pit), "PIT state", err, errlen);

	if (ret)
		return ret;
	memcpy(pit, payload, sizeof(*pit));
	if (pit->flags & ~known)
		return snap_errf(-EINVAL, err, errlen, "PIT flags 0x%x unknown",
				 pit->flags & ~known);
	return 0;
}

int snap_encode_clock(struct snap_writer *w, const struct kvm_clock_data *clock)
{
	return snap_put_section(w, SNAP_SEC_CLOCK, 0, 1, clock, sizeof(*clock));
}

int snap_decode_clock(const void *payload, uint32_t len, struct kvm_clock_data *clock,
		      char *err, size_t errlen)
{
	const uint32_t known = KVM_CLOCK_TSC_STABLE | KVM_CLOCK_REALTIME | KVM_CLOCK_HOST_TSC;
	int ret = exact(len, sizeof(*clock), "kvmclock state", err, errlen);

	if (ret)
		return ret;
	memcpy(clock, payload, sizeof(*clock));
	if (clock->flags & ~known)
		return snap_errf(-EINVAL, err, errlen, "kvmclock flags 0x%x unknown",
				 clock->flags & ~known);
	return 0;
}

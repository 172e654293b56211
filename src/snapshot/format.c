/* State-file section table (name, understood versions, instance range and
 * payload cap of every known section id) and the message helpers shared by
 * the writer, the reader and the section decoders. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "snapshot/format.h"
#include "snapshot/internal.h"
#include "snapshot/sections.h"
#include "vmm/config.h"
#include "vmm/layout.h"

#define NSLOTS LAYOUT_VIRTIO_MAX
#define SLOT_MAX (NSLOTS - 1)

static const struct snap_section_info sections[SNAP_SEC_COUNT_] = {
	[SNAP_SEC_CONFIG] = { "CONFIG", 1, 0, CONFIG_MAX_FILE },
	[SNAP_SEC_MEMORY_LAYOUT] = { "MEMORY_LAYOUT", 1, 0,
				     SNAP_MEM_LAYOUT_LEN(SNAP_MEM_MAX_REGIONS) },
	[SNAP_SEC_VCPU] = { "VCPU", 1, SNAP_MAX_VCPU_INDEX, SNAP_VCPU_MAX_LEN },
	[SNAP_SEC_IRQCHIP_PIC_MASTER] = { "IRQCHIP_PIC_MASTER", 1, 0, sizeof(struct kvm_irqchip) },
	[SNAP_SEC_IRQCHIP_PIC_SLAVE] = { "IRQCHIP_PIC_SLAVE", 1, 0, sizeof(struct kvm_irqchip) },
	[SNAP_SEC_IOAPIC] = { "IOAPIC", 1, 0, sizeof(struct kvm_irqchip) },
	[SNAP_SEC_PIT] = { "PIT", 1, 0, sizeof(struct kvm_pit_state2) },
	[SNAP_SEC_CLOCK] = { "CLOCK", 1, 0, sizeof(struct kvm_clock_data) },
	[SNAP_SEC_SERIAL] = { "SERIAL", 1, 0, 4096 },
	[SNAP_SEC_I8042] = { "I8042", 1, 0, 4096 },
	[SNAP_SEC_VIRTIO_TRANSPORT] = { "VIRTIO_TRANSPORT", 1, SLOT_MAX, SNAP_VTRANSPORT_LEN },
	[SNAP_SEC_VIRTQUEUE] = { "VIRTQUEUE", 1, NSLOTS * VIRTIO_MAX_QUEUES - 1, SNAP_VQ_LEN },
	[SNAP_SEC_BLK] = { "BLK", 1, SLOT_MAX, 64u << 10 },
	[SNAP_SEC_NET] = { "NET", 1, SLOT_MAX, 64u << 10 },
	[SNAP_SEC_VSOCK] = { "VSOCK", 1, SLOT_MAX, 256u << 10 },
};

const struct snap_section_info *snap_section_info(uint32_t id)
{
	if (id == 0 || id >= SNAP_SEC_COUNT_)
		return NULL;
	return &sections[id];
}

void snap_section_label(uint32_t id, uint32_t index, char *buf, size_t n)
{
	const struct snap_section_info *info = snap_section_info(id);

	if (info)
		snprintf(buf, n, "%s/%u", info->name, index);
	else
		snprintf(buf, n, "0x%x/%u", id, index);
}

int snap_errf(int ret, char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return ret;
}

int snap_in_done(const struct snap_in *in, const char *what, char *err, size_t errlen)
{
	if (in->short_)
		return snap_errf(-EINVAL, err, errlen, "truncated %s", what);
	if (in->left)
		return snap_errf(-EINVAL, err, errlen, "%zu trailing bytes in %s", in->left, what);
	return 0;
}

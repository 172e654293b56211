/* i8042 controller model. Commands per the IBM PS/2 technical reference:
 * 0x20 read CTR, 0x60 write CTR, 0xAA self-test, 0xAB port test,
 * 0xAD/0xAE disable/enable keyboard, 0xFE pulse reset line. */
#include "vmm/i8042.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "vmm/log.h"

#define ST_OBF 0x01      /* output buffer full */
#define ST_SYS 0x04      /* system flag: self-test passed */
#define ST_CMD 0x08      /* last write was a command */
#define CTR_KBD_INT 0x01
#define CMD_READ_CTR 0x20
#define CMD_WRITE_CTR 0x60
#define CMD_SELF_TEST 0xaa
#define CMD_KBD_TEST 0xab
#define CMD_KBD_DISABLE 0xad
#define CMD_KBD_ENABLE 0xae
#define CMD_RESET 0xfe

void i8042_init(struct i8042 *k, struct irq_line *irq,
		void (*reset)(void *opaque), void *opaque)
{
	memset(k, 0, sizeof(*k));
	pthread_mutex_init(&k->lock, NULL);
	k->ctr = CTR_KBD_INT | ST_SYS;
	k->irq = irq;
	k->reset = reset;
	k->opaque = opaque;
}

void i8042_destroy(struct i8042 *k)
{
	pthread_mutex_destroy(&k->lock);
}

static int push(struct i8042 *k, uint8_t v)
{
	if (k->count == I8042_BUF)
		return -ENOSPC;
	k->buf[(k->head + k->count) % I8042_BUF] = v;
	k->count++;
	return 0;
}

static void i8042_read(void *opaque, uint64_t off, uint8_t *data, uint32_t len)
{
	struct i8042 *k = opaque;

	memset(data, 0, len);
	pthread_mutex_lock(&k->lock);
	if (off == 0 && k->count) {
		data[0] = k->buf[k->head];
		k->head = (k->head + 1) % I8042_BUF;
		k->count--;
		if (k->count && (k->ctr & CTR_KBD_INT) && k->irq)
			irq_trigger(k->irq);
	} else if (off == 4) {
		data[0] = ST_SYS | (k->count ? ST_OBF : 0);
	}
	pthread_mutex_unlock(&k->lock);
}

static void i8042_command(struct i8042 *k, uint8_t cmd, int *reset)
{
	switch (cmd) {
	case CMD_READ_CTR:
		push(k, k->ctr);
		break;
	case CMD_WRITE_CTR:
		k->pending_cmd = cmd;
		break;
	case CMD_SELF_TEST:
		push(k, 0x55);
		break;
	case CMD_KBD_TEST:
		push(k, 0x00);
		break;
	case CMD_KBD_DISABLE:
	case CMD_KBD_ENABLE:
		break;
	case CMD_RESET:
		*reset = 1;
		break;
	default:
		log_ratelimited(LOG_DEBUG, "i8042: ignoring command 0x%02x", cmd);
		break;
	}
}

static void i8042_write(void *opaque, uint64_t off, const uint8_t *data, uint32_t len)
{
	struct i8042 *k = opaque;
	int reset = 0;

	(void)len;
	pthread_mutex_lock(&k->lock);
	if (off == 4) {
		k->pending_cmd = 0;
		i8042_command(k, data[0], &reset);
	} else if (off == 0 && k->pending_cmd == CMD_WRITE_CTR) {
		k->ctr = data[0];
		k->pending_cmd = 0;
	} else if (off == 0) {
		/* A byte for the keyboard itself: acknowledge it like a PS/2 keyboard. */
		push(k, 0xfa);
	}
	pthread_mutex_unlock(&k->lock);
	if (reset && k->reset)
		k->reset(k->opaque);
}

const struct bus_ops i8042_ops = { .read = i8042_read, .write = i8042_write };

int i8042_send_ctrl_alt_del(struct i8042 *k)
{
	/* Scan code set 2: Ctrl, Alt, Del (E0 71) down, then up (F0 prefix). */
	static const uint8_t seq[] = { 0x14, 0x11, 0xe0, 0x71,
				       0xe0, 0xf0, 0x71, 0xf0, 0x11, 0xf0, 0x14 };
	int ret = 0;

	pthread_mutex_lock(&k->lock);
	if (I8042_BUF - k->count < sizeof(seq)) {
		ret = -EBUSY;
	} else {
		for (unsigned i = 0; i < sizeof(seq); i++)
			push(k, seq[i]);
		if ((k->ctr & CTR_KBD_INT) && k->irq)
			irq_trigger(k->irq);
	}
	pthread_mutex_unlock(&k->lock);
	return ret;
}

void i8042_save(struct i8042 *k, struct i8042_state *st)
{
	memset(st, 0, sizeof(*st));
	pthread_mutex_lock(&k->lock);
	st->ctr = k->ctr;
	st->pending_cmd = k->pending_cmd;
	st->count = (uint8_t)k->count;
	for (unsigned i = 0; i < k->count; i++)
		st->buf[i] = k->buf[(k->head + i) % I8042_BUF];
	pthread_mutex_unlock(&k->lock);
}

int i8042_restore(struct i8042 *k, const struct i8042_state *st, char *err, size_t errlen)
{
	if (st->count > I8042_BUF) {
		snprintf(err, errlen, "i8042: output buffer count %u exceeds %u", st->count,
			 I8042_BUF);
		return -EINVAL;
	}
	if (st->pending_cmd && st->pending_cmd != CMD_WRITE_CTR) {
		snprintf(err, errlen, "i8042: impossible pending command 0x%02x", st->pending_cmd);
		return -EINVAL;
	}
	pthread_mutex_lock(&k->lock);
	k->ctr = st->ctr;
	k->pending_cmd = st->pending_cmd;
	memcpy(k->buf, st->buf, sizeof(k->buf));
	k->head = 0;
	k->count = st->count;
	pthread_mutex_unlock(&k->lock);
	return 0;
}

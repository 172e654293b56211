/* 16550A UART model (register semantics per the National PC16550D data
 * sheet; constants from <linux/serial_reg.h>). Only what guests use: no
 * baud timing, FIFOs always empty on the transmit side. */
#include "vmm/serial.h"

#include <errno.h>
#include <stdio.h>
#include <linux/serial_reg.h>
#include <string.h>
#include <unistd.h>

#include "vmm/log.h"

void serial_init(struct serial *s, int out_fd, struct irq_line *irq)
{
	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->lock, NULL);
	s->out_fd = out_fd;
	s->irq = irq;
	s->mcr = UART_MCR_OUT2;
	s->dll = 0x0c; /* 9600 baud, as firmware would leave it */
}

void serial_destroy(struct serial *s)
{
	pthread_mutex_destroy(&s->lock);
}

/* Highest-priority pending interrupt, as IIR reports it. */
static uint8_t serial_iir(const struct serial *s)
{
	if ((s->ier & UART_IER_RDI) && s->rx_count)
		return UART_IIR_RDI;
	if ((s->ier & UART_IER_THRI) && s->thr_ipending)
		return UART_IIR_THRI;
	return UART_IIR_NO_INT;
}

/* Raise an edge when the interrupt output goes from idle to pending. */
static void serial_update_irq(struct serial *s)
{
	uint8_t level = serial_iir(s) != UART_IIR_NO_INT;

	if (level && !s->irq_level && s->irq)
		irq_trigger(s->irq);
	s->irq_level = level;
}

static void serial_out(struct serial *s, uint8_t c)
{
	s->tx_bytes++;
	if (s->mcr & UART_MCR_LOOP) {
		if (s->rx_count < SERIAL_RX_FIFO) {
			s->rx[(s->rx_head + s->rx_count) % SERIAL_RX_FIFO] = c;
			s->rx_count++;
		}
		return;
	}
	if (s->out_fd < 0)
		return;
	while (write(s->out_fd, &c, 1) < 0 && errno == EINTR)
		;
}

static uint8_t serial_rx_pop(struct serial *s)
{
	uint8_t c;

	if (!s->rx_count)
		return 0;
	c = s->rx[s->rx_head];
	s->rx_head = (s->rx_head + 1) % SERIAL_RX_FIFO;
	s->rx_count--;
	s->rx_bytes++;
	return c;
}

static uint8_t serial_read_reg(struct serial *s, uint64_t reg, int *drained)
{
	int dlab = s->lcr & UART_LCR_DLAB;
	uint8_t v;

	switch (reg) {
	case UART_RX:
		if (dlab)
			return s->dll;
		*drained = s->rx_count == SERIAL_RX_FIFO;
		return serial_rx_pop(s);
	case UART_IER:
		return dlab ? s->dlm : s->ier;
	case UART_IIR:
		v = serial_iir(s);
		/* Reading IIR acknowledges a THR-empty interrupt (16550D §8.6.3). */
		if (v == UART_IIR_THRI)
			s->thr_ipending = 0;
		return v | 0xc0; /* FIFOs enabled */
	case UART_LCR:
		return s->lcr;
	case UART_MCR:
		return s->mcr;
	case UART_LSR:
		return UART_LSR_THRE | UART_LSR_TEMT | (s->rx_count ? UART_LSR_DR : 0);
	case UART_MSR:
		if (s->mcr & UART_MCR_LOOP) /* modem inputs follow the outputs */
			return (uint8_t)(((s->mcr & UART_MCR_DTR) ? UART_MSR_DSR : 0) |
					 ((s->mcr & UART_MCR_RTS) ? UART_MSR_CTS : 0) |
					 ((s->mcr & UART_MCR_OUT1) ? UART_MSR_RI : 0) |
					 ((s->mcr & UART_MCR_OUT2) ? UART_MSR_DCD : 0));
		return UART_MSR_DCD | UART_MSR_DSR | UART_MSR_CTS;
	case UART_SCR:
		return s->scr;
	default:
		return 0;
	}
}

static void serial_write_reg(struct serial *s, uint64_t reg, uint8_t v, int *drained)
{
	int dlab = s->lcr & UART_LCR_DLAB;

	switch (reg) {
	case UART_TX:
		if (dlab) {
			s->dll = v;
			return;
		}
		serial_out(s, v);
		s->thr_ipending = 1; /* transmitter empties at once */
		break;
	case UART_IER:
		if (dlab) {
			s->dlm = v;
			return;
		}
		/* Enabling THRI while THR is empty raises the interrupt. */
		if ((v & UART_IER_THRI) && !(s->ier & UART_IER_THRI))
			s->thr_ipending = 1;
		s->ier = v & 0x0f;
		break;
	case UART_FCR:
		if (v & UART_FCR_CLEAR_RCVR) {
			*drained = s->rx_count == SERIAL_RX_FIFO;
			s->rx_count = 0;
		}
		break;
	case UART_LCR:
		s->lcr = v;
		return;
	case UART_MCR:
		s->mcr = v & 0x1f;
		break;
	case UART_SCR:
		s->scr = v;
		return;
	default:
		return; /* LSR and MSR are read-only */
	}
}

static void serial_read(void *opaque, uint64_t off, uint8_t *data, uint32_t len)
{
	struct serial *s = opaque;
	int drained = 0;

	memset(data, 0, len);
	pthread_mutex_lock(&s->lock);
	data[0] = serial_read_reg(s, off, &drained);
	serial_update_irq(s);
	pthread_mutex_unlock(&s->lock);
	if (drained && s->rx_space)
		s->rx_space(s->rx_opaque);
}

static void serial_write(void *opaque, uint64_t off, const uint8_t *data, uint32_t len)
{
	struct serial *s = opaque;
	int drained = 0;

	(void)len;
	pthread_mutex_lock(&s->lock);
	serial_write_reg(s, off, data[0], &drained);
	serial_update_irq(s);
	pthread_mutex_unlock(&s->lock);
	/* FIFO went from full to empty (FCR clear): resume host input. */
	if (drained && s->rx_space)
		s->rx_space(s->rx_opaque);
}

const struct bus_ops serial_ops = { .read = serial_read, .write = serial_write };

unsigned serial_push_input(struct serial *s, const uint8_t *buf, unsigned len)
{
	unsigned n = 0;

	pthread_mutex_lock(&s->lock);
	while (n < len && s->rx_count < SERIAL_RX_FIFO) {
		s->rx[(s->rx_head + s->rx_count) % SERIAL_RX_FIFO] = buf[n++];
		s->rx_count++;
	}
	serial_update_irq(s);
	pthread_mutex_unlock(&s->lock);
	return n;
}

unsigned serial_rx_space(struct serial *s)
{
	unsigned n;

	pthread_mutex_lock(&s->lock);
	n = SERIAL_RX_FIFO - s->rx_count;
	pthread_mutex_unlock(&s->lock);
	return n;
}

void serial_save(struct serial *s, struct serial_state *st)
{
	memset(st, 0, sizeof(*st));
	pthread_mutex_lock(&s->lock);
	st->ier = s->ier;
	st->lcr = s->lcr;
	st->mcr = s->mcr;
	st->lsr_extra = s->lsr_extra;
	st->scr = s->scr;
	st->dll = s->dll;
	st->dlm = s->dlm;
	st->thr_ipending = s->thr_ipending;
	st->irq_level = s->irq_level;
	st->rx_count = (uint8_t)s->rx_count;
	for (unsigned i = 0; i < s->rx_count; i++)
		st->rx[i] = s->rx[(s->rx_head + i) % SERIAL_RX_FIFO];
	pthread_mutex_unlock(&s->lock);
}

int serial_restore(struct serial *s, const struct serial_state *st, char *err, size_t errlen)
{
	if (st->rx_count > SERIAL_RX_FIFO) {
		snprintf(err, errlen, "serial: receive FIFO count %u exceeds %u", st->rx_count,
			 SERIAL_RX_FIFO);
		return -EINVAL;
	}
	if (st->ier & ~0x0fu || st->thr_ipending > 1 || st->irq_level > 1) {
		snprintf(err, errlen, "serial: impossible register state (IER 0x%x)", st->ier);
		return -EINVAL;
	}
	pthread_mutex_lock(&s->lock);
	s->ier = st->ier;
	s->lcr = st->lcr;
	s->mcr = st->mcr;
	s->lsr_extra = st->lsr_extra;
	s->scr = st->scr;
	s->dll = st->dll;
	s->dlm = st->dlm;
	s->thr_ipending = st->thr_ipending;
	s->irq_level = st->irq_level;
	memcpy(s->rx, st->rx, sizeof(s->rx));
	s->rx_head = 0;
	s->rx_count = st->rx_count;
	pthread_mutex_unlock(&s->lock);
	return 0;
}

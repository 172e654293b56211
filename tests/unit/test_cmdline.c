/* Unit tests for the kernel command-line builder: defaults, the exact
 * capacity limit (the cap counts the NUL), and appends that must leave the
 * line untouched when they do not fit. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>

#include "vmm/cmdline.h"

static char *repeat(char c, size_t n)
{
	char *s = malloc(n + 1);

	cr_assert_not_null(s);
	memset(s, c, n);
	s[n] = 0;
	return s;
}

Test(cmdline, defaults_when_null)
{
	struct cmdline c;

	cr_assert_eq(cmdline_init(&c, NULL, 2048), 0);
	cr_assert_str_eq(c.buf, CMDLINE_DEFAULT);
	cr_assert_eq(c.len, strlen(CMDLINE_DEFAULT));
	cr_assert_eq(c.cap, 2048);
	cmdline_free(&c);
	cr_assert_null(c.buf);
}

Test(cmdline, empty_user_string_is_not_defaults)
{
	struct cmdline c;

	cr_assert_eq(cmdline_init(&c, "", 2048), 0);
	cr_assert_str_eq(c.buf, "");
	cr_assert_eq(c.len, 0);
	/* no leading space on the first append */
	cr_assert_eq(cmdline_append(&c, "virtio_mmio.device=4K@0xd0000000:5"), 0);
	cr_assert_str_eq(c.buf, "virtio_mmio.device=4K@0xd0000000:5");
	cmdline_free(&c);
}

Test(cmdline, exact_limit)
{
	struct cmdline c;
	char *s2047 = repeat('a', 2047), *s2048 = repeat('b', 2048);

	cr_assert_eq(cmdline_init(&c, s2047, 2048), 0);
	cr_assert_eq(c.len, 2047);
	cr_assert_str_eq(c.buf, s2047);
	/* full: even a one-character append does not fit */
	cr_assert_eq(cmdline_append(&c, "x"), -E2BIG);
	cr_assert_eq(c.len, 2047);
	cr_assert_str_eq(c.buf, s2047);
	cmdline_free(&c);

	cr_assert_eq(cmdline_init(&c, s2048, 2048), -E2BIG);
	cr_assert_null(c.buf);
	cmdline_free(&c); /* safe after a failed init */
	free(s2047);
	free(s2048);
}

Test(cmdline, zero_cap_and_tiny_cap)
{
	struct cmdline c;

	cr_assert_eq(cmdline_init(&c, "", 0), -E2BIG);
	cr_assert_eq(cmdline_init(&c, "", 1), 0);
	cr_assert_eq(cmdline_append(&c, "a"), -E2BIG);
	cr_assert_str_eq(c.buf, "");
	cmdline_free(&c);
	cr_assert_eq(cmdline_init(&c, NULL, strlen(CMDLINE_DEFAULT)), -E2BIG);
	cr_assert_eq(cmdline_init(&c, NULL, strlen(CMDLINE_DEFAULT) + 1), 0);
	cmdline_free(&c);
}

Test(cmdline, append_exactly_fills_then_overflow_unchanged)
{
	struct cmdline c;

	/* "abc" + " " + "defg" + NUL = 9 bytes */
	cr_assert_eq(cmdline_init(&c, "abc", 9), 0);
	cr_assert_eq(cmdline_append(&c, "defgh"), -E2BIG);
	cr_assert_str_eq(c.buf, "abc");
	cr_assert_eq(c.len, 3);
	cr_assert_eq(cmdline_append(&c, "defg"), 0);
	cr_assert_str_eq(c.buf, "abc defg");
	cr_assert_eq(c.len, 8);
	cr_assert_eq(cmdline_append(&c, ""), -E2BIG, "a separator alone does not fit");
	cr_assert_str_eq(c.buf, "abc defg");
	cmdline_free(&c);
}

Test(cmdline, several_appends)
{
	struct cmdline c;

	cr_assert_eq(cmdline_init(&c, "console=ttyS0", 2048), 0);
	cr_assert_eq(cmdline_append(&c, "virtio_mmio.device=4K@0xd0000000:5"), 0);
	cr_assert_eq(cmdline_append(&c, "virtio_mmio.device=4K@0xd0001000:6"), 0);
	cr_assert_str_eq(c.buf, "console=ttyS0 virtio_mmio.device=4K@0xd0000000:5 "
				"virtio_mmio.device=4K@0xd0001000:6");
	cr_assert_eq(c.len, strlen(c.buf));
	cmdline_free(&c);
}

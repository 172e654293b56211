# femtovm-jailer (src/jail, DESIGN.md §8). Included by the top Makefile,
# which provides BUILD, CC, CFLAGS, LDFLAGS and the $(BUILD)/obj/%.o rule;
# also usable alone: make -f src/jail/jail.mk BUILD=build build/femtovm-jailer
# Seccomp sources in src/jail (filters installed by femtovm itself) are
# not part of the jailer.

JAIL_SRCS := $(foreach f,$(wildcard src/jail/*.c),$(if $(findstring seccomp,$(notdir $(f))),,$(f)))
JAIL_OBJS = $(JAIL_SRCS:%.c=$(BUILD)/obj/%.o)
JAIL_LDLIBS := -lcap

ifeq ($(origin VMM_SRCS),undefined)
# Standalone: the same flags as the top Makefile.
CC      ?= gcc
BUILD   ?= build
VERSION ?= 0.1.0
CFLAGS  ?= -O2 -g
CFLAGS  += -std=gnu11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
           -Wmissing-prototypes -fstack-protector-strong -D_FORTIFY_SOURCE=2 -fPIE \
           -pthread -MMD -MP -Isrc -DFEMTOVM_VERSION=\"$(VERSION)\"
LDFLAGS += -pie -Wl,-z,relro,-z,now -pthread

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<
endif

$(BUILD)/femtovm-jailer: $(JAIL_OBJS)
	$(CC) $(LDFLAGS) -o $@ $^ $(JAIL_LDLIBS)

-include $(JAIL_OBJS:.o=.d)

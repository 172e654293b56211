# femtovm-fanout (src/tools/fanout*.c, uds_http.c): restore many clones of
# one snapshot at once. Included by the top Makefile, which provides BUILD,
# CC, CFLAGS, LDFLAGS, the $(BUILD)/obj/%.o rule and TOOLS.
FANOUT_SRCS := src/tools/fanout.c src/tools/fanout_opts.c src/tools/fanout_proc.c \
	       src/tools/fanout_report.c src/tools/uds_http.c
FANOUT_OBJS := $(FANOUT_SRCS:%.c=$(BUILD)/obj/%.o)
TOOLS += $(BUILD)/femtovm-fanout

$(BUILD)/femtovm-fanout: $(FANOUT_OBJS)
	$(CC) $(LDFLAGS) -o $@ $^ -lcjson

-include $(FANOUT_OBJS:.o=.d)

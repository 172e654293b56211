# femtovm-snap-merge (src/tools/snap_merge.c): apply a Diff snapshot's memory
# file onto its base. Included by the top Makefile, which provides BUILD, CC,
# CFLAGS, LDFLAGS, the $(BUILD)/obj/%.o rule and TOOLS. Only the memory-file
# merge of src/snapshot is linked in (plus format.c for its error helper).
SNAP_MERGE_SRCS := src/tools/snap_merge.c src/snapshot/memmerge.c src/snapshot/format.c
SNAP_MERGE_OBJS := $(SNAP_MERGE_SRCS:%.c=$(BUILD)/obj/%.o)
TOOLS += $(BUILD)/femtovm-snap-merge

$(BUILD)/femtovm-snap-merge: $(SNAP_MERGE_OBJS)
	$(CC) $(LDFLAGS) -o $@ $^

-include $(BUILD)/obj/src/tools/snap_merge.d

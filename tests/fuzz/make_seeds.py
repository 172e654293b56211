#!/usr/bin/env python3
"""Regenerate the small seed corpora under tests/fuzz/corpus/ (committed).
Each seed is a valid or nearly valid input so the fuzzers start deep."""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def put(harness, name, data):
    d = os.path.join(HERE, "corpus", harness)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def config_seeds():
    put("fuzz_config", "minimal.json", b'{"boot-source": {"kernel_image_path": "/k"}}')
    put("fuzz_config", "full.json",
        b'{"boot-source": {"kernel_image_path": "/vmlinux", "initrd_path": null,'
        b' "boot_args": "console=ttyS0"},\n "machine-config": {"vcpu_count": 2,'
        b' "mem_size_mib": 256, "smt": true, "track_dirty_pages": false},\n'
        b' "logger": {"log_path": "/tmp/l", "level": "Debug", "show_level": true,'
        b' "show_log_origin": false},\n "drives": [], "network-interfaces": [], "vsock": null}')
    put("fuzz_config", "bad_types.json",
        b'{"boot-source": {"kernel_image_path": 5}, "machine-config": {"vcpu_count": 1.5}}')
    put("fuzz_config", "dup.json",
        b'{"boot-source": {"kernel_image_path": "/a", "kernel_image_path": "/b"}}')
    put("fuzz_config", "drives.json",
        b'{"boot-source": {"kernel_image_path": "/k"}, "drives": [{"drive_id": "rootfs",'
        b' "path_on_host": "/r.img", "is_root_device": true, "is_read_only": false,'
        b' "rate_limiter": {"bandwidth": {"size": 1000, "refill_time": 100}, "ops": {"size": 10,'
        b' "one_time_burst": 5, "refill_time": 1000}}}]}')


def elf(phdrs, blobs, entry=0x1000200, size=None):
    """ELF64 x86-64 ET_EXEC; phdrs are (type, offset, paddr, filesz, memsz)."""
    eh = b"\x7fELF" + bytes([2, 1, 1]) + bytes(9)
    eh += struct.pack("<HHIQQQIHHHHHH", 2, 62, 1, entry, 64, 0, 0, 64, 56,
                      len(phdrs), 64, 0, 0)
    ph = b"".join(struct.pack("<IIQQQQQQ", t, 5, off, 0, pa, fs, ms, 0x1000)
                  for (t, off, pa, fs, ms) in phdrs)
    img = bytearray(eh + ph)
    for off, blob in blobs:
        if len(img) < off:
            img += bytes(off - len(img))
        img[off:off + len(blob)] = blob
    return bytes(img)


def note(name, ntype, desc):
    n = name + b"\0"
    pad = lambda b: b + bytes((-len(b)) % 4)
    return struct.pack("<III", len(n), len(desc), ntype) + pad(n) + pad(desc)


def bzimage(setup_sects=1, payload=b"\x90" * 256, version=0x20f):
    img = bytearray(512 * ((setup_sects or 4) + 1))
    struct.pack_into("<B", img, 0x1f1, setup_sects)
    struct.pack_into("<H", img, 0x1fe, 0xaa55)
    struct.pack_into("<H", img, 0x200, 0x6aeb)
    struct.pack_into("<I", img, 0x202, 0x53726448)
    struct.pack_into("<H", img, 0x206, version)
    struct.pack_into("<B", img, 0x211, 1)           # LOADED_HIGH
    struct.pack_into("<I", img, 0x22c, 0x37ffffff)  # initrd_addr_max
    struct.pack_into("<H", img, 0x236, 3)           # XLF_KERNEL_64 | above 4G
    struct.pack_into("<I", img, 0x238, 2047)        # cmdline_size
    struct.pack_into("<I", img, 0x260, 0x1000)      # init_size
    return bytes(img) + payload


def loader_seeds():
    code = b"\xf4" * 32
    put("fuzz_loader", "elf_linux64",
        elf([(1, 0x100, 0x100000, len(code), 0x1000)], [(0x100, code)]))
    n = note(b"GNU", 3, b"\xab" * 8) + note(b"Xen", 18, struct.pack("<I", 0x100000))
    put("fuzz_loader", "elf_pvh",
        elf([(4, 0x100, 0, len(n), len(n)), (1, 0x200, 0x100000, len(code), 0x2000)],
            [(0x100, n), (0x200, code)]))
    put("fuzz_loader", "elf_two_segments",
        elf([(1, 0x100, 0x100000, 16, 16), (1, 0x110, 0x200000, 16, 0x100)],
            [(0x100, code)]))
    put("fuzz_loader", "bzimage", bzimage())
    put("fuzz_loader", "bzimage_sects0", bzimage(0, b"\xf4" * 64))


RUN_SIZE = 3 * 4096


def run_io(direction, size, port, count, off, payload=b""):
    # byte 0 selects the reason (index 0 = KVM_EXIT_IO); kvm_run.io at 32
    b = bytearray(off + len(payload) if off < RUN_SIZE else 64)
    b[0] = 0
    struct.pack_into("<BBHIQ", b, 32, direction, size, port, count, off)
    if off < RUN_SIZE:
        b[off:off + len(payload)] = payload
    return bytes(b)


def run_mmio(addr, length, is_write, data=b""):
    b = bytearray(64)
    b[0] = 1  # KVM_EXIT_MMIO
    struct.pack_into("<Q8sIB", b, 32, addr, data.ljust(8, b"\0"), length, is_write)
    return bytes(b)


def exits_seeds():
    put("fuzz_exits", "pio_out_com1", run_io(1, 1, 0x3f8, 3, 4096, b"hi\n"))
    put("fuzz_exits", "pio_in_lsr", run_io(0, 1, 0x3fd, 1, 4096))
    put("fuzz_exits", "pio_i8042_reset", run_io(1, 1, 0x64, 1, 4096, b"\xfe"))
    put("fuzz_exits", "mmio_write", run_mmio(0xd0000010, 4, 1, b"\x01\x02\x03\x04"))
    put("fuzz_exits", "mmio_read", run_mmio(0xd00000f8, 8, 0))
    put("fuzz_exits", "system_event", bytes([6]) + bytes(63))


def devices_seeds():
    # (op, reg, value): serial write 0 / read 1, i8042 write 2 / read 3, ...
    put("fuzz_devices", "serial_basic",
        bytes([0, 1, 0x03, 1, 2, 0, 0, 0, ord("A"), 1, 5, 0, 4, 0, 0, 7, 0, 0,
               0, 3, 0x80, 0, 0, 1, 0, 4, 0x10, 1, 6, 0]))
    put("fuzz_devices", "i8042_basic",
        bytes([2, 4, 0xaa, 3, 4, 0, 3, 0, 0, 2, 4, 0x60, 2, 0, 0x47, 2, 4, 0x20,
               3, 0, 0, 5, 0, 0, 3, 0, 0, 2, 4, 0xfe]))


def vtransport(device_id, nq, status, offered, acked, active, int_status=0):
    return struct.pack("<8I3QI", device_id, nq, status, 0, 0, 0, int_status, 0,
                       offered, acked, acked, active)


def vq(size, desc, avail, used, flags, last_avail=0, used_idx=0):
    return struct.pack("<4H3QI", size, last_avail, used_idx, 0, desc, avail, used, flags)


def vrestore_seeds():
    v1, evt = 1 << 32, 1 << 29
    # RAM: one writable 16-byte descriptor at 0x1000, avail idx 1 at 0x2000.
    ram = bytearray(0x3100)
    struct.pack_into("<QIHH", ram, 0x1000, 0x4000, 16, 2, 0)
    struct.pack_into("<HHH", ram, 0x2000, 0, 1, 0)
    live = vtransport(2, 1, 0xf, v1 | evt | 2, v1 | evt, 1, 1)
    put("fuzz_vrestore", "blk_live", live + vq(8, 0x1000, 0x2000, 0x3000, 3) + bytes(ram))
    put("fuzz_vrestore", "negotiating",
        vtransport(1, 2, 0xb, v1 | 2, v1, 0) + vq(8, 0x1000, 0x2000, 0x3000, 1) +
        vq(4, 0, 0, 0, 0))
    qs = b"".join(vq(8, 0x1000 + 0x400 * i, 0x2000 + 0x100 * i, 0x3000 + 0x100 * i, 3)
                  for i in range(3))
    put("fuzz_vrestore", "vsock_live", vtransport(19, 3, 0xf, v1 | evt, v1 | evt, 1) + qs)


if __name__ == "__main__":
    config_seeds()
    loader_seeds()
    exits_seeds()
    devices_seeds()
    vrestore_seeds()

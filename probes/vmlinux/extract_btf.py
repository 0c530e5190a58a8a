#!/usr/bin/python3
"""Finds the kernel's BTF blob inside a kernel image and writes it out raw.

The kernel links its type information (BTF) into the image; in a Debian
vmlinuz it sits inside the (possibly compressed) image with no ELF section
table to find it by. This looks for the BTF header (magic 0xEB9F, version 1,
24-byte header), checks that its type and string sections fit, and keeps the
largest candidate. bpftool then turns the raw BTF into vmlinux.h.

usage: extract_btf.py IMAGE OUT.btf
"""
import gzip
import lzma
import struct
import sys
import zlib

MAGIC = b"\x9f\xeb\x01\x00\x18\x00\x00\x00"


def decompressed_images(data):
    """The image itself, then any gzip/xz/zstd payload found inside it."""
    yield data
    for magic, opener in ((b"\x1f\x8b\x08", "gzip"), (b"\xfd7zXZ\x00", "xz")):
        start = data.find(magic)
        while start != -1:
            try:
                if opener == "gzip":
                    d = zlib.decompressobj(16 + zlib.MAX_WBITS)
                    yield d.decompress(data[start:])
                else:
                    d = lzma.LZMADecompressor()
                    yield d.decompress(data[start:])
                return
            except (zlib.error, lzma.LZMAError, EOFError):
                start = data.find(magic, start + 1)


def find_btf(image):
    best = None
    pos = image.find(MAGIC)
    while pos != -1:
        hdr = image[pos:pos + 24]
        if len(hdr) == 24:
            _, _, _, _, type_off, type_len, str_off, str_len = struct.unpack("<HBBIIIII", hdr)
            end = 24 + max(type_off + type_len, str_off + str_len)
            if type_len > 0 and str_len > 0 and pos + end <= len(image):
                blob = image[pos:pos + end]
                if best is None or len(blob) > len(best):
                    best = blob
        pos = image.find(MAGIC, pos + 1)
    return best


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    with open(sys.argv[1], "rb") as f:
        data = f.read()
    for image in decompressed_images(data):
        btf = find_btf(image)
        if btf and len(btf) > 1 << 20:
            with open(sys.argv[2], "wb") as out:
                out.write(btf)
            print(f"{sys.argv[1]}: {len(btf)} bytes of BTF")
            return
    sys.exit(f"{sys.argv[1]}: no BTF found (kernel built without CONFIG_DEBUG_INFO_BTF?)")


if __name__ == "__main__":
    main()

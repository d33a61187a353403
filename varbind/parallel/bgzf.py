"""Streaming BGZF (blocked gzip) reading and writing for the shard merge: a shard's
blocks are copied as they are where possible, and the file ends with the BGZF EOF block."""

from __future__ import annotations

import contextlib
import gzip
from pathlib import Path

from varbind.errors import InputFileError


def open_binary(path: Path):
    with open(path, "rb") as fh:
        gz = fh.read(2) == b"\x1f\x8b"
    return gzip.open(path, "rb") if gz else open(path, "rb")


#: The empty BGZF block that ends a bgzipped file.
BGZF_EOF = bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000")


_BGZF_MAX_INPUT = 0xff00  # uncompressed bytes per block, as htslib writes them


class BgzfWriter:
    """Writes BGZF: text is deflated into blocks; :meth:`raw` appends whole blocks as they
    are (after closing the current one), so blocks copied from another BGZF file stay valid."""

    def __init__(self, fh, level: int = 6):
        self.fh = fh
        self.level = level
        self.pending = bytearray()

    def write(self, data: bytes) -> None:
        self.pending += data
        while len(self.pending) >= _BGZF_MAX_INPUT:
            self._block(bytes(self.pending[:_BGZF_MAX_INPUT]))
            del self.pending[:_BGZF_MAX_INPUT]

    def raw(self, block: bytes) -> None:
        self.flush()
        self.fh.write(block)

    def flush(self) -> None:
        if self.pending:
            self._block(bytes(self.pending))
            self.pending.clear()

    def close(self) -> None:
        self.flush()
        self.fh.write(BGZF_EOF)

    def _block(self, data: bytes) -> None:
        import struct
        import zlib

        deflate = zlib.compressobj(self.level, zlib.DEFLATED, -15)
        body = deflate.compress(data) + deflate.flush()
        header = b"\x1f\x8b\x08\x04\x00\x00\x00\x00\x00\xff\x06\x00BC\x02\x00"
        self.fh.write(header + struct.pack("<H", len(body) + 25) + body
                      + struct.pack("<II", zlib.crc32(data), len(data)))


class PlainWriter:
    def __init__(self, fh):
        self.fh = fh
        self.raw = None  # blocks cannot be copied into plain text

    def write(self, data: bytes) -> None:
        self.fh.write(data)

    def close(self) -> None:
        pass


@contextlib.contextmanager
def shard_reader(path: Path):
    with open(path, "rb") as fh:
        head = fh.read(18)
        fh.seek(0)
        bgzf = (len(head) == 18 and head[:4] == b"\x1f\x8b\x08\x04"
                and head[10:14] == b"\x06\x00BC")
        if bgzf:
            yield BgzfReader(fh)
        else:
            with open_binary(path) as text:
                yield TextReader(text)


class TextReader:
    """Lines of a plain or gzip shard, then the rest in bulk."""

    def __init__(self, fh):
        self.fh = fh

    def readline(self) -> bytes:
        return self.fh.readline()

    def copy_rest(self, out) -> None:
        for chunk in iter(lambda: self.fh.read(1 << 20), b""):
            out.write(chunk)


class BgzfReader:
    """Lines of a bgzipped shard, decompressing block by block; :meth:`copy_rest` hands the
    rest of the current block to the writer as text and the later blocks as they are."""

    def __init__(self, fh):
        self.fh = fh
        self.buffer = b""
        self.pos = 0

    def _next_block(self) -> bytes | None:
        import struct

        head = self.fh.read(18)
        if not head:
            return None
        if len(head) < 18 or head[:4] != b"\x1f\x8b\x08\x04" or head[12:14] != b"BC":
            raise InputFileError("shard is not a valid BGZF file", path=self.fh.name,
                                 fix="delete the shard folder and run again")
        (bsize,) = struct.unpack("<H", head[16:18])
        return head + self.fh.read(bsize + 1 - 18)

    @staticmethod
    def _inflate(block: bytes) -> bytes:
        import zlib

        return zlib.decompress(block[18:-8], -15)

    def readline(self) -> bytes:
        while True:
            end = self.buffer.find(b"\n", self.pos)
            if end >= 0:
                line = self.buffer[self.pos:end + 1]
                self.pos = end + 1
                return line
            block = self._next_block()
            if block is None:
                line = self.buffer[self.pos:]
                self.buffer, self.pos = b"", 0
                return line
            self.buffer = self.buffer[self.pos:] + self._inflate(block)
            self.pos = 0

    def copy_rest(self, out) -> None:
        out.write(self.buffer[self.pos:])
        self.buffer, self.pos = b"", 0
        while (block := self._next_block()) is not None:
            if block[-4:] == b"\x00\x00\x00\x00":
                continue  # empty block (the EOF marker): the writer ends the file once
            if out.raw is None:
                out.write(self._inflate(block))
            else:
                out.raw(block)

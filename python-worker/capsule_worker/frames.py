"""Length-prefixed frames over pipes: a big-endian uint32 body length, then the body."""

import os
import struct
import _thread

_HEADER = struct.Struct(">I")
_READ_CHUNK = 65536

#: The frame size limit before ``init`` sets one (docs/protocol.md).
DEFAULT_MAX_FRAME_BYTES = 4 * 1024 * 1024


class ProtocolError(Exception):
    """The peer broke the frame protocol (oversized, truncated or undecodable frame, bad message)."""


class FrameTooLarge(ValueError):
    """An outgoing message encodes to more than the peer's ``maxFrameBytes``; nothing was written."""


class FrameReader:
    """Reads whole frames from one fd; the only reader of that fd."""

    def __init__(self, fd, max_bytes=DEFAULT_MAX_FRAME_BYTES):
        self.fd = fd
        self.max_bytes = max_bytes
        self._buf = bytearray()

    @property
    def buffered(self):
        """Whether bytes read from the fd wait in the buffer (a frame, or part of one)."""
        return bool(self._buf)

    def has_frame(self):
        """Whether a whole frame is buffered, so :meth:`read_frame` will not touch the fd."""
        buf = self._buf
        return len(buf) >= 4 and len(buf) >= 4 + _HEADER.unpack_from(buf)[0]

    def read_frame(self):
        """Return the next body, or None on end of file exactly at a frame boundary.

        Raises ProtocolError for a zero or oversized length (judged on the prefix alone, before
        reading the body) and for end of file inside a prefix or body.
        """
        if not self._fill(4, at_boundary=True):
            return None
        buf = self._buf
        (length,) = _HEADER.unpack_from(buf)
        if length == 0:
            raise ProtocolError("zero-length frame")
        if length > self.max_bytes:
            raise ProtocolError(
                "frame of %d bytes exceeds maxFrameBytes %d" % (length, self.max_bytes)
            )
        end = length + 4
        self._fill(end, at_boundary=False)
        if len(buf) == end:  # the usual case: one frame per read
            body = bytes(memoryview(buf)[4:])
            buf.clear()
        else:
            body = bytes(memoryview(buf)[4:end])
            del buf[:end]
        return body

    def _fill(self, n, at_boundary):
        buf = self._buf
        while len(buf) < n:
            chunk = os.read(self.fd, max(_READ_CHUNK, n - len(buf)))
            if not chunk:
                if at_boundary and not buf:
                    return False
                raise ProtocolError("truncated frame")
            buf += chunk
        return True


class FrameWriter:
    """Writes frames to one fd under one lock, header and body in a single writev when possible."""

    def __init__(self, fd, codec, max_bytes=DEFAULT_MAX_FRAME_BYTES):
        self.fd = fd
        self.codec = codec
        self.max_bytes = max_bytes
        self._lock = _thread.allocate_lock()

    def send(self, message):
        """Encode and write one message. Raises FrameTooLarge (nothing written) or the codec's error."""
        self.send_body(self.codec.encode(message))

    def send_body(self, body):
        """Write one already-encoded body as a frame."""
        size = len(body)
        if size > self.max_bytes:
            raise FrameTooLarge(
                "message of %d bytes exceeds maxFrameBytes %d" % (size, self.max_bytes)
            )
        header = _HEADER.pack(size)
        with self._lock:
            written = _writev(self.fd, header, body)
            total = size + 4
            if written < total:
                # A pipe may take part of a large frame; finish it before anyone else writes.
                rest = memoryview(header + body)[written:]
                while rest:
                    rest = rest[os.write(self.fd, rest) :]


    def encode(self, message):
        """Encode one message, refusing it (FrameTooLarge) before anything is written."""
        body = self.codec.encode(message)
        if len(body) > self.max_bytes:
            raise FrameTooLarge(
                "message of %d bytes exceeds maxFrameBytes %d" % (len(body), self.max_bytes)
            )
        return body

    def send_bodies(self, bodies):
        """Write several encoded bodies as consecutive frames, in as few syscalls as possible."""
        buffers = []
        for body in bodies:
            buffers.append(_HEADER.pack(len(body)))
            buffers.append(body)
        with self._lock:
            for start in range(0, len(buffers), _IOV_BATCH):
                chunk = buffers[start : start + _IOV_BATCH]
                total = sum(len(b) for b in chunk)
                written = _writev_all(self.fd, chunk)
                if written < total:
                    rest = memoryview(b"".join(chunk))[written:]
                    while rest:
                        rest = rest[os.write(self.fd, rest) :]


#: Buffers per writev call (IOV_MAX is 1024 on Linux).
_IOV_BATCH = 1024


if hasattr(os, "writev"):

    def _writev_all(fd, buffers):
        return os.writev(fd, buffers)


    def _writev(fd, header, body):
        return os.writev(fd, (header, body))

else:  # pragma: no cover - platforms without writev

    def _writev(fd, header, body):
        return os.write(fd, header + body)

    def _writev_all(fd, buffers):
        return os.write(fd, b"".join(buffers))

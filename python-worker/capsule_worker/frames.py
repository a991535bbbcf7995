"""Messages to frames and back: a codec (MessagePack when importable, JSON with ``$b``/``$esc`` tagging
otherwise) turns a message into a body, and a frame is a big-endian uint32 body length, then the body.

Each codec's library is imported only once chosen: each costs milliseconds of start-up.
"""

import binascii
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


# ── codecs ──────────────────────────────────────────────────────────────────────────────────

#: Codec names in the order the worker prefers them when the host offers no list.
DEFAULT_CODECS = ("msgpack", "json")
_BASE64_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="


class CodecUnavailable(Exception):
    """No offered codec can be used by this interpreter."""


class MsgpackCodec:
    """MessagePack: bytes are ``bin``, strings ``str`` (use_bin_type=True, raw=False)."""

    name = "msgpack"

    def __init__(self):
        import msgpack

        self._packb = msgpack.packb
        self._unpackb = msgpack.unpackb

    def encode(self, obj):
        """Encode one message to bytes; raises TypeError/ValueError for unsupported values."""
        return self._packb(obj, use_bin_type=True)

    def decode(self, body):
        """Decode one frame body; raises ValueError for anything malformed."""
        try:
            return self._unpackb(body, raw=False)
        except ValueError:
            raise
        except Exception as exc:  # msgpack's own errors (ExtraData, FormatError, StackError, ...)
            raise ValueError("undecodable msgpack body: %s" % (exc,)) from None


def _reject_constant(name):
    raise ValueError("JSON constant %s is not allowed" % name)


#: Types that JSON holds as they are: a value of one of these is never looked into.
_PLAIN = frozenset((str, int, float, bool, type(None)))


def tag(obj):
    """Make ``obj`` JSON-safe: bytes → ``{"$b": base64}``, tag look-alike maps → ``{"$esc": map}``.

    Returns ``obj`` itself when nothing needed changing, so plain messages are not copied.
    """
    t = type(obj)
    if t in _PLAIN:
        return obj
    if isinstance(obj, dict):
        out = obj
        for key, value in obj.items():
            if type(value) in _PLAIN:
                continue  # most fields of most messages: no call, no copy
            new = tag(value)
            if new is not value:
                if out is obj:
                    out = dict(obj)
                out[key] = new
        if len(out) == 1 and next(iter(out)) in ("$b", "$esc"):
            return {"$esc": out}
        return out
    if isinstance(obj, (list, tuple)):
        out = obj if t is list else list(obj)
        for index, value in enumerate(obj):
            if type(value) in _PLAIN:
                continue
            new = tag(value)
            if new is not value:
                if out is obj:
                    out = list(obj)
                out[index] = new
        return out
    if isinstance(obj, (bytes, bytearray, memoryview)):
        return {"$b": binascii.b2a_base64(bytes(obj), newline=False).decode("ascii")}
    return obj  # str/int/float subclasses and anything json itself accepts or rejects


def untag(obj):
    """Reverse :func:`tag` in place: ``{"$b": s}`` → bytes; ``{"$esc": m}`` → ``m`` (keys kept as is)."""
    t = type(obj)
    if t is dict:
        if len(obj) == 1:
            key, value = next(iter(obj.items()))
            if key == "$b":
                if not isinstance(value, str):
                    raise ValueError("$b tag must hold a base64 string")
                try:
                    data = value.encode("ascii")
                    # a2b_base64 skips stray characters unless strict (3.11+): check them first.
                    if data.translate(None, _BASE64_ALPHABET) or len(data) % 4:
                        raise ValueError
                    return binascii.a2b_base64(data)
                except (binascii.Error, UnicodeEncodeError, ValueError):
                    raise ValueError("$b tag holds invalid base64") from None
            if key == "$esc":
                if not isinstance(value, dict):
                    raise ValueError("$esc tag must hold a map")
                _untag_values(value)
                return value
        _untag_values(obj)
        return obj
    if t is list:
        for index, value in enumerate(obj):
            if type(value) is dict or type(value) is list:
                obj[index] = untag(value)
    return obj


def _untag_values(mapping):
    # Only maps and lists can hold tags: scalar values (most of them) are left alone.
    for k, v in mapping.items():
        if type(v) is dict or type(v) is list:
            new = untag(v)
            if new is not v:
                mapping[k] = new


class JsonCodec:
    """JSON (UTF-8, no NaN/Infinity) with bytes tagged as ``{"$b": base64}``."""

    name = "json"

    def __init__(self):
        import json

        self._dumps = json.JSONEncoder(
            ensure_ascii=False, allow_nan=False, separators=(",", ":")
        ).encode
        self._loads = json.loads

    def encode(self, obj):
        """Encode one message to UTF-8 JSON bytes; raises TypeError/ValueError for unsupported values."""
        return self._dumps(tag(obj)).encode("utf-8")

    def decode(self, body):
        """Decode one frame body; raises ValueError for anything malformed."""
        try:
            text = bytes(body).decode("utf-8")
            return untag(self._loads(text, parse_constant=_reject_constant))
        except RecursionError:
            raise ValueError("JSON body nested too deeply") from None


_CODECS = {"msgpack": MsgpackCodec, "json": JsonCodec}


def choose_codec(names):
    """Return an instance of the first codec in ``names`` this interpreter can use."""
    for name in names:
        factory = _CODECS.get(name)
        if factory is None:
            continue
        try:
            return factory()
        except ImportError:
            continue
    raise CodecUnavailable("none of the offered codecs is usable: %s" % ",".join(names))


def codec_names(value):
    """Parse ``CAPSULE_CODECS`` (comma-separated, in order of preference)."""
    if not value:
        return list(DEFAULT_CODECS)
    return [part.strip() for part in value.split(",") if part.strip()]

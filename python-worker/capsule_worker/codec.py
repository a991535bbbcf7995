"""Message codecs: MessagePack when importable, JSON (with ``$b``/``$esc`` tagging) otherwise.

Both codec modules are imported lazily, only once chosen: each costs milliseconds of start-up.
"""

import binascii

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

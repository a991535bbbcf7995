"""The reader thread: the only reader of the host-to-worker pipe.

It answers ``heartbeat`` itself (even while a cell runs), turns ``interrupt`` into a signal,
settles capability calls, and hands ``init``, ``execute`` and ``shutdown`` to the main thread.
"""

from capsule_worker.frames import ProtocolError

#: Queued for the main thread when the host closes the pipe cleanly.
EOF_MESSAGE = {"type": "eof"}


def _is_int(value):
    return type(value) is int  # bool is not an id


def _need_int(message, field):
    value = message.get(field)
    if not _is_int(value) or value < 0:
        raise ProtocolError("%s.%s must be a non-negative integer" % (message["type"], field))
    return value


def _need_str(message, field):
    value = message.get(field)
    if not isinstance(value, str):
        raise ProtocolError("%s.%s must be a string" % (message["type"], field))
    return value


class Channel:
    """Reads and dispatches host frames on its own thread."""

    def __init__(self, reader, codec, writer, deliver, calls, on_interrupt, on_init_frame_limit):
        self._reader = reader
        self._codec = codec
        self._writer = writer
        self._deliver = deliver
        self._calls = calls
        self._on_interrupt = on_interrupt
        self._set_frame_limit = on_init_frame_limit
        self._initialized = False

    def run(self):
        """Read until end of file; raises ProtocolError for a bad frame."""
        while True:
            body = self._reader.read_frame()
            if body is None:
                self._deliver(EOF_MESSAGE)
                return
            try:
                message = self._codec.decode(body)
            except ValueError as exc:
                raise ProtocolError("undecodable frame: %s" % (exc,)) from None
            self.dispatch(message)

    def dispatch(self, message):
        """Route one decoded message."""
        if not isinstance(message, dict) or not isinstance(message.get("type"), str):
            raise ProtocolError("a message must be a map with a string type")
        kind = message["type"]
        if kind == "heartbeat":
            self._writer.send({"type": "heartbeat", "seq": _need_int(message, "seq")})
        elif kind == "shutdown":
            self._deliver(message)
        elif not self._initialized:
            if kind != "init":
                raise ProtocolError("%s before init" % kind)
            self._initialized = True
            options = message.get("options")
            limit = options.get("maxFrameBytes") if isinstance(options, dict) else None
            if limit is not None:
                if not _is_int(limit) or limit < 1024:
                    raise ProtocolError("init.options.maxFrameBytes must be an integer >= 1024")
                self._set_frame_limit(limit)
            self._deliver(message)
        elif kind == "execute":
            _need_int(message, "id")
            _need_str(message, "code")
            self._deliver(message)
        elif kind == "interrupt":
            self._on_interrupt(_need_int(message, "id"))
        elif kind == "call_result":
            if "value" not in message:
                raise ProtocolError("call_result.value is missing")
            self._calls.settle(_need_int(message, "id"), True, message["value"])
        elif kind == "call_error":
            call_id = _need_int(message, "id")
            self._calls.settle(call_id, False, _need_str(message, "code"), _need_str(message, "message"))
        elif kind == "init":
            raise ProtocolError("a second init")
        else:
            raise ProtocolError("unknown message type %r" % (kind,))

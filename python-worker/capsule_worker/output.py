"""Output capture: ``sys.stdout``/``sys.stderr`` writers, the fd 1/2 pump, and the sink that holds
output until the :class:`~capsule_worker.sender.Sender` sends it as ``stream`` frames.

Lock order (never taken the other way round): the sender's lock → FdPump.lock → OutputSink.lock.
Nothing here sends a frame, so ``OutputSink.write`` is safe from any thread and under the pump's lock.
"""

import codecs
import io
import os
import select
import threading
from time import monotonic

#: Flush as soon as this much output is pending.
FLUSH_AT_BYTES = 64 * 1024
#: Upper bound of one ``stream`` frame's text, in UTF-8 bytes (also at most maxFrameBytes / 2).
MAX_STREAM_CHUNK_BYTES = 1024 * 1024
#: Sent once on stderr when an execution's output passes ``maxOutputBytes``.
TRUNCATION_MARKER = "\n[capsule: output truncated]\n"
_PIPE_READ = 65536
#: A drain before a result reads at most this many chunks per pipe, so a child that never stops
#: writing cannot hold the result back forever.
_MAX_DRAIN_READS = 64


def utf8_len(text):
    """Number of bytes ``text`` takes in UTF-8 (fast for ASCII)."""
    if text.isascii():
        return len(text)
    return len(text.encode("utf-8", "surrogatepass"))


def clean_text(text):
    """Replace lone surrogates, which neither codec can carry, with backslash escapes."""
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")


def utf8_chunks(text, limit):
    """Yield pieces of ``text`` of at most ``limit`` UTF-8 bytes, never split inside a character.

    A generator, so each piece can be sent and freed before the next is cut: a 50 MB write holds one
    piece beside the text, not a second copy of all of it. Walks offsets instead of re-slicing the
    remainder, so the text is passed over once.
    """
    if text.isascii():
        for start in range(0, len(text), limit):
            yield text[start : start + limit]
        return
    data = text.encode("utf-8")
    start, size = 0, len(data)
    while start < size:
        end = min(start + limit, size)
        while end < size and (data[end] & 0xC0) == 0x80:
            end -= 1
        yield data[start:end].decode("utf-8")
        start = end


def utf8_prefix(text, limit):
    """The longest prefix of ``text`` whose UTF-8 form fits in ``limit`` bytes, and the rest."""
    if len(text) <= limit and text.isascii():
        return text, ""
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text, ""
    cut = limit
    while cut > 0 and (data[cut] & 0xC0) == 0x80:  # do not split a multi-byte character
        cut -= 1
    head = data[:cut].decode("utf-8")
    return head, text[len(head) :]


class OutputSink:
    """Buffers output per stream name and caps it per execution, until the sender takes it.

    Output written while no execution runs is held (within the cap) and taken with the next one.
    :meth:`wait_due` is the flusher thread's wait: output is due ``flush_ms`` after it first
    arrives, or at once when ``FLUSH_AT_BYTES`` are pending (writers then flush themselves too).
    """

    def __init__(self):
        self.lock = threading.Lock()
        self._cond = threading.Condition(self.lock)
        self._chunks = []  # [name, [texts], nbytes] in order; consecutive writes coalesce
        self._pending = 0
        self.exec_id = None
        self.max_bytes = 10 * 1024 * 1024
        self.flush_s = 0.010
        self.chunk_bytes = MAX_STREAM_CHUNK_BYTES
        self.used = 0
        self.truncated = 0
        self._marker_sent = False
        self._closed = False

    def configure(self, max_bytes, flush_ms, max_frame_bytes):
        """Apply the session's ``init`` options."""
        with self.lock:
            self.max_bytes = max_bytes
            self.flush_s = flush_ms / 1000.0
            self.chunk_bytes = max(1024, min(MAX_STREAM_CHUNK_BYTES, max_frame_bytes // 2))

    def write(self, name, text):
        """Queue ``text`` on stream ``name``; returns True when enough is pending to flush now."""
        n = utf8_len(text)
        with self.lock:
            room = self.max_bytes - self.used
            if n > room:
                if room > 0:
                    text, rest = utf8_prefix(text, room)
                    kept = utf8_len(text)
                else:
                    text, kept = "", 0
                self.truncated += n - kept
                n = kept
                self.used = self.max_bytes
                if text:
                    self._append(name, text, n)
                if not self._marker_sent:
                    self._marker_sent = True
                    self._append("stderr", TRUNCATION_MARKER, len(TRUNCATION_MARKER))
                return False
            if not n:
                return False
            self.used += n
            self._append(name, text, n)
            return self._pending >= FLUSH_AT_BYTES

    def _append(self, name, text, n):
        chunks = self._chunks
        if chunks and chunks[-1][0] == name:
            last = chunks[-1]
            last[1].append(text)
            last[2] += n
        else:
            chunks.append([name, [text], n])
        was = self._pending
        self._pending = was + n
        if not was or self._pending >= FLUSH_AT_BYTES:
            self._cond.notify()

    def begin(self, exec_id):
        """An execution starts: held output now belongs to it (caller holds the sender's lock)."""
        with self.lock:
            self.exec_id = exec_id
            if self._chunks:
                self._cond.notify()

    def end(self):
        """The execution's result was sent: reset the cap (caller holds the sender's lock)."""
        with self.lock:
            self.exec_id = None
            self.used = 0
            self.truncated = 0
            self._marker_sent = False

    def take(self):
        """Everything pending and the execution it belongs to, as ``(exec_id, [(name, text, nbytes)])``;
        ``(None, ())`` while no execution runs (output is held) or nothing is pending."""
        with self.lock:
            exec_id = self.exec_id
            if exec_id is None or not self._chunks:
                return None, ()
            chunks = self._chunks
            self._chunks = []
            self._pending = 0
        return exec_id, [
            (name, "".join(texts) if len(texts) > 1 else texts[0], nbytes) for name, texts, nbytes in chunks
        ]

    def wait_due(self):
        """Block until pending output is due (True) or the sink is closed (False). Never polls."""
        cond = self._cond
        with cond:
            while not (self._chunks and self.exec_id is not None) and not self._closed:
                cond.wait()
            if self._closed:
                return False
            deadline = monotonic() + self.flush_s
            while self._pending < FLUSH_AT_BYTES and self._chunks:
                remaining = deadline - monotonic()
                if remaining <= 0:
                    break
                cond.wait(remaining)
        return True

    def close(self):
        """Stop the flusher thread."""
        with self.lock:
            self._closed = True
            self._cond.notify_all()


class StreamWriter(io.TextIOBase):
    """``sys.stdout``/``sys.stderr``: a buffered text stream whose output the sender sends."""

    def __init__(self, sender, name, fd, gate=None):
        self._sink = sender.sink
        self._flush = sender.flush_streams
        self._name = name
        self._fd = fd
        self._gate = gate
        self.buffer = _BinaryWriter(self)

    @property
    def name(self):
        return "<%s>" % self._name

    @property
    def encoding(self):
        return "utf-8"

    @property
    def errors(self):
        return "backslashreplace"

    def writable(self):
        return True

    def isatty(self):
        return False

    def fileno(self):
        # The real fd 1/2 is our pipe, so writes through it are captured too.
        return self._fd

    def write(self, s):
        if type(s) is not str:
            if not isinstance(s, str):
                raise TypeError("write() argument must be str, not %s" % type(s).__name__)
            s = str(s)
        if s and self._sink.write(self._name, clean_text(s)):
            self._flush()
        gate = self._gate
        if gate is not None and gate.pending:
            gate.deliver_pending()  # an interrupt that arrived while we held the sink's state
        return len(s)

    def flush(self):
        self._flush()


class _BinaryWriter(io.RawIOBase):
    """``sys.stdout.buffer``: decodes UTF-8 (errors replaced) into the text stream."""

    def __init__(self, text):
        self._text = text
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")

    def writable(self):
        return True

    def write(self, b):
        data = bytes(b)
        text = self._decoder.decode(data)
        if text:
            self._text.write(text)
        return len(data)

    def flush(self):
        self._text.flush()

    def fileno(self):
        return self._text.fileno()


class FdPump:
    """Forwards what arrives on the fd 1/2 pipes (child processes, ``os.write``) into the sink.

    One thread waits in ``poll``; :meth:`drain` empties the pipes without blocking before a
    result is sent. Both read under ``lock`` so bytes are decoded in order.
    """

    def __init__(self, sink, stdout_fd, stderr_fd):
        self._sink = sink
        self.lock = threading.Lock()
        self._streams = {
            stdout_fd: ("stdout", codecs.getincrementaldecoder("utf-8")("replace")),
            stderr_fd: ("stderr", codecs.getincrementaldecoder("utf-8")("replace")),
        }
        # One poll(0) tells which pipes hold anything: cheaper than a failing read per pipe on
        # every execution. The pump thread has its own poller (poll objects are not shared).
        self._drain_poller = select.poll()
        for fd in self._streams:
            self._drain_poller.register(fd, select.POLLIN)

    def _read(self, fd, max_reads):
        """Read what is available on ``fd`` (lock held); returns False once the pipe is closed."""
        name, decoder = self._streams[fd]
        for _ in range(max_reads):
            try:
                data = os.read(fd, _PIPE_READ)
            except BlockingIOError:
                return True
            if not data:
                return False  # every write end closed (user code closed fd 1/2)
            text = decoder.decode(data)
            if text:
                # The sink wakes the flusher itself once enough is pending.
                self._sink.write(name, clean_text(text))
            if len(data) < _PIPE_READ:
                return True
        return True

    def drain(self):
        """Move everything already in the pipes into the sink (non-blocking)."""
        with self.lock:
            for fd, _event in self._drain_poller.poll(0):
                self._read(fd, _MAX_DRAIN_READS)

    def run(self):
        """Body of the pump thread."""
        poller = select.poll()
        for fd in self._streams:
            poller.register(fd, select.POLLIN)
        open_fds = len(self._streams)
        while open_fds:
            for fd, _event in poller.poll():
                with self.lock:
                    alive = self._read(fd, 4)
                if not alive:
                    poller.unregister(fd)
                    open_fds -= 1

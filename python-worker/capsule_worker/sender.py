"""Every frame the worker writes leaves through :class:`Sender`, output first.

The invariant it keeps: every byte printed before a ``display``, ``call``, ``result`` or ``error``
reaches the host before that frame, and no frame names an execution whose result was sent.
"""

import sys
import threading

from capsule_worker.frames import FrameTooLarge
from capsule_worker.output import FdPump, OutputSink, utf8_chunks, utf8_prefix


class Sender:
    """Owns the output lock, the frame writer, the output sink and the fd pump.

    Frames of an execution (``stream``, ``display``, ``call``, ``result``, ``error``) are written
    under :attr:`lock` after the output pending before them; control frames (``heartbeat``,
    ``call_cancel``, ``ready``) go through :meth:`send` at once, from any thread.
    """

    def __init__(self, writer, stdout_r, stderr_r):
        self.writer = writer
        # Held while output is flushed and the frame after it is written (reentrant: a flush may
        # happen inside a send that already holds it).
        self.lock = threading.RLock()
        self.sink = OutputSink()
        self.pump = FdPump(self.sink, stdout_r, stderr_r)
        #: The execution whose frames are being sent, or None between executions.
        self.running_id = None

    # -- set-up ---------------------------------------------------------------------------------

    def configure(self, max_output_bytes, flush_ms, max_frame_bytes):
        """Apply the session's ``init`` output options."""
        self.sink.configure(max_output_bytes, flush_ms, max_frame_bytes)

    def set_frame_limit(self, limit):
        """``init.options.maxFrameBytes``: the host's limit on what we write."""
        self.writer.max_bytes = limit

    def run_pump(self):
        """Body of the fd pump thread."""
        self.pump.run()

    def run_flusher(self):
        """Body of the flusher thread: sends output once it is due."""
        while self.sink.wait_due():
            self.flush_streams()

    # -- control frames -------------------------------------------------------------------------

    def send(self, message):
        """Write one frame that no output must precede (any thread)."""
        self.writer.send(message)

    # -- an execution's frames ------------------------------------------------------------------

    def begin(self, exec_id):
        """Execution ``exec_id`` starts: output held while idle now belongs to it."""
        with self.lock:
            self.running_id = exec_id
            self.sink.begin(exec_id)

    def finish(self, fields):
        """Send the execution's ``result``/``error`` after its output; then it is no longer running."""
        with self.lock:
            self.flush()
            fields["truncated"] = self.sink.truncated
            if fields["type"] == "result" and fields["value"] is not None:
                self._send_fitting(fields, fields["value"])
            else:
                self._send_final(fields)
            self.running_id = None
            self.sink.end()

    def display(self, bundle):
        """Send ``bundle`` as a ``display`` of the running execution (dropped while none runs)."""
        with self.lock:
            exec_id = self.running_id
            if exec_id is None:
                return  # no execution to attach it to (a background thread after its cell)
            self.flush()
            self._send_fitting({"type": "display", "id": exec_id, "data": bundle, "metadata": {}}, bundle)

    def call(self, message):
        """Stamp ``message`` with the running execution, send it after its output; returns that id."""
        with self.lock:
            exec_id = self.running_id
            if exec_id is not None:
                self.flush()
            message["exec"] = exec_id
            self.writer.send(message)
            return exec_id

    def encode_call(self, message):
        """Stamp and encode a call now (errors surface at the call site); :meth:`send_calls` writes it."""
        exec_id = message["exec"] = self.running_id
        return exec_id, self.writer.encode(message)

    def send_calls(self, bodies):
        """Write calls encoded in one turn of the event loop, after the output before them."""
        with self.lock:
            if self.running_id is not None:
                self.flush()
            self.writer.send_bodies(bodies)

    # -- output ---------------------------------------------------------------------------------

    def flush(self):
        """Send every byte printed so far (Python buffers and the fd pipes) for the running execution."""
        with self.lock:
            for stream in (sys.__stdout__, sys.__stderr__):
                try:
                    if stream is not None:
                        stream.flush()
                except (OSError, ValueError):
                    pass
            self.pump.drain()
            self._send_pending()

    def flush_streams(self):
        """Send what ``sys.stdout``/``sys.stderr`` hold (not the fd pipes): their flush, and the flusher's."""
        with self.lock:
            self._send_pending()

    def flush_before_abort(self):
        """``os.abort()``: send buffered output, without waiting long for a thread writing a frame."""
        if not self.lock.acquire(timeout=1.0):
            return
        try:
            self.flush()
        except BaseException:
            pass
        finally:
            self.lock.release()

    def _send_pending(self):
        exec_id, chunks = self.sink.take()
        if exec_id is None:
            return
        limit = self.sink.chunk_bytes
        for name, text, nbytes in chunks:
            if nbytes <= limit:
                self._send_stream(exec_id, name, text)
                continue
            for piece in utf8_chunks(text, limit):
                self._send_stream(exec_id, name, piece)

    def _send_stream(self, exec_id, name, text):
        try:
            self.writer.send({"type": "stream", "id": exec_id, "name": name, "text": text})
        except FrameTooLarge:
            # Only JSON escaping can push a chunk past the limit: send it in halves.
            half = len(text) // 2
            self._send_stream(exec_id, name, text[:half])
            self._send_stream(exec_id, name, text[half:])

    def _send_fitting(self, message, bundle):
        try:
            self.writer.send(message)
            return
        except (FrameTooLarge, TypeError, ValueError, OverflowError):
            pass
        # Too big or not encodable: keep the plain-text repr only, cut to fit a frame.
        from capsule_worker.bundle import TRUNCATED_SUFFIX

        text = bundle.get("text/plain", "")
        for key in list(bundle):
            del bundle[key]
        head, rest = utf8_prefix(text, self.writer.max_bytes // 2)
        bundle["text/plain"] = head + TRUNCATED_SUFFIX if rest else head
        self.writer.send(message)

    def _send_final(self, fields):
        try:
            self.writer.send(fields)
        except (FrameTooLarge, TypeError, ValueError):
            # A gigantic traceback (deep recursion, a huge message): keep its ends.
            tb = fields.get("traceback", [])
            if len(tb) > 20:
                fields["traceback"] = tb[:10] + ["  ...\n"] + tb[-10:]
            fields["evalue"] = fields.get("evalue", "")[:4096]
            fields["traceback"] = [line[:4096] for line in fields["traceback"]]
            self.writer.send(fields)

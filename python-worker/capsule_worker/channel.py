"""The host-to-worker pipe: one reader at a time, and one declared handler per message type.

Two threads read the pipe, never both at once. The reader thread reads whenever nobody else
does, so heartbeats are answered and interrupts arrive while a cell runs. The main thread, while
it waits for the answer to its own capability call, reads the pipe itself (:meth:`Channel.wait_for`):
the answer then reaches it without a thread switch, and it dispatches whatever else arrives
meanwhile exactly as the reader thread would. The idle main thread, with no event loop to run,
reads the pipe the same way until a message for it is queued (:meth:`Channel.serve_idle`), so an
``execute`` reaches it without a thread switch either. Once the session has an event loop, the loop's
wait reads the pipe the same way (:meth:`Channel.serve_for_loop`, from
:mod:`capsule_worker.loop_selector`), so answers to a cell's async calls and the next ``execute``
reach the loop without the reader thread waking it. The turn passes under ``_cond``; ``_holder``
names the thread that reads now. Only the holder touches the FrameReader. Before it sleeps, the
main thread polls for a moment (:class:`capsule_worker.pipe_waits.AnswerSpin`).

While the main thread holds the turn, SIGINT may interrupt it only where nothing is half done:
in :meth:`Channel._await_frame` and :meth:`Channel._loop_wait` (waiting for bytes) and
:meth:`Channel._park` (waiting for the turn or the answer). Everywhere else the gate defers it to
the next of those points.
"""

import math
import threading

from capsule_worker.frames import ProtocolError
from capsule_worker.pipe_waits import POLLIN, AnswerSpin, ReaderWait, poller_for
from capsule_worker.stdio import EXIT_INTERNAL, EXIT_PROTOCOL

#: Handed to the main thread when the host closes the pipe cleanly.
EOF_MESSAGE = {"type": "eof"}
_READER = "reader"
_MAIN = "main"


def _is_int(value):
    return type(value) is int  # bool is not an id


def _need_int(message, field):
    value = message.get(field)
    if type(value) is not int or value < 0:
        raise ProtocolError("%s.%s must be a non-negative integer" % (message["type"], field))
    return value


def _need_str(message, field):
    value = message.get(field)
    if not isinstance(value, str):
        raise ProtocolError("%s.%s must be a string" % (message["type"], field))
    return value


class Channel:
    """Reads host frames (on whichever thread holds the turn) and routes each by its type.

    ``calls`` (the CallManager) is attached by the worker once both exist: answers go to it,
    and it waits on :meth:`wait_for`. ``fatal(status, line)`` ends the process on a bad frame.
    """

    #: Host message type → the method that checks its envelope and routes it, as ipykernel's
    #: ``shell_handlers``. Before ``init`` only the first three are accepted.
    HANDLERS = {
        "heartbeat": "on_heartbeat",
        "shutdown": "to_main",
        "init": "on_init",
        "execute": "on_execute",
        "interrupt": "on_interrupt",
        "call_result": "on_call_result",
        "call_error": "on_call_error",
        "checkpoint": "on_checkpoint",
        "restore": "on_restore",
        "restore_chunk": "on_restore_chunk",
    }
    BEFORE_INIT = frozenset(("heartbeat", "shutdown", "init"))

    def __init__(self, reader, codec, sender, gate, inbox, fatal):
        self._reader = reader
        self._decode = codec.decode
        self._sender = sender
        self._gate = gate
        self._inbox = inbox
        self._fatal = fatal
        self.calls = None
        self._handlers = {kind: getattr(self, name) for kind, name in self.HANDLERS.items()}
        self._initialized = False
        self._restoring = None
        self._cond = threading.Condition(threading.Lock())
        self._holder = None
        self._eof = False
        # Each reading thread has its own poll object (they are not meant to be shared).
        self._main_poller = poller_for(reader.fd)
        # The event loop's waits: selector fd → a poll object for it and the pipe (serve_for_loop).
        self._loop_pollers = {}
        #: The main thread's waits on the pipe: a short spin, then poll (pipe_waits.AnswerSpin).
        self._spin = AnswerSpin()
        self._reader_wait = ReaderWait(reader.fd)

    # -- the reader thread ----------------------------------------------------------------------

    def run(self):
        """Body of the reader thread: read and dispatch until end of file; then hand ``eof`` over.

        A bad frame, or a failed read, ends the process from here with the turn held; OSError
        from the wait for bytes is raised.
        """
        reader = self._reader
        wait = self._reader_wait
        while True:
            if not reader.buffered:
                wait.readable()  # readable, not read: the main thread may take these bytes first
            self._take_for_reader()
            try:
                if not reader.buffered and not wait.readable_now():
                    continue  # the main thread read what woke us
                if not self._serve_one():
                    self._eof = True
                    break
            except (ProtocolError, OSError) as exc:
                # Ended with the turn still held: the idle main thread must not read the bad
                # frame again (and report it a second time) before the process is gone.
                self._read_failed(exc)
            finally:
                self._give_back(_READER)
        self._inbox.put(EOF_MESSAGE)

    def _take_for_reader(self):
        with self._cond:
            while self._holder is not None:
                self._cond.wait()
            self._holder = _READER

    # -- the main thread, waiting for its call's answer -------------------------------------------

    def wait_for(self, waiter, send, *args):
        """Write a call with ``send(*args)`` and block the main thread until ``waiter.outcome`` is
        set, reading the pipe meanwhile whenever the turn is free; returns what ``send`` returned.

        The turn is taken before the call is written, so the answer cannot wake the reader thread
        first. KeyboardInterrupt (or what the user's SIGINT handler raises) leaves it at a frame
        boundary.
        """
        # A call made by a SIGINT handler that ran while this thread served the pipe serves it too.
        nested = self._holder is _MAIN
        if nested:  # its poll object is busy in the interrupted wait below us
            outer_poller, self._main_poller = self._main_poller, poller_for(self._reader.fd)
        try:
            if not nested:
                self._take_for_main()
            sent = send(*args)
            while waiter.outcome is None:
                if self._holder is _MAIN or self._take_for_main():
                    self._serve_until(waiter)
                else:
                    self._park(waiter)
            return sent
        finally:
            if nested:
                self._main_poller = outer_poller
            else:
                self._give_back(_MAIN)

    def serve_idle(self, has_message):
        """Read and dispatch frames on the idle main thread until ``has_message()`` is true.

        Returns early, with nothing queued, only at end of file (the reader thread then hands
        ``eof`` over through the inbox). No user code runs here and the gate is disarmed, so a
        SIGINT meanwhile is ignored as it would be with the main thread blocked on the inbox.
        """
        while not has_message():
            if self._take_for_main():
                self._serve_idle_turn(has_message)
            elif self._eof:
                return
            else:
                self._wait_for_turn()

    def _serve_idle_turn(self, has_message):
        reader = self._reader
        try:
            while not has_message():
                if not reader.has_frame():
                    self._await_frame()
                if not self._serve_one():
                    return self._end_of_file()
            if not self._serve_buffered():
                return self._end_of_file()
        except (ProtocolError, OSError) as exc:
            self._read_failed(exc)
        finally:
            self._give_back(_MAIN)

    def serve_for_loop(self, selector_fd, timeout):
        """The event loop's wait (:mod:`capsule_worker.loop_selector`): until the loop's selector
        ``selector_fd`` or the pipe is ready, or ``timeout`` seconds pass; frames that came are served.

        False, having waited for nothing, when the turn is not free (the reader thread is mid-frame,
        or end of file): the caller then waits in its own selector.
        """
        if not self._take_for_main():
            return False
        reader = self._reader
        try:
            if reader.has_frame() or self._loop_wait(selector_fd, timeout):
                if not (self._serve_one() and self._serve_buffered()):
                    self._end_of_file()
        except (ProtocolError, OSError) as exc:
            self._read_failed(exc)
        finally:
            self._give_back(_MAIN)
        return True

    def _loop_wait(self, selector_fd, timeout):
        # True when the pipe is readable. Interruptible, as the default selector's wait is: nothing is
        # half done here. One poll object per loop selector, kept for the next wait.
        poller = self._loop_pollers.get(selector_fd)
        if poller is None:
            poller = self._loop_pollers[selector_fd] = poller_for(self._reader.fd)
            poller.register(selector_fd, POLLIN)
        ms = -1 if timeout is None else math.ceil(timeout * 1e3)
        pipe = self._reader.fd
        return any(fd == pipe for fd, _ in self._spin.poll(poller, ms))

    def _wait_for_turn(self):
        with self._cond:
            while self._holder is not None and not self._eof:
                self._cond.wait()

    def wake_main(self):
        """Another thread settled the main thread's call: wake it if it is parked."""
        with self._cond:
            self._cond.notify_all()

    def _take_for_main(self):
        with self._cond:
            if self._holder is None and not self._eof:
                self._holder = _MAIN
                self._reader_wait.mute()
                return True
            return False

    def _park(self, waiter):
        # Interruptible: the turn is someone else's, so nothing here is half done.
        with self._cond:
            while waiter.outcome is None and (self._holder is not None or self._eof):
                self._cond.wait()

    def _serve_until(self, waiter):
        reader = self._reader
        gate = self._gate
        try:
            while waiter.outcome is None:
                if not reader.has_frame():
                    gate.deliver_pending()  # an interrupt deferred while a frame was dispatched
                    self._await_frame()
                    if self._holder is not _MAIN:
                        return  # a nested wait (a SIGINT handler's call) met end of file
                if not self._serve_one():
                    return self._end_of_file()
            if not self._serve_buffered():  # frames that came with the answer
                return self._end_of_file()
        except (ProtocolError, OSError) as exc:
            self._read_failed(exc)

    def _serve_buffered(self):
        # Served before the main thread gives the turn back: after that only new bytes on the
        # pipe wake the reader thread. False at end of file.
        while self._reader.buffered:
            if not self._serve_one():
                return False
        return True

    def _read_failed(self, exc):
        if isinstance(exc, ProtocolError):
            self._fatal(EXIT_PROTOCOL, "protocol error: %s" % (exc,))
        else:
            self._fatal(EXIT_INTERNAL, "reading frames failed: %s" % (exc,))

    def _end_of_file(self):
        # The reader thread must see it too: it interrupts the running cell and ends the worker.
        self._eof = True
        self._give_back(_MAIN)

    def _await_frame(self):
        # Interruptible: the main thread's only wait while it holds the turn.
        self._spin.poll(self._main_poller, None)

    def _give_back(self, who):
        with self._cond:
            if self._holder is who:
                self._holder = None
                if who is _MAIN:
                    self._reader_wait.unmute()
                self._cond.notify_all()

    # -- frames ---------------------------------------------------------------------------------

    def _serve_one(self):
        """Read one frame and dispatch it (turn held); False at end of file."""
        body = self._reader.read_frame()
        if body is None:
            return False
        try:
            message = self._decode(body)
        except ValueError as exc:
            raise ProtocolError("undecodable frame: %s" % (exc,)) from None
        self.dispatch(message)
        return True

    def dispatch(self, message):
        """Route one decoded message to its handler; raises ProtocolError for a bad one."""
        if type(message) is not dict or type(message.get("type")) is not str:
            raise ProtocolError("a message must be a map with a string type")
        kind = message["type"]
        if not self._initialized and kind not in self.BEFORE_INIT:
            raise ProtocolError("%s before init" % kind)
        handler = self._handlers.get(kind)
        if handler is None:
            raise ProtocolError("unknown message type %r" % (kind,))
        handler(message)

    # -- handlers -------------------------------------------------------------------------------

    def on_heartbeat(self, message):
        self._sender.send({"type": "heartbeat", "seq": _need_int(message, "seq")})

    def to_main(self, message):
        self._inbox.put(message)

    def on_init(self, message):
        if self._initialized:
            raise ProtocolError("a second init")
        self._initialized = True
        options = message.get("options")
        limit = options.get("maxFrameBytes") if isinstance(options, dict) else None
        if limit is not None:
            if not _is_int(limit) or limit < 1024:
                raise ProtocolError("init.options.maxFrameBytes must be an integer >= 1024")
            self._reader.max_bytes = limit
            self._sender.set_frame_limit(limit)
        self._inbox.put(message)

    def on_execute(self, message):
        _need_int(message, "id")
        _need_str(message, "code")
        self._gate.accept(message["id"])
        self._inbox.put(message)

    def on_interrupt(self, message):
        self._gate.host_request(_need_int(message, "id"))

    def on_call_result(self, message):
        if "value" not in message:
            raise ProtocolError("call_result.value is missing")
        self.calls.settle(_need_int(message, "id"), True, message["value"])

    def on_checkpoint(self, message):
        _need_int(message, "id")
        self._inbox.put(message)

    def on_restore(self, message):
        from capsule_worker.snapshots import RestoreAssembly

        if self._restoring is not None:
            raise ProtocolError("a restore while another is arriving")
        assembly = RestoreAssembly(message)
        if assembly.total == 0:
            self._inbox.put({"type": "restore", "id": assembly.id, "payload": assembly.buffer})
        else:
            self._restoring = assembly

    def on_restore_chunk(self, message):
        assembly = self._restoring
        if assembly is None:
            raise ProtocolError("restore_chunk without a restore")
        if assembly.add(message):
            self._restoring = None
            self._inbox.put({"type": "restore", "id": assembly.id, "payload": assembly.buffer})

    def on_call_error(self, message):
        call_id = _need_int(message, "id")
        self.calls.settle(call_id, False, _need_str(message, "code"), _need_str(message, "message"))


#: Where the gate may raise KeyboardInterrupt on the main thread while it serves the pipe.
INTERRUPTIBLE = (Channel._await_frame, Channel._park, Channel._loop_wait, AnswerSpin.poll)

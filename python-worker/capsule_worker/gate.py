"""Turns an ``interrupt`` from the host into a KeyboardInterrupt in user code, and only there."""

import os
import sys
import time
import _signal
import _thread

#: How long a deferred interrupt waits before it is tried again.
RETRY_INTERRUPT_S = 0.005


class InterruptGate:
    """The SIGINT handler and the state it needs.

    The reader thread calls :meth:`request`, which signals the main thread so blocking syscalls
    (``time.sleep``, a lock wait, ``select``) wake at once. The handler then decides:

    - not running user code, or a request for another execution → ignore;
    - an async cell whose task is parked in the event loop → cancel the task (no exception is
      raised inside asyncio's own code);
    - otherwise walk the stack: the first worker frame found decides. If it is one of the
      frames registered with :meth:`allow` (the frame that calls user code, a capability wait)
      the KeyboardInterrupt is raised; any other worker frame (writing a frame, buffering
      output) defers it, and it is retried a few milliseconds later.
    """

    def __init__(self, worker_dir):
        self._prefix = os.path.join(worker_dir, "")
        self._main_ident = _thread.get_ident()
        self._allowed = set()
        self._allowed_files = set()
        #: The execution whose user code runs on the main thread now, or None.
        self.armed_id = None
        #: The execution the host asked to interrupt (cleared at the next execution).
        self.requested_id = None
        #: The last execution the host asked to interrupt (kept after delivery).
        self.last_requested_id = None
        #: The running async cell's task and loop, while one runs.
        self.task = None
        self.loop = None
        #: Whether the current execution was interrupted by cancelling its task.
        self.cancelled = False
        #: An interrupt was deferred because a worker frame was running; delivered at the next
        #: safe point (:meth:`deliver_pending`) or by a retried signal.
        self.pending = False
        self._retry_scheduled = False

    def install(self):
        """Install the SIGINT handler (main thread only)."""
        _signal.signal(_signal.SIGINT, self._handle)

    def allow(self, *functions):
        """Let KeyboardInterrupt be raised while one of these functions is the innermost worker frame."""
        for fn in functions:
            self._allowed.add(fn.__code__)

    def allow_file(self, filename):
        """Let KeyboardInterrupt be raised in any function of this worker module (no frames written there)."""
        self._allowed_files.add(filename)

    def arm(self, exec_id):
        """User code of ``exec_id`` starts on the main thread."""
        self.armed_id = exec_id

    def disarm(self):
        """No user code runs on the main thread any more."""
        self.armed_id = None
        self.pending = False
        self.task = None
        self.loop = None

    def reset(self, exec_id):
        """Execution ``exec_id`` starts: forget interrupts of earlier ones (not one already asked for it)."""
        if self.requested_id != exec_id:
            self.requested_id = None
        self.cancelled = False

    def take_request(self, exec_id):
        """Whether an interrupt for ``exec_id`` arrived before its code ran (and consume it)."""
        if self.requested_id == exec_id:
            self.requested_id = None
            return True
        return False

    def request(self, exec_id):
        """Ask for ``exec_id`` to be interrupted (from any thread)."""
        self.requested_id = exec_id
        self.last_requested_id = exec_id
        _signal.pthread_kill(self._main_ident, _signal.SIGINT)

    def _handle(self, signum, frame):
        exec_id = self.armed_id
        if exec_id is None or exec_id != self.requested_id:
            return
        task = self.task
        if task is not None and not self.cancelled and not task.done():
            asyncio = sys.modules["asyncio"]
            if asyncio.current_task(self.loop) is None:
                # The loop is between steps (in its selector): cancel instead of raising in asyncio.
                self.cancelled = True
                self.requested_id = None  # delivered; a further request escalates to raising
                task.cancel()
                self.loop.call_soon_threadsafe(_nothing)  # wake the selector
                return
        prefix = self._prefix
        f = frame
        while f is not None:
            code = f.f_code
            if code.co_filename.startswith(prefix):
                if code in self._allowed or code.co_filename in self._allowed_files:
                    break
                self._defer()
                return
            f = f.f_back
        else:
            self._defer()
            return
        self.requested_id = None
        self.pending = False
        raise KeyboardInterrupt

    def deliver_pending(self):
        """Raise a deferred KeyboardInterrupt now, if one waits for this (main) thread's user code.

        Called by worker code that user code calls often (``sys.stdout.write``) once it is done
        with its own state, so a loop that mostly prints stops at once.
        """
        if (
            self.pending
            and self.armed_id is not None
            and self.requested_id == self.armed_id
            and _thread.get_ident() == self._main_ident
        ):
            self.pending = False
            self.requested_id = None
            raise KeyboardInterrupt

    def _defer(self):
        self.pending = True
        if not self._retry_scheduled:
            self._retry_scheduled = True
            _thread.start_new_thread(self._retry, (self.requested_id,))

    def _retry(self, exec_id):
        time.sleep(RETRY_INTERRUPT_S)
        self._retry_scheduled = False
        if exec_id is not None and self.requested_id == exec_id and self.armed_id == exec_id:
            _signal.pthread_kill(self._main_ident, _signal.SIGINT)


def _nothing():
    pass

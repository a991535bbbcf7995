"""Turns SIGINT into a KeyboardInterrupt (or the user's handler) in user code, and only there.

Two kinds of SIGINT reach the main thread: the worker's own, sent when the host asks for an
``interrupt``, and everyone else's (``_thread.interrupt_main()``, ``signal.raise_signal``,
``os.kill(os.getpid(), SIGINT)``, a kill from outside). The worker counts the ones it sends, so
the handler tells them apart; both are delivered the way plain CPython would deliver Ctrl-C.
"""

import os
import sys
import time
import _signal
import _thread

#: How long a deferred interrupt waits before it is tried again.
RETRY_INTERRUPT_S = 0.005
#: Longest wait between signals while the handler has not run yet.
MAX_RESIGNAL_S = 0.1
_SIGINT = _signal.SIGINT
# Dispositions that are not a Python handler.
_NOT_PYTHON = (_signal.SIG_IGN, _signal.SIG_DFL)


class InterruptGate:
    """The SIGINT handler and all the interrupt state of the worker.

    Which executions the host may interrupt (:meth:`accept` … :meth:`finished`), which one it
    asked for, which user code is armed, what user code installed with ``signal.signal``, and
    how many signals the worker sent and the handler saw: all of it lives here.

    The channel calls :meth:`host_request`, which signals the main thread so blocking syscalls
    (``time.sleep``, a lock wait, ``select``) wake at once. The handler then decides:

    - not running user code, or a request for another execution (and no SIGINT from user code)
      → ignore;
    - an async cell whose task is parked in the event loop → cancel the task (no exception is
      raised inside asyncio's own code);
    - otherwise walk the stack: the first worker frame found decides. If it is one of the
      frames registered with :meth:`allow` (the frame that calls user code, a capability wait)
      the interrupt is delivered; any other worker frame (writing a frame, buffering output)
      defers it, and it is retried a few milliseconds later.

    Delivering calls the handler user code installed with ``signal.signal(SIGINT, …)`` (the
    ``signal`` module is patched on import so the gate stays the real handler), or raises
    KeyboardInterrupt for ``default_int_handler``. ``SIG_IGN`` and ``SIG_DFL`` are installed
    for real, as in CPython: every SIGINT, the host's too, is then ignored (the host kills the
    worker after its grace period) or ends the process, and ``_thread.interrupt_main()`` does
    nothing.
    """

    def __init__(self, worker_dir):
        self._prefix = os.path.join(worker_dir, "")
        self._main_ident = _thread.get_ident()
        self._allowed = set()
        self._allowed_files = set()
        # Executions the channel accepted whose result is not sent yet: the ones an interrupt may name.
        self._accepted = set()
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
        #: What ``signal.signal(SIGINT, …)`` installed: default_int_handler, SIG_IGN, SIG_DFL or a callable.
        self.user_handler = _signal.default_int_handler
        # A SIGINT the worker did not send, waiting for user code to be safe to interrupt.
        self._user_owed = False
        # SIGINTs the worker sent itself (requests and retries) and how many the handler has seen.
        self._sent_lock = _thread.allocate_lock()
        self._sent = 0
        self._seen = 0

    def install(self):
        """Install the SIGINT handler (main thread only)."""
        _signal.signal(_SIGINT, self._handle)

    def allow(self, *functions):
        """Let the interrupt be delivered while one of these functions is the innermost worker frame."""
        for fn in functions:
            self._allowed.add(fn.__code__)

    def allow_file(self, filename):
        """Let the interrupt be delivered in any function of this worker module (no frames written there)."""
        self._allowed_files.add(filename)

    def arm(self, exec_id):
        """User code of ``exec_id`` starts on the main thread."""
        self.armed_id = exec_id

    def disarm(self):
        """No user code runs on the main thread any more."""
        self.armed_id = None
        self.pending = False
        self._user_owed = False
        self.task = None
        self.loop = None

    def reset(self, exec_id):
        """Execution ``exec_id`` starts: forget interrupts of earlier ones (not one already asked for it)."""
        if self.requested_id != exec_id:
            self.requested_id = None
        self.cancelled = False

    def take_request(self, exec_id):
        """Whether an interrupt for ``exec_id`` arrived before its code ran (and consume it).

        Under ``SIG_IGN`` the signal was ignored, so the request is dropped too."""
        if self.requested_id == exec_id:
            self.requested_id = None
            return self.user_handler not in _NOT_PYTHON
        return False

    def accept(self, exec_id):
        """The channel accepted ``execute`` ``exec_id``: the host may interrupt it from now on."""
        self._accepted.add(exec_id)

    def finished(self, exec_id):
        """``exec_id``'s result was sent: a late interrupt naming it is ignored."""
        self._accepted.discard(exec_id)

    def host_request(self, exec_id):
        """The host's ``interrupt``: honoured for an accepted execution whose result is not sent yet."""
        if exec_id in self._accepted:
            self.request(exec_id)

    def was_interrupted(self, exec_id):
        """Whether an interrupt was asked for ``exec_id`` (so a CANCELLED answer means the interrupt)."""
        return exec_id is not None and exec_id == self.last_requested_id

    def request(self, exec_id):
        """Ask for ``exec_id`` to be interrupted (from any thread)."""
        self.requested_id = exec_id
        self.last_requested_id = exec_id
        sent = self._signal_main()  # at once: a thread of its own would first wait for the GIL
        _thread.start_new_thread(self._signal_until_seen, (exec_id, sent))

    # -- what user code sees through the signal module ----------------------------------------

    def set_user_handler(self, handler):
        """``signal.signal(SIGINT, handler)``: validated as CPython does; returns the previous handler."""
        if _thread.get_ident() != self._main_ident:
            raise ValueError("signal only works in main thread of the main interpreter")
        if not callable(handler):
            if handler not in _NOT_PYTHON:
                raise TypeError(
                    "signal handler must be signal.SIG_IGN, signal.SIG_DFL, or a callable object"
                )
            handler = int(handler)
            _signal.signal(_SIGINT, handler)
        elif self.user_handler in _NOT_PYTHON:
            # The gate is the real handler again; what the worker sent meanwhile was ignored.
            self._seen = self._sent
            _signal.signal(_SIGINT, self._handle)
        previous, self.user_handler = self.user_handler, handler
        return previous

    def patch_signal_module(self, module):
        """Route ``signal.signal``/``signal.getsignal`` for SIGINT to :meth:`set_user_handler`."""
        real_signal, real_getsignal = module.signal, module.getsignal
        gate = self

        def as_enum(handler):
            return module.Handlers(handler) if handler in _NOT_PYTHON else handler

        def signal(signalnum, handler):
            if signalnum == _SIGINT:
                return as_enum(gate.set_user_handler(handler))
            return real_signal(signalnum, handler)

        def getsignal(signalnum):
            if signalnum == _SIGINT:
                return as_enum(gate.user_handler)
            return real_getsignal(signalnum)

        for fn, real in ((signal, real_signal), (getsignal, real_getsignal)):
            fn.__doc__ = real.__doc__
            fn.__module__ = "signal"
        module.signal, module.getsignal = signal, getsignal

    # -- the handler ------------------------------------------------------------------------------

    def _signal_main(self):
        with self._sent_lock:
            self._sent += 1
            sent = self._sent
        _signal.pthread_kill(self._main_ident, _SIGINT)
        return sent

    def _signal_until_seen(self, exec_id, sent=None):
        # A signal that lands after the main thread released the GIL but before it entered a
        # blocking call (just when the sender gets the GIL) does not wake that call, and the
        # handler would only run when it returns. So signal again until the handler has run.
        delay = RETRY_INTERRUPT_S
        if sent is None:
            sent = self._signal_main()
        while True:
            time.sleep(delay)
            if self._seen >= sent or not self._owed(exec_id) or self.user_handler in _NOT_PYTHON:
                return  # seen, withdrawn, or ignored for real (SIG_IGN), as Ctrl-C would be
            sent = self._signal_main()
            delay = min(2 * delay, MAX_RESIGNAL_S)

    def _owed(self, exec_id):
        return self.requested_id == exec_id or (self._user_owed and self.armed_id == exec_id)

    def _handle(self, signum, frame):
        sent = self._sent
        if sent != self._seen:
            # One of ours (signals coalesce: a user SIGINT arriving with it is folded into it).
            self._seen = sent
        elif self.armed_id is not None:
            self._user_owed = True
        if self.user_handler in _NOT_PYTHON:
            return  # tripped just before user code installed SIG_IGN/SIG_DFL
        exec_id = self.armed_id
        if exec_id is None or not (exec_id == self.requested_id or self._user_owed):
            return
        task = self.task
        if (
            task is not None
            and not self.cancelled
            and not task.done()
            and self._custom_handler() is None
        ):
            asyncio = sys.modules["asyncio"]
            if asyncio.current_task(self.loop) is None:
                # The loop is between steps (in its selector): cancel instead of raising in asyncio.
                self.cancelled = True
                self._consume()
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
        self._deliver(signum, frame)

    def _consume(self):
        # Delivered: a further request escalates (a second interrupt raises even in an async cell).
        self.requested_id = None
        self._user_owed = False
        self.pending = False

    def _custom_handler(self):
        handler = self.user_handler
        return None if handler is _signal.default_int_handler else handler

    def _deliver(self, signum, frame):
        self._consume()
        handler = self._custom_handler()
        if handler is None:
            raise KeyboardInterrupt
        handler(signum, frame)

    def deliver_pending(self):
        """Deliver a deferred interrupt now, if one waits for this (main) thread's user code.

        Called by worker code that user code calls often (``sys.stdout.write``) once it is done
        with its own state, so a loop that mostly prints stops at once.
        """
        if (
            self.pending
            and self.armed_id is not None
            and (self.requested_id == self.armed_id or self._user_owed)
            and _thread.get_ident() == self._main_ident
        ):
            self._deliver(_SIGINT, sys._getframe(1))

    def _defer(self):
        self.pending = True
        if not self._retry_scheduled:
            self._retry_scheduled = True
            _thread.start_new_thread(self._retry, (self.armed_id,))

    def _retry(self, exec_id):
        time.sleep(RETRY_INTERRUPT_S)
        self._retry_scheduled = False
        if exec_id is not None and self.armed_id == exec_id and self._owed(exec_id):
            self._signal_until_seen(exec_id)


def _nothing():
    pass

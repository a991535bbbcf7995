"""Capability calls from Python to the host: ids, waiters and the mapping of answers to values or
exceptions.

A call made inside a running asyncio task returns a future (so ``asyncio.gather`` runs calls
concurrently); anywhere else it blocks until the host answers, from any thread.
"""

import sys
import _thread

from capsule_worker.frames import FrameTooLarge

#: Calls queued in one turn of an event loop past this many are written at once, not at the turn's end.
OUTBOX_FLUSH_FRAMES = 256


class _SyncWaiter:
    """A call from a thread other than the main one: it blocks on a lock the answer releases."""

    __slots__ = ("lock", "outcome", "exec_id")

    def __init__(self):
        self.lock = _thread.allocate_lock()
        self.lock.acquire()
        self.outcome = None
        self.exec_id = None


class _MainWaiter:
    """A call from the main thread: it reads the pipe itself until ``outcome`` is set."""

    __slots__ = ("outcome", "exec_id")

    def __init__(self):
        self.outcome = None
        self.exec_id = None


_CallFuture = None


def _call_future_type(asyncio):
    """The future an async call returns, made on first use (this module never imports asyncio).

    It is the call's waiter too, and hears its own cancellation in ``cancel``: no done callback per
    call to add, and none to take off again when the answer settles it.
    """
    global _CallFuture
    if _CallFuture is None:

        class CallFuture(asyncio.Future):
            __slots__ = ("call_id", "spec", "args", "exec_id", "manager")

            def cancel(self, *args, **kwargs):
                if not super().cancel(*args, **kwargs):
                    return False
                # Told on the loop's next turn, as a done callback would be: a cancel can come from the
                # SIGINT handler, on a thread that is in the middle of writing a frame.
                try:
                    self.get_loop().call_soon(self.manager._cancel, self.call_id)
                except RuntimeError:  # the loop is closed: nothing else will run on it
                    self.manager._cancel(self.call_id)
                return True

        CallFuture.__module__ = __name__
        CallFuture.__qualname__ = "CallFuture"
        _CallFuture = CallFuture
    return _CallFuture


class CallManager:
    """Sends ``call`` frames through the sender and routes ``call_result``/``call_error`` back.

    A sync call on the main thread waits in ``channel.wait_for`` (which reads the answer itself);
    on another thread it blocks until the channel's reader settles it. The gate says whether a
    CANCELLED answer is the host's reply to an interrupt.
    """

    def __init__(self, sender, gate, channel):
        self._sender = sender
        self._gate = gate
        self._channel = channel
        self._main_ident = _thread.get_ident()
        # Calls made by tasks in one turn of an event loop leave in one write (a gather of thousands).
        self._outbox = []
        self._lock = _thread.allocate_lock()
        self._next_id = 1
        self._pending = {}
        # Answers for async callers, per event loop, waiting for one wake-up of that loop.
        self._batches = {}

    def call(self, spec, args):
        """Call capability ``spec`` with ``args`` (only what the caller passed)."""
        asyncio = sys.modules.get("asyncio")  # never import asyncio from a stub
        if asyncio is not None:
            loop = asyncio._get_running_loop()  # None outside a loop, without raising
            if loop is not None and asyncio.current_task(loop) is not None:
                return self._call_async(asyncio, loop, spec, args)
        return self.call_sync(spec, args)

    def call_sync(self, spec, args):
        """Call and block this thread until the host answers."""
        on_main = _thread.get_ident() == self._main_ident
        waiter = _MainWaiter() if on_main else _SyncWaiter()
        call_id = self._register(waiter)
        try:
            if on_main:
                waiter.exec_id = self._channel.wait_for(waiter, self._start, call_id, spec, args)
            else:
                waiter.exec_id = self._start(call_id, spec, args)
                _wait(waiter)
        except KeyboardInterrupt:
            self._cancel(call_id)
            raise
        ok, a, b = waiter.outcome
        if ok:
            return _unwrap(spec, args, a)
        if a == "CANCELLED" and self._gate.was_interrupted(waiter.exec_id):
            raise KeyboardInterrupt
        raise _error_for(a, b)

    def _call_async(self, asyncio, loop, spec, args):
        future = (_CallFuture or _call_future_type(asyncio))(loop=loop)
        future.spec = spec
        future.args = args
        future.manager = self
        future.call_id = call_id = self._register(future)
        future.exec_id = self._queue(loop, call_id, spec, args)
        return future

    def _queue(self, loop, call_id, spec, args):
        exec_id, body = self._start(call_id, spec, args, self._sender.encode_call)
        outbox = self._outbox
        outbox.append(body)
        if len(outbox) == 1:
            loop.call_soon(self._flush_outbox)
        elif len(outbox) >= OUTBOX_FLUSH_FRAMES:
            # A long burst (a gather of thousands made in one turn) leaves in slices, so the host
            # works on the first calls while the rest are still being made.
            self._flush_outbox()
        return exec_id

    def _flush_outbox(self):
        bodies = self._outbox
        if not bodies:
            return
        self._outbox = []
        self._sender.send_calls(bodies)

    def _register(self, waiter):
        with self._lock:
            call_id = self._next_id
            self._next_id = call_id + 1
            self._pending[call_id] = waiter
        return call_id

    def _start(self, call_id, spec, args, send=None):
        """Hand the call to ``send`` (default: write it now); a call that cannot be sent is forgotten
        and raises at the call site."""
        message = {"type": "call", "id": call_id, "exec": None, "capability": spec.id, "args": args}
        try:
            return (send or self._sender.call)(message)
        except FrameTooLarge as exc:
            self._forget(call_id)
            raise _error_for("LIMIT_EXCEEDED", "%s: %s" % (spec.name, exc)) from None
        except (TypeError, ValueError, OverflowError) as exc:
            self._forget(call_id)
            raise TypeError("%s: arguments cannot be sent to the host: %s" % (spec.name, exc)) from None
        except BaseException:
            self._forget(call_id)
            raise

    def _forget(self, call_id):
        with self._lock:
            return self._pending.pop(call_id, None)

    def _cancel(self, call_id):
        if self._forget(call_id) is not None:
            self._sender.send({"type": "call_cancel", "id": call_id})

    def settle(self, call_id, ok, a, b=None):
        """Deliver an answer (whichever thread reads the pipe). Unknown or cancelled ids are ignored."""
        with self._lock:
            waiter = self._pending.pop(call_id, None)
            if waiter is None:
                return
            kind = type(waiter)
            if kind is _CallFuture:
                # A burst of answers (a gathered batch) wakes the loop once, not once per answer.
                loop = waiter.get_loop()
                batch = self._batches.get(loop)
                first = batch is None
                if first:
                    batch = self._batches[loop] = []
                batch.append((waiter, ok, a, b))
        if kind is _MainWaiter:
            waiter.outcome = (ok, a, b)
            if _thread.get_ident() != self._main_ident:
                self._channel.wake_main()
        elif kind is _SyncWaiter:
            waiter.outcome = (ok, a, b)
            waiter.lock.release()
        elif first:
            try:
                if sys.modules["asyncio"]._get_running_loop() is loop:
                    # Read by the loop's own wait (loop_selector): no wake-up needed.
                    loop.call_soon(self._settle_batch, loop)
                else:
                    loop.call_soon_threadsafe(self._settle_batch, loop)
            except RuntimeError:
                with self._lock:
                    self._batches.pop(loop, None)  # the loop was closed: nobody waits any more

    def _settle_batch(self, loop):
        with self._lock:
            batch = self._batches.pop(loop, ())
        for waiter, ok, a, b in batch:
            self._settle_future(waiter, ok, a, b)

    def _settle_future(self, future, ok, a, b):
        if future.done():
            return
        if ok:
            try:
                value = _unwrap(future.spec, future.args, a)
            except Exception as exc:
                future.set_exception(exc)
                return
            future.set_result(value)
        elif a == "CANCELLED" and self._gate.was_interrupted(future.exec_id):
            # The host has forgotten the call already: nothing to tell it (the id is no longer pending).
            future.cancel()
        else:
            future.set_exception(_error_for(a, b))


def _wait(waiter):
    # Where a thread's blocked capability call may be interrupted (InterruptGate.allow).
    waiter.lock.acquire()


def _error_for(code, message):
    from capsule._errors import error_for

    return error_for(code, message)


def _unwrap(spec, args, value):
    wrap = spec.wrap
    if wrap == "http_response":
        from capsule._http import Response

        return Response.from_wire(value)
    if wrap == "completed_process":
        from capsule._process import CompletedProcess

        result = CompletedProcess.from_wire(value)
        if args.get("check") and result.returncode:
            result.check_returncode()
        return result
    return value


#: Functions in which the InterruptGate may raise KeyboardInterrupt (the main thread's own waits
#: are the channel's: capsule_worker.channel.INTERRUPTIBLE).
INTERRUPTIBLE = (_wait,)

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


class _AsyncWaiter:
    __slots__ = ("loop", "future", "spec", "args", "exec_id", "on_cancel")

    def __init__(self, loop, future, spec, args):
        self.loop = loop
        self.future = future
        self.spec = spec
        self.args = args
        self.exec_id = None
        #: The future's done callback that tells the host of a cancel; taken off before an answer
        #: settles the future, so an answered call schedules one callback (the awaiter's), not two.
        self.on_cancel = None


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
                return self._call_async(loop, spec, args)
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

    def _call_async(self, loop, spec, args):
        future = loop.create_future()
        waiter = _AsyncWaiter(loop, future, spec, args)
        call_id = self._register(waiter)
        waiter.exec_id = self._queue(loop, call_id, spec, args)
        waiter.on_cancel = on_cancel = lambda f: f.cancelled() and self._cancel(call_id)
        future.add_done_callback(on_cancel)
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
            if kind is _AsyncWaiter:
                # A burst of answers (a gathered batch) wakes the loop once, not once per answer.
                loop = waiter.loop
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
                loop.call_soon_threadsafe(self._settle_batch, loop)
            except RuntimeError:
                with self._lock:
                    self._batches.pop(loop, None)  # the loop was closed: nobody waits any more

    def _settle_batch(self, loop):
        with self._lock:
            batch = self._batches.pop(loop, ())
        for waiter, ok, a, b in batch:
            self._settle_future(waiter, ok, a, b)

    def _settle_future(self, waiter, ok, a, b):
        future = waiter.future
        if future.done():
            return
        # Settled by the host's answer: there is no cancel left to tell it of.
        future.remove_done_callback(waiter.on_cancel)
        if ok:
            try:
                value = _unwrap(waiter.spec, waiter.args, a)
            except Exception as exc:
                future.set_exception(exc)
                return
            future.set_result(value)
        elif a == "CANCELLED" and self._gate.was_interrupted(waiter.exec_id):
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

"""Capability calls from Python to the host: ids, waiters and the mapping of answers to values or
exceptions.

A call made inside a running asyncio task returns a future (so ``asyncio.gather`` runs calls
concurrently); anywhere else it blocks until the host answers, from any thread.
"""

import sys
import _thread

from capsule_worker.frames import FrameTooLarge


class _SyncWaiter:
    __slots__ = ("lock", "outcome", "exec_id")

    def __init__(self):
        self.lock = _thread.allocate_lock()
        self.lock.acquire()
        self.outcome = None
        self.exec_id = None


class _AsyncWaiter:
    __slots__ = ("loop", "future", "spec", "args", "exec_id")

    def __init__(self, loop, future, spec, args):
        self.loop = loop
        self.future = future
        self.spec = spec
        self.args = args
        self.exec_id = None


class CallManager:
    """Sends ``call`` frames and routes ``call_result``/``call_error`` back to the waiting caller.

    ``emit_call(message)`` sends a call after the running execution's pending output and returns
    the ``exec`` it stamped; ``send(message)`` sends any other frame; ``was_interrupted(exec_id)``
    says whether the host interrupted that execution.
    """

    def __init__(self, emit_call, send, was_interrupted, prepare_call=None, write_calls=None):
        self._emit_call = emit_call
        self._send = send
        self._was_interrupted = was_interrupted
        self._prepare_call = prepare_call
        self._write_calls = write_calls
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
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                loop = None
            if loop is not None and asyncio.current_task(loop) is not None:
                return self._call_async(loop, spec, args)
        return self.call_sync(spec, args)

    def call_sync(self, spec, args):
        """Call and block this thread until the host answers."""
        waiter = _SyncWaiter()
        call_id = self._register(waiter)
        waiter.exec_id = self._start(call_id, spec, args)
        try:
            _wait(waiter)
        except KeyboardInterrupt:
            self._cancel(call_id)
            raise
        ok, a, b = waiter.outcome
        if ok:
            return _unwrap(spec, args, a)
        if a == "CANCELLED" and self._was_interrupted(waiter.exec_id):
            raise KeyboardInterrupt
        raise _error_for(a, b)

    def _call_async(self, loop, spec, args):
        future = loop.create_future()
        waiter = _AsyncWaiter(loop, future, spec, args)
        call_id = self._register(waiter)
        if self._prepare_call is None:
            waiter.exec_id = self._start(call_id, spec, args)
        else:
            waiter.exec_id = self._queue(loop, call_id, spec, args)
        future.add_done_callback(lambda f: f.cancelled() and self._cancel(call_id))
        return future

    def _queue(self, loop, call_id, spec, args):
        exec_id, body = self._start(call_id, spec, args, self._prepare_call)
        outbox = self._outbox
        outbox.append(body)
        if len(outbox) == 1:
            loop.call_soon(self._flush_outbox)
        return exec_id

    def _flush_outbox(self):
        bodies = self._outbox
        if not bodies:
            return
        self._outbox = []
        self._write_calls(bodies)

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
            return (send or self._emit_call)(message)
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
            self._send({"type": "call_cancel", "id": call_id})

    def settle(self, call_id, ok, a, b=None):
        """Deliver an answer (reader thread). Answers for unknown or cancelled ids are ignored."""
        waiter = self._forget(call_id)
        if waiter is None:
            return
        if isinstance(waiter, _SyncWaiter):
            waiter.outcome = (ok, a, b)
            waiter.lock.release()
            return
        # A burst of answers (a gathered batch) wakes the loop once, not once per answer.
        loop = waiter.loop
        with self._lock:
            batch = self._batches.get(loop)
            first = batch is None
            if first:
                batch = self._batches[loop] = []
            batch.append((waiter, ok, a, b))
        if first:
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
        if ok:
            try:
                value = _unwrap(waiter.spec, waiter.args, a)
            except Exception as exc:
                future.set_exception(exc)
                return
            future.set_result(value)
        elif a == "CANCELLED" and self._was_interrupted(waiter.exec_id):
            future.cancel()
        else:
            future.set_exception(_error_for(a, b))


def _wait(waiter):
    # The one place a blocked capability call may be interrupted (InterruptGate.allow).
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


#: Functions in which the InterruptGate may raise KeyboardInterrupt.
INTERRUPTIBLE = (_wait,)

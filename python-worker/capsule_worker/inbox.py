"""The main thread's inbox: what the reader thread hands over, and the event loop kept alive meanwhile.

Until a cell first awaits, the main thread reads the pipe itself while it waits
(:meth:`Channel.serve_idle`), so a message reaches it without a thread switch; asyncio is not even
imported.
Once the session has an event loop, the main thread runs it while it waits for the next message,
as the asyncio REPL and ipykernel do, so tasks and servers started by a cell keep running while the
session is idle; a message stops the loop, and the cell it carries runs with the loop stopped (a
sync cell) or on it (an async cell).
"""

from _queue import Empty, SimpleQueue


class Inbox:
    """A queue of host messages for the main thread that wakes the idle event loop when one arrives.

    ``on_idle_error(exc)`` reports a BaseException (SystemExit, KeyboardInterrupt) that a
    background task let escape while the loop ran between cells.
    """

    def __init__(self, on_idle_error):
        self._queue = SimpleQueue()
        #: ``serve(has_message)``: lets the idle main thread read the pipe itself
        #: (:meth:`Channel.serve_idle`); attached by the worker once the channel exists.
        self.serve = None
        self._on_idle_error = on_idle_error
        self._loop = None
        self._idling = False

    def put(self, message):
        """Queue ``message`` (any thread)."""
        self._queue.put(message)
        # Read after the put: a main thread that starts idling later finds the message queued.
        loop = self._loop
        if loop is not None:
            try:
                loop.call_soon_threadsafe(self._wake)
            except RuntimeError:
                pass  # closed by user code: the main thread falls back to the plain wait

    def get(self, loop=None):
        """The next message; while none is queued, run ``loop`` (the session's loop, or None)."""
        if loop is not None and loop.is_closed():
            loop = None
        self._loop = loop
        queue = self._queue
        while loop is not None:
            try:
                return queue.get_nowait()
            except Empty:
                pass
            self._idling = True
            try:
                loop.run_forever()
            except BaseException as exc:
                self._on_idle_error(exc)
            finally:
                self._idling = False
            if loop.is_closed():  # a background task closed it
                self._loop = loop = None
        serve = self.serve
        if serve is not None and queue.empty():
            serve(lambda: not queue.empty())
        return queue.get()

    def _wake(self):
        # Runs on the loop. A wake-up for a message already taken, or one arriving while a cell
        # runs on the loop, must not stop it.
        if self._idling:
            self._loop.stop()

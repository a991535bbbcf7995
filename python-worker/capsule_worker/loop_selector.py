"""The session's event loop reads the pipe itself while it waits.

A waiting event loop blocks in one place, its selector. There the main thread takes the pipe's turn
(:meth:`Channel.serve_for_loop`): it waits on the loop's own file descriptors and the pipe together and
serves the frames that arrive, so the answers to a cell's calls settle their futures on the loop's
thread instead of the reader thread waking the loop through its self-pipe. While the loop runs
callbacks and tasks the turn is free again, and the reader thread serves heartbeats and interrupts
while a coroutine computes.
"""

import selectors


def new_event_loop(channel):
    """An asyncio loop whose waits also serve ``channel``."""
    import asyncio

    return asyncio.SelectorEventLoop(PipeSelector(channel))


class PipeSelector(selectors.DefaultSelector):
    """The platform's default selector, whose blocking waits go through the channel."""

    def __init__(self, channel):
        super().__init__()
        self._channel = channel

    def select(self, timeout=None):
        if timeout is not None and timeout <= 0:  # the loop has work queued: no wait to share
            return super().select(timeout)
        if self._channel.serve_for_loop(self.fileno(), timeout):
            return super().select(0)
        return super().select(timeout)  # the reader thread has the turn: a plain wait


#: Where the gate may raise KeyboardInterrupt: here the loop only waits in the platform's selector (the
#: turn was taken by the reader thread), or is about to; nothing is half done.
INTERRUPTIBLE = (PipeSelector.select,)

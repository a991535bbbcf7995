"""How the threads that read the host's pipe wait for it: the reader thread's muted epoll, and the
main thread's short spin before it sleeps."""

import select
from time import perf_counter as _clock

POLLIN = select.POLLIN

#: How long the main thread polls for its call's answer before it sleeps: on a machine whose idle CPUs
#: sleep, being woken costs more than a fast host takes to answer (bench/README.md).
SPIN_S = 100e-6
#: Below this the spin is dropped altogether.
MIN_SPIN_S = 10e-6


def poller_for(fd):
    """A poll object for ``fd`` (each reading thread has its own: they are not meant to be shared)."""
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    return poller


class AnswerSpin:
    """The main thread's waits: poll without waiting for up to a window, then sleep in poll.

    Answers that come within the window are worth spinning for; slower ones halve it, down to none,
    until one comes quickly again, so a session whose host answers slowly does not keep spinning.
    """

    __slots__ = ("window",)

    def __init__(self):
        self.window = SPIN_S

    def poll(self, poller, ms):
        """``poller.poll(ms)`` after the spin (never longer than ``ms``). Interruptible, as the waits
        that call it are: nothing is half done here."""
        spin = self.window
        started = _clock()
        if spin:
            end = started + (spin if ms is None or ms < 0 else min(spin, ms / 1e3))
            while True:
                ready = poller.poll(0)
                if ready:
                    self.window = SPIN_S
                    return ready
                if _clock() >= end:
                    break
        ready = poller.poll(ms)
        self.window = SPIN_S if _clock() - started <= SPIN_S else (spin / 2 if spin > MIN_SPIN_S else 0.0)
        return ready


class ReaderWait:
    """The reader thread's wait for bytes on the pipe.

    With epoll the main thread mutes it while it holds the turn, so the answer it reads itself
    does not also wake the reader thread (two thread switches and a fight for the GIL per call).
    Elsewhere a plain poll, and the reader thread wakes, sees the turn taken and waits for it.
    """

    def __init__(self, fd):
        self._fd = fd
        epoll = getattr(select, "epoll", None)
        if epoll is not None:
            self._epoll = epoll()
            self._epoll.register(fd, select.EPOLLIN)
            self._in = select.EPOLLIN
        else:  # pragma: no cover - not Linux
            self._epoll = None
            self._poll = poller_for(fd)
        self._check = poller_for(fd)

    def readable(self):
        """Block until the pipe is readable (and not muted)."""
        if self._epoll is not None:
            self._epoll.poll()
        else:  # pragma: no cover
            self._poll.poll()

    def readable_now(self):
        """Whether the pipe holds bytes (or end of file) now; never blocks."""
        return bool(self._check.poll(0))

    def mute(self):
        if self._epoll is not None:
            self._epoll.modify(self._fd, 0)

    def unmute(self):
        if self._epoll is not None:
            self._epoll.modify(self._fd, self._in)

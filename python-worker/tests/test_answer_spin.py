"""The main thread's spin before it sleeps for its call's answer (pipe_waits.AnswerSpin)."""

import socket
import unittest

from capsule_worker import pipe_waits
from capsule_worker.channel import Channel
from capsule_worker.pipe_waits import MIN_SPIN_S, SPIN_S


class _Reader:
    def __init__(self, fd):
        self.fd = fd


class _Codec:
    decode = staticmethod(lambda body: body)


class _Poller:
    """Answers poll(0) from a script; a blocking poll() is recorded and advances the clock."""

    def __init__(self, clock, ready_after_polls=None, blocking_wait_s=0.0):
        self.clock = clock
        self.ready_after = ready_after_polls
        self.blocking_wait_s = blocking_wait_s
        self.polls = 0
        self.blocked = 0

    def poll(self, timeout=None):
        if timeout == 0:
            self.polls += 1
            self.clock.now += 1e-6
            return [(0, 1)] if self.ready_after is not None and self.polls >= self.ready_after else []
        self.blocked += 1
        self.clock.now += self.blocking_wait_s
        return [(0, 1)]


class _Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


class AnswerSpinTest(unittest.TestCase):
    def setUp(self):
        self.left, self.right = socket.socketpair()
        self.addCleanup(self.left.close)
        self.addCleanup(self.right.close)
        self.channel = Channel(_Reader(self.left.fileno()), _Codec(), None, None, None, None)
        self.clock = _Clock()
        original = pipe_waits._clock
        pipe_waits._clock = self.clock
        self.addCleanup(setattr, pipe_waits, "_clock", original)

    def wait(self, poller):
        self.channel._main_poller = poller
        self.channel._await_frame()
        return poller

    def test_an_answer_within_the_window_is_taken_without_sleeping(self):
        poller = self.wait(_Poller(self.clock, ready_after_polls=5))
        self.assertEqual((poller.polls, poller.blocked), (5, 0))
        self.assertEqual(self.channel._spin.window, SPIN_S)

    def test_slow_answers_halve_the_window_down_to_none(self):
        windows = []
        for _ in range(8):
            self.wait(_Poller(self.clock, blocking_wait_s=1.0))
            windows.append(self.channel._spin.window)
        self.assertEqual(windows[:2], [SPIN_S / 2, SPIN_S / 4])
        self.assertEqual(windows[-1], 0.0)
        self.assertTrue(all(w == 0.0 or w >= MIN_SPIN_S / 2 for w in windows))
        # With no window left the wait sleeps at once: no poll(0) at all.
        poller = self.wait(_Poller(self.clock, blocking_wait_s=1.0))
        self.assertEqual((poller.polls, poller.blocked), (0, 1))

    def test_one_quick_answer_after_sleeping_brings_the_window_back(self):
        self.channel._spin.window = 0.0
        poller = self.wait(_Poller(self.clock, blocking_wait_s=SPIN_S / 2))
        self.assertEqual((poller.polls, poller.blocked), (0, 1))
        self.assertEqual(self.channel._spin.window, SPIN_S)

    def test_the_spin_never_outlasts_its_window(self):
        poller = self.wait(_Poller(self.clock, blocking_wait_s=1.0))
        # One microsecond a poll on the scripted clock: the window's worth of polls, then one sleep.
        self.assertLessEqual(poller.polls, round(SPIN_S / 1e-6) + 1)
        self.assertEqual(poller.blocked, 1)


if __name__ == "__main__":
    unittest.main()

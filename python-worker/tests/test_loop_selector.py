"""The session's event loop reads the pipe itself while it waits (capsule_worker.loop_selector)."""

import asyncio
import socket
import threading
import time
import unittest

from capsule_worker.channel import Channel
from capsule_worker.frames import FrameReader, FrameWriter, JsonCodec
from capsule_worker.loop_selector import new_event_loop


class _Calls:
    """Records which thread settles each answer."""

    def __init__(self):
        self.settled = []

    def settle(self, call_id, ok, a, b=None):
        self.settled.append((call_id, ok, a, threading.get_ident()))


class _Inbox:
    def __init__(self):
        self.messages = []

    def put(self, message):
        self.messages.append(message)


class _Sender:
    def __init__(self, writer):
        self.writer = writer

    def send(self, message):
        self.writer.send(message)


class LoopSelectorTest(unittest.TestCase):
    def setUp(self):
        self.host, worker_end = socket.socketpair()
        self.addCleanup(self.host.close)
        self.addCleanup(worker_end.close)
        codec = JsonCodec()
        self.to_worker = FrameWriter(self.host.fileno(), codec)
        self.channel = Channel(
            FrameReader(worker_end.fileno()), codec, _Sender(FrameWriter(worker_end.fileno(), codec)),
            None, _Inbox(), self.fail_fatal,
        )
        self.channel._initialized = True
        self.calls = self.channel.calls = _Calls()
        # No reader thread runs at all: whatever is read, the loop's own wait read it.
        self.loop = new_event_loop(self.channel)
        self.addCleanup(self.loop.close)

    def fail_fatal(self, status, line):
        raise AssertionError("fatal %s: %s" % (status, line))

    def test_an_answer_that_arrives_while_the_loop_waits_is_read_on_the_loops_thread(self):
        def answer_soon():
            time.sleep(0.05)
            self.to_worker.send({"type": "call_result", "id": 7, "value": "done"})

        threading.Thread(target=answer_soon).start()
        self.loop.run_until_complete(self._until(lambda: self.calls.settled))
        self.assertEqual(self.calls.settled, [(7, True, "done", threading.get_ident())])
        self.assertIsNone(self.channel._holder)  # the turn is free again once the loop runs

    def test_frames_that_came_together_are_all_served_and_heartbeats_answered(self):
        for call_id in range(1, 6):
            self.to_worker.send({"type": "call_result", "id": call_id, "value": call_id})
        self.to_worker.send({"type": "heartbeat", "seq": 3})
        self.loop.run_until_complete(self._until(lambda: len(self.calls.settled) == 5))
        self.assertEqual([c[0] for c in self.calls.settled], [1, 2, 3, 4, 5])
        self.host.settimeout(5)
        reply = FrameReader(self.host.fileno()).read_frame()
        self.assertEqual(JsonCodec().decode(reply), {"type": "heartbeat", "seq": 3})

    def test_timers_and_the_loops_own_fds_still_wake_it(self):
        started = time.monotonic()
        self.loop.run_until_complete(asyncio.sleep(0.05))
        self.assertGreaterEqual(time.monotonic() - started, 0.045)
        left, right = socket.socketpair()
        self.addCleanup(left.close)
        self.addCleanup(right.close)
        heard = []
        self.loop.add_reader(left.fileno(), lambda: heard.append(left.recv(16)))
        threading.Timer(0.05, right.send, (b"ping",)).start()
        self.loop.run_until_complete(self._until(lambda: heard))
        self.assertEqual(heard, [b"ping"])
        self.assertEqual(self.calls.settled, [])

    def test_without_the_turn_the_loop_waits_as_a_plain_loop_and_reads_nothing(self):
        self.channel._holder = "reader"  # the reader thread is mid-frame
        self.to_worker.send({"type": "call_result", "id": 1, "value": None})
        self.loop.run_until_complete(asyncio.sleep(0.05))
        self.assertEqual(self.calls.settled, [])
        self.channel._holder = None
        self.loop.run_until_complete(self._until(lambda: self.calls.settled))
        self.assertEqual([c[0] for c in self.calls.settled], [1])

    async def _until(self, condition, timeout=5.0):
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError("timed out")
            await asyncio.sleep(0.01)


if __name__ == "__main__":
    unittest.main()

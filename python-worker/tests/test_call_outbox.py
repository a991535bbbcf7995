import asyncio
import unittest

from capsule_worker import calls


class _Spec:
    id = "bench.noop"
    name = "noop"
    wrap = None


class _Sender:
    """Records each write of queued calls, and how many calls had been made when it happened."""

    def __init__(self):
        self.writes = []
        self.made = 0

    def encode_call(self, message):
        self.made += 1
        return None, b"call %d" % message["id"]

    def send_calls(self, bodies):
        self.writes.append((len(bodies), self.made))


class _Gate:
    def was_interrupted(self, exec_id):
        return False


class CallOutboxTest(unittest.TestCase):
    def test_a_long_burst_leaves_in_slices_while_it_is_still_being_made(self):
        sender = _Sender()
        manager = calls.CallManager(sender, _Gate(), channel=None)
        size = calls.OUTBOX_FLUSH_FRAMES
        count = 2 * size + 88

        async def burst():
            futures = [manager.call(_Spec, {}) for _ in range(count)]
            # Every call is made in this one turn; the first slices have already left.
            self.assertEqual(sender.writes, [(size, size), (size, 2 * size)])
            return futures

        asyncio.run(burst())
        self.assertEqual(sender.writes, [(size, size), (size, 2 * size), (88, count)])

    def test_a_short_burst_leaves_in_one_write_at_the_turn_end(self):
        sender = _Sender()
        manager = calls.CallManager(sender, _Gate(), channel=None)

        async def burst():
            for _ in range(10):
                manager.call(_Spec, {})
            self.assertEqual(sender.writes, [])
            await asyncio.sleep(0)

        asyncio.run(burst())
        self.assertEqual(sender.writes, [(10, 10)])


if __name__ == "__main__":
    unittest.main()


class _CancelSender(_Sender):
    def __init__(self):
        super().__init__()
        self.sent = []

    def send(self, message):
        self.sent.append(message)


class CallCancelTest(unittest.TestCase):
    def test_a_cancelled_call_tells_the_host_on_the_loops_next_turn_not_inside_cancel(self):
        # cancel() can run in the SIGINT handler while the same thread is writing a frame under the
        # sender's lock: it must not write itself.
        sender = _CancelSender()
        manager = calls.CallManager(sender, _Gate(), channel=None)

        async def cancel_one():
            future = manager.call(_Spec, {})
            self.assertTrue(future.cancel())
            self.assertEqual(sender.sent, [])
            await asyncio.sleep(0)
            return future

        future = asyncio.run(cancel_one())
        self.assertTrue(future.cancelled())
        self.assertEqual(sender.sent, [{"type": "call_cancel", "id": 1}])

    def test_an_answered_call_is_not_cancelled_afterwards(self):
        sender = _CancelSender()
        manager = calls.CallManager(sender, _Gate(), channel=None)

        async def answer_then_cancel():
            future = manager.call(_Spec, {})
            manager.settle(1, True, "value")
            self.assertEqual(await future, "value")
            self.assertFalse(future.cancel())

        asyncio.run(answer_then_cancel())
        self.assertEqual(sender.sent, [])

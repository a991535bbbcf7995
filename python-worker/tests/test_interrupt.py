import struct
import time
import unittest

from tests.client import make_spec
from tests.support import WorkerTestCase

HANG = make_spec("test.hang", "hang", [], doc="Never answered until cancelled.")
#: The requirement: a running cell stops within 100 ms of the interrupt.
LIMIT_S = 0.1


class InterruptTest(WorkerTestCase):
    def setUp(self):
        self.client = self.start([HANG])
        self.cancels = []
        self.calls = []
        self.client.run("state = {'kept': True}", 1)

    def interrupt_after_start(self, code, exec_id, marker="started", until_call=False):
        """Run ``code`` (which prints ``marker`` with flush=True, or makes a call), interrupt it, time the error."""
        client = self.client
        client.send({"type": "execute", "id": exec_id, "code": code})
        messages = []
        while True:
            message = client.recv()
            messages.append(message)
            if message["type"] == "call":
                self.calls.append(message)
                if until_call:
                    break
            if not until_call and message["type"] == "stream" and marker in message["text"]:
                break
            self.assertNotIn(message["type"], ("result", "error"), message)
        sent = time.monotonic()
        client.send({"type": "interrupt", "id": exec_id})
        while True:
            message = client.recv()
            messages.append(message)
            if message["type"] == "call_cancel":
                self.cancels.append(message["id"])
            if message["type"] in ("result", "error"):
                return message, time.monotonic() - sent, messages

    def assertInterrupted(self, final, elapsed):
        self.assertEqual(final["type"], "error", final)
        self.assertEqual(final["ename"], "KeyboardInterrupt", final)
        self.assertLess(elapsed, LIMIT_S)
        self.assertNotIn("capsule_worker", "".join(final["traceback"]))
        after = self.client.run("state['kept']", 99)
        self.assertEqual(after.final["value"], {"text/plain": "True"})

    def test_interrupts_a_busy_loop(self):
        final, elapsed, _ = self.interrupt_after_start("print('started', flush=True)\nwhile True:\n    pass", 2)
        self.assertInterrupted(final, elapsed)
        self.assertIn("<cell-2>", "".join(final["traceback"]))

    def test_interrupts_a_long_sleep(self):
        final, elapsed, _ = self.interrupt_after_start("import time\nprint('started', flush=True)\ntime.sleep(100)", 2)
        self.assertInterrupted(final, elapsed)

    def test_interrupts_an_awaiting_async_cell_by_cancelling_its_task(self):
        final, elapsed, _ = self.interrupt_after_start(
            "import asyncio\nprint('started', flush=True)\nawait asyncio.sleep(100)", 2
        )
        self.assertInterrupted(final, elapsed)
        # The loop is still usable afterwards.
        self.assertEqual(self.client.run("await asyncio.sleep(0, 'again')", 3).final["value"], {"text/plain": "'again'"})

    def test_interrupts_a_busy_loop_inside_an_async_cell(self):
        final, elapsed, _ = self.interrupt_after_start(
            "import asyncio\nawait asyncio.sleep(0)\nprint('started', flush=True)\nwhile True:\n    pass", 2
        )
        self.assertInterrupted(final, elapsed)

    def test_interrupts_a_sync_capability_call_and_cancels_it(self):
        final, elapsed, messages = self.interrupt_after_start("hang()", 2, until_call=True)
        self.assertInterrupted(final, elapsed)
        self.assertEqual(len(self.calls), 1)
        self.assertEqual(self.cancels, [self.calls[0]["id"]])
        # The host still answers the cancelled call; the worker ignores it.
        self.client.send({"type": "call_error", "id": self.calls[0]["id"], "code": "CANCELLED", "message": "cancelled"})
        self.assertEqual(self.client.run("1 + 1", 4).final["value"], {"text/plain": "2"})

    def test_interrupts_an_awaited_capability_call_and_cancels_it(self):
        final, elapsed, _ = self.interrupt_after_start(
            "import asyncio\nawait asyncio.sleep(0)\nawait hang()", 2, until_call=True
        )
        self.assertInterrupted(final, elapsed)
        self.assertEqual(self.cancels, [self.calls[0]["id"]])

    def test_interrupts_a_loop_that_prints(self):
        final, elapsed, _ = self.interrupt_after_start(
            "import sys\nprint('started', flush=True)\nwhile True:\n    sys.stdout.write('.' * 100)", 2
        )
        self.assertInterrupted(final, elapsed)

    def test_a_cancelled_answer_after_an_interrupt_raises_keyboard_interrupt(self):
        client = self.client
        client.send({"type": "execute", "id": 2, "code": "hang()"})
        call = client.expect("call")
        client.send({"type": "interrupt", "id": 2})
        final = None
        while final is None:
            message = client.recv()
            if message["type"] == "call_cancel":
                client.send({"type": "call_error", "id": message["id"], "code": "CANCELLED", "message": "x"})
            elif message["type"] in ("result", "error"):
                final = message
        self.assertEqual(final["ename"], "KeyboardInterrupt")
        self.assertEqual(call["exec"], 2)

    def test_a_cancelled_answer_to_an_awaited_call_after_an_interrupt_is_a_keyboard_interrupt(self):
        client = self.client
        # The cell catches the task cancellation of the interrupt and awaits another call,
        # which the host then cancels too.
        client.send({"type": "execute", "id": 2, "code":
                     "import asyncio\ntry:\n    await hang()\nexcept asyncio.CancelledError:\n    pass\nawait hang()"})
        first = client.expect("call")
        client.send({"type": "interrupt", "id": 2})
        self.assertEqual(client.expect("call_cancel")["id"], first["id"])
        second = client.expect("call")
        client.send({"type": "call_error", "id": second["id"], "code": "CANCELLED", "message": "host cancelled"})
        self.assertEqual(self.final_message()["ename"], "KeyboardInterrupt")

    def test_an_interrupt_for_an_execution_that_is_not_running_is_ignored(self):
        client = self.client
        client.send({"type": "interrupt", "id": 1})  # finished already
        client.send({"type": "interrupt", "id": 77})  # never existed
        outcome = client.run("import time\ntime.sleep(0.2)\n'slept'", 2)
        self.assertEqual(outcome.final["value"], {"text/plain": "'slept'"})

    def test_an_interrupt_that_arrives_while_the_cell_is_queued_still_applies(self):
        client = self.client
        client.send({"type": "execute", "id": 2, "code": "while True:\n    pass"})
        client.send({"type": "interrupt", "id": 2})
        self.assertEqual(self.final_message()["ename"], "KeyboardInterrupt")

    def catch_then_interrupt_again(self, code):
        client = self.client
        client.send({"type": "execute", "id": 2, "code": code})
        for marker in ("first", "second"):
            self.wait_for_text(marker)
            client.send({"type": "interrupt", "id": 2})
        self.assertEqual(self.final_message()["ename"], "KeyboardInterrupt")

    def test_a_second_interrupt_reaches_a_loop_waiting_while_the_reader_thread_holds_the_turn(self):
        client = self.client
        flag = self.flag_path()
        client.send({"type": "execute", "id": 2, "code": (
            "import asyncio, os\n"
            "try:\n"
            "    print('first', flush=True)\n"
            "    await asyncio.sleep(100)\n"
            "except asyncio.CancelledError:\n"
            "    print('computing', flush=True)\n"
            "    while not os.path.exists(%r):\n"
            "        pass\n"
            "    print('second', flush=True)\n"
            "    await asyncio.sleep(100)" % flag
        )})
        self.wait_for_text("first")
        client.send({"type": "interrupt", "id": 2})
        self.wait_for_text("computing")
        # While the cell computes, the reader thread takes the turn and waits for the rest of a frame,
        # so the loop's next wait is the plain selector's.
        heartbeat = client.codec.encode({"type": "heartbeat", "seq": 9})
        frame = struct.pack(">I", len(heartbeat)) + heartbeat
        client.send_bytes(frame[:2])
        time.sleep(0.1)  # nothing outside shows the reader thread has taken the bytes: give it the time
        open(flag, "w").close()
        self.wait_for_text("second")
        client.send_bytes(frame[2:])
        client.send({"type": "interrupt", "id": 2})
        self.assertEqual(self.final_message()["ename"], "KeyboardInterrupt")

    def wait_for_text(self, marker):
        """Read until a stream message carries ``marker``."""
        while True:
            message = self.client.recv()
            if message["type"] == "stream" and marker in message["text"]:
                return

    def final_message(self):
        """Read until the execution's result or error, and return it."""
        while True:
            message = self.client.recv()
            if message["type"] in ("result", "error"):
                return message

    def test_user_code_can_catch_the_interrupt_and_is_interruptible_again(self):
        self.catch_then_interrupt_again(
            "import time\ntry:\n    print('first', flush=True)\n    time.sleep(100)\n"
            "except KeyboardInterrupt:\n    print('second', flush=True)\n    time.sleep(100)"
        )

    def test_an_async_cell_that_swallows_the_cancellation_is_stopped_by_a_second_interrupt(self):
        self.catch_then_interrupt_again(
            "import asyncio\ntry:\n    print('first', flush=True)\n    await asyncio.sleep(100)\n"
            "except asyncio.CancelledError:\n    print('second', flush=True)\n    await asyncio.sleep(100)"
        )


class HeartbeatTest(WorkerTestCase):
    def test_heartbeats_are_answered_while_a_cell_spins(self):
        client = self.start()
        client.send({"type": "execute", "id": 1, "code": "print('spinning', flush=True)\nwhile True:\n    pass"})
        self.assertEqual(client.expect("stream")["text"], "spinning\n")
        for seq in (1, 2, 3):
            sent = time.monotonic()
            client.send({"type": "heartbeat", "seq": seq})
            self.assertEqual(client.expect("heartbeat"), {"type": "heartbeat", "seq": seq})
            self.assertLess(time.monotonic() - sent, 0.5)
        client.send({"type": "interrupt", "id": 1})
        self.assertEqual(client.expect("error")["ename"], "KeyboardInterrupt")

    def test_heartbeats_are_answered_before_init(self):
        client = self.start(handshake=False)
        client.expect("hello")
        client.send({"type": "heartbeat", "seq": 7})
        self.assertEqual(client.expect("heartbeat"), {"type": "heartbeat", "seq": 7})


if __name__ == "__main__":
    unittest.main()

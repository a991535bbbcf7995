"""The main thread reads the pipe itself while it waits for its own call's answer, and while it
is idle with no event loop to run; the reader thread reads whenever the main thread does not. Whoever reads, every frame is handled the same way."""

import time
import unittest

from tests.client import make_spec
from tests.support import WorkerTestCase

HANG = make_spec("test.hang", "hang", [], doc="Answered when the test says so.")
ECHO = make_spec("test.echo", "echo", [{"name": "value", "kind": "positional_or_keyword", "required": True,
                                        "annotation": "Any"}])


def answer(message, value):
    return {"type": "call_result", "id": message["id"], "value": value}


class PipeTurnTest(WorkerTestCase):
    def setUp(self):
        self.client = self.start([HANG, ECHO])

    def final(self, exec_id, on_message=None):
        while True:
            message = self.client.recv()
            if on_message is not None:
                on_message(message)
            if message["type"] in ("result", "error") and message["id"] == exec_id:
                return message

    def test_heartbeats_are_answered_while_an_async_cell_awaits_and_while_it_computes(self):
        client = self.client
        flag = self.flag_path()
        client.send({"type": "execute", "id": 1, "code": (
            "import os\n"
            "first = await hang()\n"
            "while not os.path.exists(%r):\n"
            "    pass\n"
            "second = await hang()\n"
            "(first, second)" % flag
        )})
        call = client.expect("call")
        # The loop waits for the answer (its selector reads the pipe).
        client.send({"type": "heartbeat", "seq": 1})
        self.assertEqual(client.expect("heartbeat")["seq"], 1)
        client.send(answer(call, "a"))
        # The coroutine computes, never yielding, until the flag exists: the reader thread answers.
        client.send({"type": "heartbeat", "seq": 2})
        self.assertEqual(client.expect("heartbeat")["seq"], 2)
        open(flag, "w").close()
        client.send(answer(client.expect("call"), "b"))
        self.assertEqual(self.final(1)["value"], {"text/plain": "('a', 'b')"})

    def test_heartbeats_are_answered_while_the_main_thread_waits_for_its_answer(self):
        client = self.client
        client.send({"type": "execute", "id": 1, "code": "hang()"})
        call = client.expect("call")
        for seq in range(1, 4):
            client.send({"type": "heartbeat", "seq": seq})
            self.assertEqual(client.expect("heartbeat")["seq"], seq)
        client.send(answer(call, "late"))
        self.assertEqual(self.final(1)["value"], {"text/plain": "'late'"})

    def test_frames_written_with_the_answer_are_served_before_the_reader_thread_takes_over(self):
        client = self.client
        client.send({"type": "execute", "id": 1, "code": "r = hang()\nimport time\ntime.sleep(0.3)\nr"})
        call = client.expect("call")
        # The answer and two heartbeats in one write: the main thread reads them all at once and
        # nothing more arrives to wake the reader thread, yet both heartbeats are answered.
        bodies = [client.codec.encode(m) for m in (answer(call, 7), {"type": "heartbeat", "seq": 1},
                                                   {"type": "heartbeat", "seq": 2})]
        client.send_bytes(b"".join(len(b).to_bytes(4, "big") + b for b in bodies))
        self.assertEqual(client.expect("heartbeat", timeout=0.25)["seq"], 1)
        self.assertEqual(client.expect("heartbeat", timeout=0.25)["seq"], 2)
        self.assertEqual(self.final(1)["value"], {"text/plain": "7"})

    def test_answers_in_any_order_reach_the_main_thread_and_a_thread_that_both_wait(self):
        client = self.client
        code = (
            "import threading\n"
            "got = {}\n"
            "t = threading.Thread(target=lambda: got.update(thread=echo('from-thread')))\n"
            "t.start()\n"
            "got['main'] = echo('from-main')\n"
            "t.join()\n"
            "sorted(got.items())"
        )
        client.send({"type": "execute", "id": 1, "code": code})
        calls = [client.expect("call"), client.expect("call")]
        # Answer the main thread's call last: its answer is read by whoever holds the turn.
        calls.sort(key=lambda m: m["args"]["value"] == "from-main")
        for call in calls:
            client.send(answer(call, call["args"]["value"].upper()))
        self.assertEqual(self.final(1)["value"], {"text/plain": "[('main', 'FROM-MAIN'), ('thread', 'FROM-THREAD')]"})

    def test_many_sync_calls_in_a_row_each_get_their_own_answer(self):
        client = self.client

        def on_message(message):
            if message["type"] == "call":
                client.send(answer(message, message["args"]["value"] * 2))

        client.send({"type": "execute", "id": 1, "code": "sum(echo(i) for i in range(500))"})
        self.assertEqual(self.final(1, on_message)["value"], {"text/plain": str(2 * sum(range(500)))})

    def test_a_sigint_from_a_thread_interrupts_the_main_threads_wait_for_its_answer(self):
        client = self.client
        code = (
            "import os, signal, threading, time\n"
            "threading.Timer(0.1, os.kill, (os.getpid(), signal.SIGINT)).start()\n"
            "hang()"
        )
        client.send({"type": "execute", "id": 1, "code": code})
        call = client.expect("call")
        cancels = []
        final = self.final(1, lambda m: m["type"] == "call_cancel" and cancels.append(m["id"]))
        self.assertEqual(final["ename"], "KeyboardInterrupt", final)
        self.assertEqual(cancels, [call["id"]])
        self.assertNotIn("capsule_worker", "".join(final["traceback"]))
        self.assertEqual(client.run("1 + 1", 2).final["value"], {"text/plain": "2"})

    def test_a_sigint_handler_may_make_a_call_while_the_main_thread_waits_for_another(self):
        client = self.client
        code = (
            "import os, signal, threading\n"
            "seen = []\n"
            "signal.signal(signal.SIGINT, lambda *a: seen.append(echo('in-handler')))\n"
            "threading.Timer(0.1, os.kill, (os.getpid(), signal.SIGINT)).start()\n"
            "first = hang()\n"
            "(first, seen)"
        )
        client.send({"type": "execute", "id": 1, "code": code})
        outer = client.expect("call")
        inner = client.expect("call", timeout=5)
        self.assertEqual(inner["args"], {"value": "in-handler"})
        client.send(answer(inner, "handled"))
        time.sleep(0.05)
        client.send(answer(outer, "outer"))
        final = self.final(1)
        self.assertEqual(final["type"], "result", final)
        self.assertEqual(final["value"], {"text/plain": "('outer', ['handled'])"})

    def test_a_bad_frame_read_by_the_main_thread_ends_the_worker_with_status_70(self):
        client = self.client
        client.send({"type": "execute", "id": 1, "code": "hang()"})
        client.expect("call")
        client.send({"type": "teleport"})
        self.assertEqual(client.proc.wait(10), 70)
        self.assertIn("unknown message type 'teleport'", client.proc.stderr.read().decode())

    def test_end_of_file_while_the_main_thread_waits_for_its_answer_ends_the_worker(self):
        client = self.client
        client.send({"type": "execute", "id": 1, "code": "hang()"})
        client.expect("call")
        started = time.monotonic()
        client.close_input()
        self.assertEqual(client.proc.wait(10), 0)
        # Interrupted at once, not only after the grace period.
        self.assertLess(time.monotonic() - started, 1.5)

    def test_a_sync_call_from_an_event_loop_callback_between_cells_is_answered(self):
        client = self.client

        def on_message(message):
            if message["type"] == "call":
                client.send(answer(message, "called back"))

        outcome = client.run(
            "import asyncio\nawait asyncio.sleep(0)\nbox = []\n"
            "handle = asyncio.get_running_loop().call_later(0.05, lambda: box.append(echo('idle')))", 1
        )
        self.assertTrue(outcome.ok, outcome.final)
        call = client.expect("call")
        self.assertIsNone(call["exec"])
        client.send(answer(call, "idle answer"))
        time.sleep(0.1)
        self.assertEqual(client.run("box", 2, on_message).final["value"], {"text/plain": "['idle answer']"})


def frames(codec, *messages):
    bodies = [codec.encode(m) for m in messages]
    return b"".join(len(b).to_bytes(4, "big") + b for b in bodies)


class IdleTurnTest(WorkerTestCase):
    """The idle main thread reads the execute itself, and hands the pipe back before the cell runs."""

    def setUp(self):
        self.client = self.start([])

    def test_frames_written_with_an_execute_are_served_while_its_cell_runs(self):
        client = self.client
        # Nothing more arrives to wake the reader thread: the idle main thread must serve the
        # heartbeats it read with the execute before it starts the cell.
        client.send_bytes(frames(client.codec, {"type": "execute", "id": 1, "code": "import time\ntime.sleep(0.3)\n5"},
                                 {"type": "heartbeat", "seq": 1}, {"type": "heartbeat", "seq": 2}))
        self.assertEqual(client.expect("heartbeat", timeout=0.25)["seq"], 1)
        self.assertEqual(client.expect("heartbeat", timeout=0.25)["seq"], 2)
        self.assertEqual(client.expect("result")["value"], {"text/plain": "5"})

    def test_an_interrupt_written_with_its_execute_stops_the_cell_before_it_runs(self):
        client = self.client
        client.send_bytes(frames(client.codec, {"type": "execute", "id": 1, "code": "ran = True"},
                                 {"type": "interrupt", "id": 1}))
        final = client.expect("error")
        self.assertEqual(final["ename"], "KeyboardInterrupt", final)
        self.assertEqual(client.run("'ran' in globals()", 2).final["value"], {"text/plain": "False"})

    def test_a_sigint_while_idle_is_ignored(self):
        client = self.client
        outcome = client.run("import os, signal, threading\n"
                             "threading.Timer(0.1, os.kill, (os.getpid(), signal.SIGINT)).start()", 1)
        self.assertTrue(outcome.ok, outcome.final)
        time.sleep(0.3)
        client.send({"type": "heartbeat", "seq": 9})
        self.assertEqual(client.expect("heartbeat")["seq"], 9)
        self.assertEqual(client.run("1 + 1", 2).final["value"], {"text/plain": "2"})

    def test_a_bad_frame_read_by_the_idle_main_thread_ends_the_worker_with_status_70(self):
        client = self.client
        self.assertTrue(client.run("1", 1).ok)
        client.send({"type": "teleport"})
        self.assertEqual(client.proc.wait(10), 70)
        self.assertIn("unknown message type 'teleport'", client.proc.stderr.read().decode())

    def test_end_of_file_while_idle_ends_the_worker_at_once(self):
        client = self.client
        self.assertTrue(client.run("1", 1).ok)
        started = time.monotonic()
        client.close_input()
        self.assertEqual(client.proc.wait(10), 0)
        self.assertLess(time.monotonic() - started, 1.5)


if __name__ == "__main__":
    unittest.main()

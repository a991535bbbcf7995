"""The event loop keeps running between cells, as in the asyncio REPL and ipykernel."""

import socket
import unittest

from tests.support import WorkerTestCase

SERVER = (
    "import asyncio\n"
    "async def handle(reader, writer):\n"
    "    line = await reader.readline()\n"
    "    print('served', line.decode().strip())\n"
    "    writer.write(line.upper())\n"
    "    await writer.drain()\n"
    "    writer.close()\n"
    "server = await asyncio.start_server(handle, '127.0.0.1', 0)\n"
    "server.sockets[0].getsockname()[1]"
)


def ask(port, text):
    """One request to the worker's server on 127.0.0.1, from this (host) process."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(text.encode() + b"\n")
        conn.shutdown(socket.SHUT_WR)
        reply = b""
        while True:
            chunk = conn.recv(1024)
            if not chunk:
                return reply.decode()
            reply += chunk


class Listener:
    """A socket on 127.0.0.1 that code in the worker connects to, so a test can await it."""

    def __init__(self, test):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.sock.settimeout(10)
        self.port = self.sock.getsockname()[1]
        test.addCleanup(self.sock.close)

    def wait(self):
        """Block until the worker connects (fails the test after 10 s)."""
        conn, _ = self.sock.accept()
        conn.close()


class BackgroundLoopTest(WorkerTestCase):
    def setUp(self):
        self.client = self.start()
        self.next_id = 0

    def run_cell(self, code, **kwargs):
        self.next_id += 1
        return self.client.run(code, self.next_id, **kwargs)

    def start_server(self):
        outcome = self.run_cell(SERVER)
        self.assertResult(outcome)
        return int(outcome.plain())

    def test_a_server_started_by_one_cell_answers_while_the_session_is_idle(self):
        port = self.start_server()
        self.assertEqual(ask(port, "ping"), "PING\n")
        self.assertEqual(ask(port, "again"), "AGAIN\n")
        # Its output waited for the next execution and comes first in it, before the result.
        outcome = self.run_cell("'next'")
        self.assertResult(outcome, "'next'")
        self.assertEqual(outcome.messages[0]["type"], "stream")
        self.assertEqual(outcome.text(), "served ping\nserved again\n")

    def test_a_task_created_by_a_cell_runs_on_after_it(self):
        listener = Listener(self)
        self.assertResult(
            self.run_cell(
                "import asyncio, socket\n"
                "steps = []\n"
                "async def background():\n"
                "    for i in range(3):\n"
                "        await asyncio.sleep(0.01)\n"
                "        steps.append(i)\n"
                "    await asyncio.open_connection('127.0.0.1', %d)\n"
                "task = asyncio.create_task(background())\n"
                "await asyncio.sleep(0)\n"
                "steps" % listener.port
            ),
            "[]",
        )
        listener.wait()  # the task connects only after its three steps, with no cell running
        self.assertResult(self.run_cell("steps"), "[0, 1, 2]")

    def test_a_sync_cell_can_schedule_on_the_session_loop_and_still_use_asyncio_run(self):
        port = self.start_server()
        self.assertResult(
            self.run_cell(
                "import asyncio\n"
                "async def answer():\n    return 'ran'\n"
                "try:\n    asyncio.get_running_loop()\n    running = True\n"
                "except RuntimeError:\n    running = False\n"
                "(running, asyncio.run(answer()))"
            ),
            "(False, 'ran')",
        )
        # asyncio.run did not disturb the session's loop: the server still answers.
        self.assertEqual(ask(port, "still"), "STILL\n")

    def test_interrupts_still_reach_the_running_cell_and_leave_the_server_up(self):
        port = self.start_server()
        for code in ("print('started', flush=True)\nawait asyncio.sleep(30)",
                     "import time\nprint('started', flush=True)\ntime.sleep(30)"):
            with self.subTest(code=code):
                self.next_id += 1
                exec_id = self.next_id
                self.client.send({"type": "execute", "id": exec_id, "code": code})
                while True:
                    message = self.client.recv()
                    if message["type"] == "stream" and "started" in message["text"]:
                        self.client.send({"type": "interrupt", "id": exec_id})
                    if message["type"] in ("result", "error"):
                        break
                self.assertEqual(message["ename"], "KeyboardInterrupt")
                self.assertEqual(ask(port, "up"), "UP\n")

    def test_an_interrupted_cells_task_does_not_run_on_in_the_background(self):
        # The user's handler raises in the selector, outside the cell's task: the worker must
        # cancel that task itself, or it would wake up later while the session idles.
        self.run_cell(
            "import asyncio, signal\n"
            "def stop(signum, frame):\n    raise KeyboardInterrupt\n"
            "signal.signal(signal.SIGINT, stop)"
        )
        self.next_id += 1
        exec_id = self.next_id
        code = (
            "async def body():\n"
            "    try:\n"
            "        print('waiting', flush=True)\n"
            "        await asyncio.sleep(30)\n"
            "    except asyncio.CancelledError:\n"
            "        print('cell task cancelled')\n"
            "        raise\n"
            "    print('cell task woke up later')\n"
            "await body()"
        )
        self.client.send({"type": "execute", "id": exec_id, "code": code})
        printed = ""
        while True:
            message = self.client.recv()
            if message["type"] == "stream":
                printed += message["text"]
                if "waiting" in message["text"]:
                    self.client.send({"type": "interrupt", "id": exec_id})
            if message["type"] in ("result", "error"):
                break
        self.assertEqual(message["ename"], "KeyboardInterrupt")
        self.assertEqual(printed, "waiting\ncell task cancelled\n")  # its cleanup ran within the cell
        outcome = self.run_cell("[t for t in asyncio.all_tasks(asyncio.get_event_loop()) if not t.done()]")
        self.assertResult(outcome, "[]")

    def test_a_background_task_that_raises_system_exit_while_idle_is_reported_and_the_session_goes_on(self):
        listener = Listener(self)
        self.assertResult(
            self.run_cell(
                "import asyncio, socket\n"
                "def tell_the_test():\n"
                "    socket.create_connection(('127.0.0.1', %d)).close()\n"
                "async def quit_on_request(reader, writer):\n"
                "    asyncio.get_running_loop().call_soon(tell_the_test)\n"
                "    raise SystemExit(3)\n"
                "server = await asyncio.start_server(quit_on_request, '127.0.0.1', 0)\n"
                "port = server.sockets[0].getsockname()[1]" % listener.port
            )
        )
        port = int(self.run_cell("port").plain())
        socket.create_connection(("127.0.0.1", port), timeout=10).close()
        listener.wait()  # the handler raised, and the loop went on to run the callback after it
        outcome = self.run_cell("'alive'")
        self.assertResult(outcome, "'alive'")
        self.assertIn("raised while the session was idle", outcome.text("stderr"))
        self.assertIn("SystemExit: 3", outcome.text("stderr"))


if __name__ == "__main__":
    unittest.main()

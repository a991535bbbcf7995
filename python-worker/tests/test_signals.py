"""SIGINT that Python sends itself behaves as in plain CPython; a death by signal leaves its story."""

import unittest

from tests.support import SharedWorkerTestCase, WorkerTestCase


def run_until_final(client, exec_id, on_message=None):
    """Collect an execution's messages (the caller already sent its execute) until its result or error."""
    messages = []
    while True:
        message = client.recv()
        messages.append(message)
        if on_message is not None:
            on_message(message)
        if message["type"] in ("result", "error") and message.get("id") == exec_id:
            return message, messages


class SelfSentSignalTest(SharedWorkerTestCase):
    def test_interrupt_main_from_a_thread_stops_a_spinning_main_thread(self):
        error = self.assertError(
            self.run_cell(
                "import _thread, threading\n"
                "threading.Thread(target=_thread.interrupt_main).start()\n"
                "while True:\n    pass"
            ),
            "KeyboardInterrupt",
        )
        self.assertNotIn("capsule_worker", "".join(error["traceback"]))

    def test_raise_signal_raises_keyboard_interrupt_at_the_call(self):
        outcome = self.run_cell(
            "import signal\n"
            "try:\n    signal.raise_signal(signal.SIGINT)\n    where = 'not raised'\n"
            "except KeyboardInterrupt:\n    where = 'raised at the call'\n"
            "where"
        )
        self.assertResult(outcome, "'raised at the call'")

    def test_os_kill_of_its_own_pid_interrupts_a_sleep(self):
        self.assertError(
            self.run_cell("import os, signal, time\nos.kill(os.getpid(), signal.SIGINT)\ntime.sleep(30)"),
            "KeyboardInterrupt",
        )

    def test_interrupt_main_reaches_an_awaiting_async_cell(self):
        self.assertError(
            self.run_cell(
                "import _thread, asyncio, threading\n"
                "threading.Thread(target=_thread.interrupt_main).start()\n"
                "await asyncio.sleep(30)"
            ),
            "KeyboardInterrupt",
        )

    def test_the_namespace_survives_and_the_next_cell_runs(self):
        self.run_cell("import signal\nsurvivor = 'kept'\nsignal.raise_signal(signal.SIGINT)")
        self.assertResult(self.run_cell("survivor"), "'kept'")


class UserHandlerTest(WorkerTestCase):
    def setUp(self):
        self.client = self.start()
        self.next_id = 0

    def run_cell(self, code, **kwargs):
        self.next_id += 1
        return self.client.run(code, self.next_id, **kwargs)

    def test_getsignal_reports_default_int_handler_until_user_code_installs_one(self):
        self.assertResult(
            self.run_cell("import signal\nsignal.getsignal(signal.SIGINT) is signal.default_int_handler"), "True"
        )
        outcome = self.run_cell(
            "hits = []\n"
            "def on_int(signum, frame):\n    hits.append(signum)\n"
            "previous = signal.signal(signal.SIGINT, on_int)\n"
            "signal.raise_signal(signal.SIGINT)\n"
            "(hits, previous is signal.default_int_handler, signal.getsignal(signal.SIGINT) is on_int)"
        )
        self.assertResult(outcome, "([2], True, True)")
        self.assertResult(
            self.run_cell("signal.signal(signal.SIGINT, signal.default_int_handler) is on_int"), "True"
        )
        self.assertError(self.run_cell("signal.raise_signal(signal.SIGINT)"), "KeyboardInterrupt")

    def test_sig_ign_ignores_every_sigint_the_hosts_too_as_in_cpython(self):
        outcome = self.run_cell(
            "import _thread, os, signal, time\n"
            "previous = signal.signal(signal.SIGINT, signal.SIG_IGN)\n"
            "signal.raise_signal(signal.SIGINT)\n"
            "os.kill(os.getpid(), signal.SIGINT)\n"
            "_thread.interrupt_main()\n"
            "(previous is signal.default_int_handler, signal.getsignal(signal.SIGINT))"
        )
        self.assertResult(outcome, "(True, <Handlers.SIG_IGN: 1>)")
        self.next_id += 1
        exec_id = self.next_id
        # The cell spins for a while after the host's interrupt and ends on its own.
        code = "print('spinning', flush=True)\nend = time.monotonic() + 0.5\nwhile time.monotonic() < end:\n    pass\n'survived'"
        self.client.send({"type": "execute", "id": exec_id, "code": code})
        final, _ = run_until_final(
            self.client, exec_id,
            lambda m: m["type"] == "stream" and self.client.send({"type": "interrupt", "id": exec_id}),
        )
        self.assertEqual(final.get("value"), {"text/plain": "'survived'"}, final)
        # Back to the default handler: SIGINT raises again.
        self.run_cell("signal.signal(signal.SIGINT, signal.default_int_handler)")
        self.assertError(self.run_cell("signal.raise_signal(signal.SIGINT)"), "KeyboardInterrupt")

    def test_sig_dfl_makes_interrupt_main_a_no_op_and_a_real_sigint_fatal_as_in_cpython(self):
        outcome = self.run_cell(
            "import _thread, signal\nsignal.signal(signal.SIGINT, signal.SIG_DFL)\n_thread.interrupt_main()\n'no-op'"
        )
        self.assertResult(outcome, "'no-op'")
        self.client.send({"type": "execute", "id": self.next_id + 1, "code": "signal.raise_signal(signal.SIGINT)"})
        with self.assertRaises(EOFError):
            while True:
                self.client.recv()
        self.assertEqual(self.client.proc.wait(10), -2)

    def test_a_host_interrupt_goes_to_the_users_handler_as_ctrl_c_would(self):
        self.run_cell(
            "import signal\nstop = []\n"
            "signal.signal(signal.SIGINT, lambda signum, frame: stop.append(signum))"
        )
        self.next_id += 1
        exec_id = self.next_id
        self.client.send(
            {"type": "execute", "id": exec_id,
             "code": "print('waiting', flush=True)\nwhile not stop:\n    pass\n'stopped gracefully'"}
        )
        final, _ = run_until_final(
            self.client, exec_id,
            lambda m: m["type"] == "stream" and self.client.send({"type": "interrupt", "id": exec_id}),
        )
        self.assertEqual(final["type"], "result", final)
        self.assertEqual(final["value"], {"text/plain": "'stopped gracefully'"})

    def test_signal_signal_for_sigint_outside_the_main_thread_is_refused_as_in_cpython(self):
        outcome = self.run_cell(
            "import signal, threading\nerrors = []\n"
            "def install():\n"
            "    try:\n        signal.signal(signal.SIGINT, signal.SIG_IGN)\n"
            "    except ValueError as exc:\n        errors.append(str(exc))\n"
            "t = threading.Thread(target=install); t.start(); t.join()\n"
            "errors, signal.getsignal(signal.SIGINT) is signal.default_int_handler"
        )
        self.assertResult(outcome, "(['signal only works in main thread of the main interpreter'], True)")
        self.assertError(self.run_cell("signal.signal(signal.SIGINT, 42)"), "TypeError")

    def test_asyncio_run_in_a_sync_cell_cancels_its_main_task_on_a_host_interrupt(self):
        self.next_id += 1
        exec_id = self.next_id
        code = (
            "import asyncio\n"
            "async def main():\n"
            "    try:\n"
            "        print('running', flush=True)\n"
            "        await asyncio.sleep(30)\n"
            "    except asyncio.CancelledError:\n"
            "        print('main task cancelled')\n"
            "        raise\n"
            "asyncio.run(main())"
        )
        self.client.send({"type": "execute", "id": exec_id, "code": code})
        final, messages = run_until_final(
            self.client, exec_id,
            lambda m: m["type"] == "stream" and "running" in m["text"]
            and self.client.send({"type": "interrupt", "id": exec_id}),
        )
        self.assertEqual(final["ename"], "KeyboardInterrupt")
        text = "".join(m["text"] for m in messages if m["type"] == "stream")
        self.assertIn("main task cancelled", text)
        # asyncio.Runner put default_int_handler back through the patched signal module.
        self.assertResult(
            self.run_cell("import signal\nsignal.getsignal(signal.SIGINT) is signal.default_int_handler"), "True"
        )


class DeathBySignalTest(WorkerTestCase):
    def die(self, code):
        client = self.start()
        client.send({"type": "execute", "id": 1, "code": code})
        messages = []
        while True:
            try:
                messages.append(client.recv())
            except EOFError:
                break
        status = client.proc.wait(10)
        diagnostics = client.proc.stderr.read().decode("utf-8", "replace")
        return status, messages, diagnostics

    def test_os_abort_sends_the_output_before_it_and_leaves_the_stack_on_the_diagnostic_fd(self):
        status, messages, diagnostics = self.die("print('last words')\nimport os\nos.abort()")
        self.assertEqual(status, -6)
        self.assertEqual(
            [m for m in messages if m["type"] == "stream"],
            [{"type": "stream", "id": 1, "name": "stdout", "text": "last words\n"}],
        )
        self.assertIn("Fatal Python error: Aborted", diagnostics)
        self.assertIn('File "<cell-1>", line 3', diagnostics)

    def test_a_segfault_leaves_the_crashing_cell_line_on_the_diagnostic_fd(self):
        status, _, diagnostics = self.die("import ctypes\nctypes.string_at(0)")
        self.assertEqual(status, -11)
        self.assertIn("Fatal Python error: Segmentation fault", diagnostics)
        self.assertIn('File "<cell-1>", line 2', diagnostics)


if __name__ == "__main__":
    unittest.main()

import threading
import time
import unittest

from tests.client import make_spec, param
from tests.support import MSGPACK, SharedWorkerTestCase, WorkerTestCase

READ_FILE = make_spec(
    "fs.read_file", "read_file",
    [param("path"), param("encoding", required=False, annotation="str | None", default="utf-8"),
     param("follow", required=False, kind="keyword_only", annotation="bool", default=False),
     param("limit", required=False, kind="keyword_only", annotation="int | None")],
    doc="Read a file from the workspace.", returns="str | bytes",
)
ECHO = make_spec("test.echo", "echo", [param("value", annotation="Any")], doc="Echo a value.")
SLOW = make_spec("test.slow_echo", "slow_echo", [param("value", annotation="Any")], doc="Echo after a delay.")
HANG = make_spec("test.hang", "hang", [], doc="Never answered.")
FAIL = make_spec("test.fail", "fail", [param("code")], doc="Fails with a code.")
INPUT = make_spec("io.input", "input", [param("prompt"), param("password", annotation="bool")], doc="Ask the human.")
FETCH = make_spec("http.fetch", "fetch", [param("url")], doc="Fetch a URL.", wrap="http_response")
RUN = make_spec(
    "shell.run", "run_command",
    [param("argv", annotation="list[str]"), param("check", required=False, kind="keyword_only", annotation="bool", default=False)],
    doc="Run a command.", wrap="completed_process",
)
ALL = [READ_FILE, ECHO, SLOW, HANG, FAIL, INPUT, FETCH, RUN]


class FakeHost:
    """Answers calls the way a host would; records them."""

    def __init__(self, delay=0.0):
        self.calls = []
        self.cancels = []
        self.delay = delay
        self.timers = []

    def on_message(self, message, client):
        if message["type"] == "call_cancel":
            self.cancels.append(message["id"])
            client.send({"type": "call_error", "id": message["id"], "code": "CANCELLED", "message": "cancelled"})

    def __call__(self, message, client):
        self.calls.append(message)
        cap, args = message["capability"], message["args"]
        if cap == "test.hang":
            return
        if cap == "test.fail":
            answer = {"type": "call_error", "id": message["id"], "code": args["code"], "message": "failed with " + args["code"]}
        elif cap == "io.input" and args["prompt"] == "nobody? ":
            answer = {"type": "call_error", "id": message["id"], "code": "NOT_FOUND", "message": "EOF when reading a line: nobody"}
        elif cap == "io.input":
            answer = {"type": "call_result", "id": message["id"], "value": ("secret" if args["password"] else "Ada") + "|" + args["prompt"]}
        elif cap == "http.fetch":
            answer = {"type": "call_result", "id": message["id"], "value": {
                "url": args["url"], "status": 404 if "missing" in args["url"] else 200, "reason": "Not Found" if "missing" in args["url"] else "OK",
                "headers": [["Content-Type", "application/json; charset=latin-1"], ["Set-Cookie", "a=1"], ["set-cookie", "b=2"]],
                "body": '{"name": "é"}'.encode("latin-1"),
            }}
        elif cap == "shell.run":
            code = 0 if args["argv"][0] == "true" else 2
            answer = {"type": "call_result", "id": message["id"], "value": {
                "args": args["argv"], "returncode": code, "stdout": "out", "stderr": b"err", "truncated": False}}
        else:
            answer = {"type": "call_result", "id": message["id"], "value": {"capability": cap, "args": args}}
        if self.delay or cap == "test.slow_echo":
            timer = threading.Timer(self.delay or 0.3, client.send, (answer,))
            timer.start()
            self.timers.append(timer)
        else:
            client.send(answer)


class StubTest(SharedWorkerTestCase):
    CAPABILITIES = ALL

    def run_with_host(self, code, host=None):
        host = host or FakeHost()
        return self.run_cell(code, on_call=host, on_message=host.on_message), host

    def test_stubs_have_real_signatures_docs_and_names(self):
        outcome = self.run_cell("import inspect\nstr(inspect.signature(read_file)), read_file.__name__, read_file.__qualname__, read_file.__doc__")
        self.assertResult(
            outcome,
            repr(("(path: str, encoding: str | None = 'utf-8', *, follow: bool = False, limit: int | None = None) -> str | bytes",
                  "read_file", "read_file", "Read a file from the workspace.")),
        )
        outcome = self.run_cell("import inspect\np = inspect.signature(read_file).parameters\n(p['encoding'].default, p['path'].annotation == 'str', p['follow'].kind.name)")
        self.assertResult(outcome, "('utf-8', True, 'KEYWORD_ONLY')")

    def test_help_shows_the_signature_and_doc(self):
        outcome = self.run_cell("help(read_file)")
        text = outcome.text()
        # Python 3.13 spreads long signatures over several lines.
        for part in ("read_file(", "path: str", "encoding: str | None = 'utf-8'", "follow: bool = False", ") -> str | bytes"):
            self.assertIn(part, text)
        self.assertIn("Read a file from the workspace.", text)

    def test_a_sync_call_sends_only_the_arguments_passed_and_returns_the_value(self):
        outcome, host = self.run_with_host("read_file('a.txt', follow=True)")
        self.assertResult(outcome, repr({"capability": "fs.read_file", "args": {"path": "a.txt", "follow": True}}))
        call = host.calls[0]
        self.assertEqual(call["exec"], outcome.final["id"])
        self.assertEqual(call["args"], {"path": "a.txt", "follow": True})
        outcome, host = self.run_with_host("read_file(path='b', encoding='latin-1')")
        self.assertEqual(host.calls[0]["args"], {"path": "b", "encoding": "latin-1"})

    def test_bytes_cross_both_ways(self):
        outcome, host = self.run_with_host("echo(b'\\x00\\xffbin')['args']['value']")
        self.assertResult(outcome, repr(b"\x00\xffbin"))
        self.assertEqual(host.calls[0]["args"], {"value": b"\x00\xffbin"})

    def test_a_wrong_call_is_a_local_type_error(self):
        outcome, host = self.run_with_host("read_file()")
        self.assertError(outcome, "TypeError")
        outcome, host = self.run_with_host("read_file('a', 'b', 'c')")
        self.assertError(outcome, "TypeError")
        outcome, host = self.run_with_host("read_file('a', nope=1)")
        self.assertError(outcome, "TypeError")
        self.assertEqual(host.calls, [])

    def test_unsendable_arguments_are_a_type_error(self):
        outcome, host = self.run_with_host("echo(object())")
        self.assertError(outcome, "TypeError")
        self.assertEqual(host.calls, [])

    def test_arguments_too_large_for_a_frame_fail_locally_with_limit_exceeded(self):
        outcome, host = self.run_with_host(
            "import capsule\ntry:\n    echo(b'x' * (5 << 20))\nexcept capsule.CapabilityError as e:\n    r = e.code\nr"
        )
        self.assertResult(outcome, "'LIMIT_EXCEEDED'")
        self.assertEqual(host.calls, [])

    def test_inside_a_task_unsendable_or_oversized_arguments_fail_at_the_call_site(self):
        outcome, host = self.run_with_host(
            "import asyncio, capsule\n"
            "async def main():\n"
            "    seen = []\n"
            "    try:\n"
            "        echo(object())\n"
            "    except TypeError:\n"
            "        seen.append('TypeError')\n"
            "    try:\n"
            "        echo(b'x' * (5 << 20))\n"
            "    except capsule.CapabilityError as e:\n"
            "        seen.append(e.code)\n"
            "    return seen\n"
            "await main()"
        )
        self.assertResult(outcome, "['TypeError', 'LIMIT_EXCEEDED']")
        self.assertEqual(host.calls, [])

    def test_output_is_flushed_before_a_call(self):
        outcome, _ = self.run_with_host("print('before the call')\necho(1)\nNone")
        kinds = [m["type"] for m in outcome.messages]
        self.assertEqual(kinds[:2], ["stream", "call"])

    def test_error_codes_map_to_typed_exceptions(self):
        cases = [
            ("DENIED", "CapabilityDenied", ("CapabilityError", "PermissionError")),
            ("TIMEOUT", "CapabilityTimeout", ("CapabilityError", "TimeoutError")),
            ("INVALID_ARGUMENT", "InvalidArguments", ("CapabilityError", "ValueError")),
            ("NOT_FOUND", "CapabilityError", ("CapabilityError",)),
            ("CANCELLED", "CapabilityError", ("CapabilityError",)),
        ]
        for code, ename, bases in cases:
            with self.subTest(code=code):
                outcome, _ = self.run_with_host(
                    "import capsule\n"
                    "try:\n"
                    "    fail(%r)\n"
                    "except capsule.CapabilityError as e:\n"
                    "    caught = e\n"
                    "(type(caught).__name__, caught.code, caught.message, [b.__name__ for b in type(caught).__mro__])" % code
                )
                name, got_code, message, mro = eval(outcome.plain())
                self.assertEqual((name, got_code, message), (ename, code, "failed with " + code))
                for base in bases:
                    self.assertIn(base, mro)
                error = self.assertError(self.run_with_host("fail(%r)" % code)[0], ename)
                self.assertNotIn("capsule_worker", "".join(error["traceback"]))

    def test_an_async_cell_gets_futures_so_gather_runs_calls_concurrently(self):
        start = time.monotonic()
        outcome, host = self.run_with_host(
            "import asyncio\n"
            "results = await asyncio.gather(*(slow_echo(i) for i in range(50)))\n"
            "[r['args']['value'] for r in results] == list(range(50))"
        )
        elapsed = time.monotonic() - start
        self.assertResult(outcome, "True")
        self.assertEqual(len(host.calls), 50)
        # Each answer takes 0.3 s: one after another would take 15 s.
        self.assertLess(elapsed, 3.0)

    def test_a_call_in_the_last_expression_of_an_awaiting_cell_is_a_future(self):
        outcome, host = self.run_with_host(
            "import asyncio\nawait asyncio.sleep(0)\nlast = echo('tail')\nisinstance(echo('value'), asyncio.Future)"
        )
        self.assertResult(outcome, "True")
        self.assertEqual([call["args"]["value"] for call in host.calls], ["tail", "value"])

    def test_async_errors_raise_at_the_await(self):
        outcome, _ = self.run_with_host(
            "import capsule\ntry:\n    await fail('DENIED')\nexcept capsule.CapabilityDenied as e:\n    r = e.code\nr"
        )
        self.assertResult(outcome, "'DENIED'")


    def test_a_cancelled_async_call_tells_the_host_and_an_answered_one_does_not(self):
        outcome, host = self.run_with_host(
            "import asyncio\n"
            "answered = await echo('kept')\n"
            "try:\n"
            "    await asyncio.wait_for(hang(), 0.05)\n"
            "except asyncio.TimeoutError:\n"
            "    timed_out = True\n"
            "task = asyncio.ensure_future(asyncio.gather(hang(), hang()))\n"
            "await asyncio.sleep(0.05)\n"
            "task.cancel()\n"
            "try:\n"
            "    await task\n"
            "except asyncio.CancelledError:\n"
            "    cancelled = True\n"
            "base = type(hang()).__mro__[1].__name__\n"
            "(answered['args']['value'], timed_out, cancelled, base)"
        )
        self.assertResult(outcome, "('kept', True, True, 'Future')")
        hung = [call["id"] for call in host.calls if call["capability"] == "test.hang"]
        self.assertEqual(len(hung), 4)
        # The three cancelled hangs are cancelled; the echo was answered and the last hang is still pending.
        self.assertEqual(sorted(host.cancels), sorted(hung[:3]))
    def test_calls_from_a_thread_block_that_thread_and_name_the_running_execution(self):
        outcome, host = self.run_with_host(
            "import threading\n"
            "out = []\n"
            "t = threading.Thread(target=lambda: out.append(echo('from thread')))\n"
            "t.start(); t.join()\n"
            "out[0]['args']['value']"
        )
        self.assertResult(outcome, "'from thread'")
        self.assertEqual(host.calls[0]["exec"], outcome.final["id"])

    def test_input_and_getpass_round_trip_to_the_host(self):
        outcome, host = self.run_with_host(
            "import getpass, builtins\n(input('Name? '), getpass.getpass(), builtins.input is input, 'input' in globals())"
        )
        self.assertResult(outcome, repr(("Ada|Name? ", "secret|Password: ", True, False)))
        self.assertEqual([c["args"] for c in host.calls], [
            {"prompt": "Name? ", "password": False}, {"prompt": "Password: ", "password": True},
        ])

    def test_input_with_nobody_to_answer_raises_eof_error(self):
        # The host answers NOT_FOUND when no handler and no consumer could answer: end of file.
        outcome, _ = self.run_with_host(
            "import getpass\nout = []\nfor ask in (input, getpass.getpass):\n"
            "    try:\n        ask('nobody? ')\n    except EOFError as e:\n        out.append(str(e))\nout"
        )
        self.assertResult(outcome, repr(["EOF when reading a line: nobody"] * 2))

    def test_http_responses_are_wrapped(self):
        outcome, _ = self.run_with_host(
            "import capsule\n"
            "r = fetch('https://example.org/data')\n"
            "(isinstance(r, capsule.Response), r.status_code, r.reason_phrase, r.ok, r.url, r.headers['content-type'],"
            " r.headers['SET-COOKIE'], r.encoding, r.text, r.json(), r.content[:2], r.raise_for_status() is r, repr(r))"
        )
        self.assertResult(outcome, repr((
            True, 200, "OK", True, "https://example.org/data", "application/json; charset=latin-1",
            "a=1, b=2", "latin-1", '{"name": "é"}', {"name": "é"}, b'{"', True, "<Response [200 OK]>",
        )))
        outcome, _ = self.run_with_host(
            "import capsule\nr = fetch('https://example.org/missing')\n"
            "try:\n    r.raise_for_status()\nexcept capsule.HTTPStatusError as e:\n    m = (str(e), e.response is r)\n(r.ok, m)"
        )
        self.assertResult(outcome, repr((False, ("Client error '404 Not Found' for url 'https://example.org/missing'", True))))

    def test_completed_processes_are_wrapped_and_check_raises(self):
        outcome, _ = self.run_with_host(
            "import capsule\np = run_command(['false'])\n"
            "(isinstance(p, capsule.CompletedProcess), p.args, p.returncode, p.stdout, p.stderr, p.truncated)"
        )
        self.assertResult(outcome, repr((True, ["false"], 2, "out", b"err", False)))
        outcome, _ = self.run_with_host("p = run_command(['false'])\np.check_returncode()")
        self.assertError(outcome, "CalledProcessError")
        outcome, host = self.run_with_host("run_command(['false'], check=True)")
        self.assertError(outcome, "CalledProcessError")
        self.assertEqual(host.calls[0]["args"], {"argv": ["false"], "check": True})
        self.assertResult(self.run_with_host("run_command(['true'], check=True).returncode")[0], "0")

    def test_answers_for_unknown_call_ids_are_ignored(self):
        self.worker.send({"type": "call_result", "id": 999999, "value": 1})
        self.worker.send({"type": "call_error", "id": 999998, "code": "DENIED", "message": "x"})
        self.assertResult(self.run_cell("'still fine'"), "'still fine'")

    def test_a_background_call_after_its_cell_has_a_null_exec_and_its_output_waits_for_the_next_execution(self):
        host = FakeHost()
        held = []

        def on_call(message, client):
            if message["capability"] == "test.hang":
                held.append(message)  # answered only after the cell has ended
            else:
                host(message, client)

        self.run_cell(
            "import threading\n"
            "def background():\n"
            "    hang()\n"
            "    print('from the background')\n"
            "    echo('done')\n"
            "bg = threading.Thread(target=background, daemon=True)\n"
            "bg.start()\n"
            "None",
            on_call=on_call,
        )
        if not held:  # the thread's first call may come after the cell's result
            held.append(self.worker.expect("call"))
        self.worker.send({"type": "call_result", "id": held[0]["id"], "value": None})
        done = self.worker.expect("call")
        self.assertEqual(done["capability"], "test.echo")
        self.assertIsNone(done["exec"])
        self.worker.send({"type": "call_result", "id": done["id"], "value": "ok"})
        outcome = self.run_cell("bg.join(5); 'next'")
        self.assertEqual(outcome.messages[0], {"type": "stream", "id": outcome.final["id"], "name": "stdout", "text": "from the background\n"})
        self.assertResult(outcome, "'next'")


class CapabilityReadyTest(WorkerTestCase):
    def test_ready_names_every_capability_and_input_is_not_a_global(self):
        client = self.start(handshake=False)
        _, ready = client.handshake(ALL)
        self.assertEqual(ready["capabilities"], [s["name"] for s in ALL])
        outcome = client.run("sorted(k for k in globals() if not k.startswith('_'))", 1)
        self.assertResult(outcome, repr(sorted(["display", "echo", "fail", "fetch", "hang", "read_file", "run_command", "slow_echo"])))

    def test_a_capability_not_granted_is_a_name_error(self):
        client = self.start([ECHO])
        self.assertError(client.run("read_file('x')", 1), "NameError")

    def test_a_spec_with_a_bad_name_ends_the_worker_with_status_70(self):
        client = self.start(handshake=False)
        client.expect("hello")
        client.send({"type": "init", "session": "s", "capabilities": [make_spec("x.y", "not a name")], "options": {}})
        self.assertEqual(client.proc.wait(10), 70)
        self.assertIn(b"not a Python identifier", client.proc.stderr.read())


@unittest.skipUnless(MSGPACK, "needs msgpack to force the other codec")
class JsonStubTest(StubTest):
    """The capability tests again with JSON forced on an interpreter that has msgpack."""

    CODECS = "json"


if __name__ == "__main__":
    unittest.main()

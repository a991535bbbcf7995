import time
import unittest

from tests.support import SharedWorkerTestCase, WorkerTestCase


class CaptureTest(SharedWorkerTestCase):
    def test_print_sys_stdout_os_write_and_child_processes_all_arrive_before_the_result(self):
        outcome = self.run_cell(
            "import os, subprocess, sys\n"
            "print('print')\n"
            "sys.stdout.write('write\\n')\n"
            "os.write(1, b'fd1\\n')\n"
            "subprocess.run(['echo', 'child'])\n"
            "os.system('echo system')\n"
            "os.write(2, b'fd2\\n')\n"
            "print('err', file=sys.stderr)\n"
            "sys.stdout.buffer.write('bytes é\\n'.encode())\n"
            "'done'"
        )
        self.assertResult(outcome, "'done'")
        self.assertEqual(outcome.messages[-1]["type"], "result")
        stdout = outcome.text("stdout")
        for line in ("print\n", "write\n", "fd1\n", "child\n", "system\n", "bytes é\n"):
            self.assertIn(line, stdout)
        self.assertEqual(sorted(outcome.text("stderr").splitlines()), ["err", "fd2"])
        for m in outcome.of("stream"):
            self.assertEqual(m["id"], self.next_id)

    def test_python_level_output_keeps_its_order(self):
        outcome = self.run_cell("for i in range(2000):\n    print(i)")
        self.assertEqual(outcome.text(), "".join("%d\n" % i for i in range(2000)))
        # Coalesced: far fewer frames than prints.
        self.assertLess(len(outcome.of("stream")), 200)

    def test_output_of_a_running_cell_is_flushed_without_waiting_for_the_result(self):
        arrived = {}

        def on_message(message, client):
            if message["type"] == "stream" and "first" not in arrived:
                arrived["first"] = time.monotonic()

        start = time.monotonic()
        outcome = self.run_cell("import time\nprint('early')\ntime.sleep(0.5)", on_message=on_message)
        self.assertResult(outcome)
        self.assertLess(arrived["first"] - start, 0.3)

    def test_print_with_flush_true_is_sent_at_once(self):
        arrived = {}

        def on_message(message, client):
            if message["type"] == "stream":
                arrived.setdefault("t", time.monotonic())

        start = time.monotonic()
        self.run_cell("import time\nprint('now', flush=True)\ntime.sleep(0.3)", on_message=on_message)
        self.assertLess(arrived["t"] - start, 0.2)

    def test_lone_surrogates_do_not_break_the_stream(self):
        outcome = self.run_cell("print('a\\ud800b')")
        self.assertResult(outcome)
        self.assertEqual(outcome.text(), "a\\ud800b\n")

    def test_invalid_utf8_from_a_child_is_replaced(self):
        outcome = self.run_cell("import os\nos.write(1, b'bad \\xff\\xfe end\\n')")
        self.assertEqual(outcome.text(), "bad \ufffd\ufffd end\n")

    def test_a_multibyte_character_split_across_writes_is_decoded_whole(self):
        outcome = self.run_cell("import os\nb = 'é'.encode()\nos.write(1, b[:1])\nos.write(1, b[1:] + b'\\n')")
        self.assertEqual(outcome.text(), "é\n")


class OutputCapTest(WorkerTestCase):
    def test_output_past_max_output_bytes_is_dropped_with_one_marker_and_a_count(self):
        client = self.start(options={"maxOutputBytes": 1000})
        outcome = client.run("import os\nprint('x' * 600)\nprint('y' * 600)\nos.write(1, b'z' * 100)\n'ok'", 1)
        self.assertResult(outcome, "'ok'")
        stdout = outcome.text("stdout")
        self.assertEqual(len(stdout.encode()), 1000)
        self.assertTrue(stdout.startswith("x" * 600 + "\n" + "y" * 399))
        self.assertEqual(outcome.text("stderr").count("[capsule: output truncated]"), 1)
        self.assertEqual(outcome.final["truncated"], 601 + 100 - 399 + 0 * 1)
        # The cap is per execution.
        again = client.run("print('fresh')", 2)
        self.assertEqual(again.text(), "fresh\n")
        self.assertEqual(again.final["truncated"], 0)

    def test_stream_chunks_stay_below_half_the_frame_limit(self):
        client = self.start(options={"maxFrameBytes": 64 * 1024, "maxOutputBytes": 1 << 20})
        outcome = client.run("import sys\nsys.stdout.write('é' * 100000)\nsys.stdout.write('\\x00' * 40000)", 1)
        self.assertResult(outcome)
        self.assertEqual(outcome.text(), "é" * 100000 + "\x00" * 40000)
        for m in outcome.of("stream"):
            self.assertLessEqual(len(m["text"].encode()), 32 * 1024)

    def test_one_megabyte_of_output_arrives_in_chunks_of_at_most_one_mebibyte(self):
        client = self.start(options={"maxFrameBytes": 16 << 20, "maxOutputBytes": 8 << 20})
        outcome = client.run("import sys\nsys.stdout.write('a' * (3 << 20))", 1)
        self.assertResult(outcome)
        self.assertEqual(len(outcome.text()), 3 << 20)
        self.assertTrue(all(len(m["text"]) <= 1 << 20 for m in outcome.of("stream")))


if __name__ == "__main__":
    unittest.main()

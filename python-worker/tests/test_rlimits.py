"""Resource limits the worker applies to itself before user code runs."""

import os
import subprocess
import sys
import textwrap
import unittest

from capsule_worker import rlimits

WORKER_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_child(code, spec):
    env = dict(os.environ, CAPSULE_RLIMITS=spec, PYTHONPATH=WORKER_ROOT)
    script = "from capsule_worker import rlimits\nimport os\nrlimits.apply(os.environ['CAPSULE_RLIMITS'])\n" + textwrap.dedent(code)
    return subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=30)


class ParseTest(unittest.TestCase):
    def test_reads_name_soft_hard_pairs(self):
        self.assertEqual(rlimits.parse("as=10:10;cpu=5:6;"), [("as", 10, 10), ("cpu", 5, 6)])

    def test_refuses_unknown_names_and_bad_values(self):
        with self.assertRaises(rlimits.LimitError):
            rlimits.parse("bogus=1:1")
        with self.assertRaises(rlimits.LimitError):
            rlimits.parse("as=ten:10")


class ApplyTest(unittest.TestCase):
    def test_limits_hold_and_cannot_be_raised_by_the_code_that_runs_after(self):
        result = run_child(
            """
            import resource
            print(resource.getrlimit(resource.RLIMIT_NOFILE))
            try:
                resource.setrlimit(resource.RLIMIT_NOFILE, (1024, 1024))
                print("raised")
            except (ValueError, OSError):
                print("refused")
            """,
            "nofile=64:64",
        )
        self.assertEqual(result.returncode, 0, result.stderr)
        lines = result.stdout.split()
        self.assertEqual(" ".join(lines[:2]), "(64, 64)")
        if os.geteuid() != 0:  # root keeps CAP_SYS_RESOURCE outside the sandbox
            self.assertEqual(lines[2], "refused")

    def test_a_memory_limit_turns_a_huge_allocation_into_memory_error(self):
        result = run_child(
            """
            try:
                b = bytearray(2 << 30)
                print("allocated")
            except MemoryError:
                print("MemoryError")
            """,
            "as=%d:%d" % (512 << 20, 512 << 20),
        )
        self.assertEqual(result.stdout.strip(), "MemoryError", result.stderr)

    def test_data_limit_with_small_thread_stacks_starts_256_threads_and_stops_a_memory_bomb(self):
        # Under RLIMIT_AS alone (1 GiB) glibc's 64 MiB arena reservations let ~14 threads start.
        data = 1 << 30
        result = run_child(
            """
            import threading
            ev = threading.Event()
            threads = [threading.Thread(target=ev.wait) for _ in range(256)]
            for t in threads:
                t.start()
            ev.set()
            for t in threads:
                t.join()
            print(threading.stack_size())
            try:
                b = bytearray(4 << 30)
                print("allocated")
            except MemoryError:
                print("MemoryError")
            """,
            "data=%d:%d;as=%d:%d;thread_stack=%d:%d" % (data, data, 3 * data, 3 * data, 2 << 20, 2 << 20),
        )
        self.assertEqual(result.stdout.split(), [str(2 << 20), "MemoryError"], result.stderr)

    def test_parse_accepts_the_thread_stack_entry(self):
        self.assertEqual(rlimits.parse("thread_stack=8:8"), [("thread_stack", 8, 8)])


if __name__ == "__main__":
    unittest.main()

import struct
import unittest

from tests.support import WorkerTestCase


class LifecycleTest(WorkerTestCase):
    def test_shutdown_flushes_and_exits_zero(self):
        client = self.start()
        client.run("x = 1", 1)
        self.assertEqual(client.shutdown(), 0)

    def test_shutdown_before_init_exits_zero(self):
        client = self.start(handshake=False)
        client.expect("hello")
        self.assertEqual(client.shutdown(), 0)

    def test_end_of_file_at_a_frame_boundary_exits_zero(self):
        client = self.start()
        client.close_input()
        self.assertEqual(client.proc.wait(10), 0)

    def test_end_of_file_while_a_cell_spins_still_ends_the_worker(self):
        client = self.start()
        client.send({"type": "execute", "id": 1, "code": "print('spin', flush=True)\nwhile True:\n    pass"})
        client.expect("stream")
        client.close_input()
        self.assertEqual(client.proc.wait(10), 0)

    def test_bad_init_options_end_the_worker_with_status_70(self):
        client = self.start(handshake=False)
        client.expect("hello")
        client.send({"type": "init", "session": "s", "capabilities": [], "options": {"maxOutputBytes": "lots"}})
        self.assertEqual(client.proc.wait(10), 70)


class BadFrameTest(WorkerTestCase):
    """A bad frame from the host: one line on the diagnostic fd, exit status 70."""

    def assertDiesWith(self, client, text):
        self.assertEqual(client.proc.wait(10), 70)
        diagnostics = client.proc.stderr.read().decode()
        self.assertIn(text, diagnostics)
        self.assertEqual(len(diagnostics.strip().splitlines()), 1, diagnostics)

    def test_end_of_file_inside_a_frame(self):
        client = self.start()
        client.send_bytes(b"\x00\x00\x00\x10abc")
        client.close_input()
        self.assertDiesWith(client, "truncated frame")

    def test_an_oversized_frame_before_init_fails_on_its_prefix(self):
        client = self.start(handshake=False)
        client.expect("hello")
        client.send_bytes(struct.pack(">I", (4 << 20) + 1))  # no body: the length alone is fatal
        self.assertDiesWith(client, "exceeds maxFrameBytes 4194304")

    def test_the_init_frame_limit_applies_to_later_frames(self):
        client = self.start(options={"maxFrameBytes": 4096})
        client.send_bytes(struct.pack(">I", 5000))
        self.assertDiesWith(client, "exceeds maxFrameBytes 4096")

    def test_a_zero_length_frame(self):
        client = self.start()
        client.send_bytes(b"\x00\x00\x00\x00")
        self.assertDiesWith(client, "zero-length")

    def test_an_undecodable_body(self):
        client = self.start()
        client.send_raw(b"\xc1\xc1 not a message {")
        self.assertDiesWith(client, "undecodable frame")

    def test_a_message_that_is_not_a_map(self):
        client = self.start()
        client.send([1, 2, 3])
        self.assertDiesWith(client, "a message must be a map")

    def test_an_unknown_type(self):
        client = self.start()
        client.send({"type": "teleport"})
        self.assertDiesWith(client, "unknown message type 'teleport'")

    def test_an_execute_before_init(self):
        client = self.start(handshake=False)
        client.expect("hello")
        client.send({"type": "execute", "id": 1, "code": "1"})
        self.assertDiesWith(client, "execute before init")

    def test_a_second_init(self):
        client = self.start()
        client.send({"type": "init", "session": "again", "capabilities": [], "options": {}})
        self.assertDiesWith(client, "a second init")

    def test_an_execute_without_code(self):
        client = self.start()
        client.send({"type": "execute", "id": 1})
        self.assertDiesWith(client, "execute.code must be a string")

    def test_a_bool_id(self):
        client = self.start()
        client.send({"type": "interrupt", "id": True})
        self.assertDiesWith(client, "interrupt.id must be a non-negative integer")


class StdioTest(WorkerTestCase):
    def test_protocol_fds_are_not_inherited_by_child_processes(self):
        client = self.start()
        outcome = client.run(
            "import subprocess\n"
            "subprocess.run(['ls', '/proc/self/fd'], capture_output=True, text=True).stdout.split()",
            1,
        )
        child_fds = sorted(int(x) for x in eval(outcome.plain()))
        # The child has stdin, its capture pipes, stderr and the fd of its own listing: no frame pipes.
        self.assertLessEqual(len(child_fds), 4, child_fds)

    def test_fd_1_and_2_are_pipes_owned_by_the_worker(self):
        client = self.start()
        outcome = client.run("import os, stat\n[stat.S_ISFIFO(os.fstat(fd).st_mode) for fd in (1, 2)]", 1)
        self.assertEqual(outcome.plain(), "[True, True]")

    def test_nothing_printed_reaches_the_real_stdout(self):
        client = self.start()
        client.run("import os, sys\nprint('captured')\nos.write(1, b'raw')\nos.system('echo child')\nsys.__stdout__.write('orig')", 1)
        self.assertEqual(client.shutdown(), 0)
        self.assertEqual(client.proc.stdout.read(), b"")


if __name__ == "__main__":
    unittest.main()

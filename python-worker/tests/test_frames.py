import os
import threading
import unittest

from capsule_worker.frames import JsonCodec
from capsule_worker.frames import FrameReader, FrameTooLarge, FrameWriter, ProtocolError


class FramesTest(unittest.TestCase):
    def setUp(self):
        self.r, self.w = os.pipe()
        self.addCleanup(self._close)

    def _close(self):
        for fd in (self.r, self.w):
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass

    def close_writer(self):
        os.close(self.w)
        self.w = None

    def test_end_of_file_at_a_frame_boundary_is_a_clean_close(self):
        os.write(self.w, b"\x00\x00\x00\x02hi")
        self.close_writer()
        reader = FrameReader(self.r)
        self.assertEqual(reader.read_frame(), b"hi")
        self.assertIsNone(reader.read_frame())

    def test_end_of_file_inside_a_prefix_is_a_truncated_frame(self):
        os.write(self.w, b"\x00\x00")
        self.close_writer()
        with self.assertRaisesRegex(ProtocolError, "truncated frame"):
            FrameReader(self.r).read_frame()

    def test_end_of_file_inside_a_body_is_a_truncated_frame(self):
        os.write(self.w, b"\x00\x00\x00\x05abc")
        self.close_writer()
        with self.assertRaisesRegex(ProtocolError, "truncated frame"):
            FrameReader(self.r).read_frame()

    def test_an_oversized_length_fails_on_the_prefix_alone(self):
        os.write(self.w, b"\x7f\xff\xff\xff")  # no body follows: the reader must not wait for it
        with self.assertRaisesRegex(ProtocolError, "exceeds maxFrameBytes"):
            FrameReader(self.r, max_bytes=1024).read_frame()

    def test_a_zero_length_is_a_protocol_error(self):
        os.write(self.w, b"\x00\x00\x00\x00")
        with self.assertRaisesRegex(ProtocolError, "zero-length"):
            FrameReader(self.r).read_frame()

    def test_writer_refuses_a_message_above_the_limit_and_writes_nothing(self):
        writer = FrameWriter(self.w, JsonCodec(), max_bytes=1024)
        with self.assertRaises(FrameTooLarge):
            writer.send({"text": "x" * 2000})
        writer.send({"ok": 1})
        self.close_writer()
        reader = FrameReader(self.r)
        self.assertEqual(JsonCodec().decode(reader.read_frame()), {"ok": 1})
        self.assertIsNone(reader.read_frame())

    def test_large_frames_survive_partial_pipe_writes(self):
        codec = JsonCodec()
        writer = FrameWriter(self.w, codec, max_bytes=8 << 20)
        messages = [{"i": i, "text": chr(0x41 + i) * (300_000 + i)} for i in range(4)]

        def write_all():
            for m in messages:
                writer.send(m)
            self.close_writer()

        thread = threading.Thread(target=write_all)
        thread.start()
        reader = FrameReader(self.r, max_bytes=8 << 20)
        got = []
        while True:
            body = reader.read_frame()
            if body is None:
                break
            got.append(codec.decode(body))
        thread.join()
        self.assertEqual(got, messages)


if __name__ == "__main__":
    unittest.main()

import json
import os
import unittest

from capsule_worker.frames import JsonCodec, choose_codec, codec_names, tag, untag
from tests.support import MSGPACK

GOLDEN = os.path.join(
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "docs", "golden-frames.json"
)


class JsonCodecTest(unittest.TestCase):
    def setUp(self):
        self.codec = JsonCodec()

    def test_round_trips_bytes_as_b_tags(self):
        message = {"type": "call", "args": {"data": b"\x00\x01raw", "nested": [b"", {"x": b"y"}]}}
        body = self.codec.encode(message)
        self.assertIn(b'{"$b":"AAFyYXc="}', body)
        self.assertEqual(self.codec.decode(body), message)

    def test_escapes_maps_that_would_read_as_tags(self):
        message = {"value": {"$b": "not bytes"}, "other": {"$esc": {"$b": b"z"}}}
        body = self.codec.encode(message)
        self.assertIn(b'{"$esc":{"$b":"not bytes"}}', body)
        self.assertEqual(self.codec.decode(body), message)

    def test_unwraps_esc_one_level_and_still_decodes_values(self):
        body = b'{"v":{"$esc":{"$b":{"$b":"eHk="}}}}'
        self.assertEqual(self.codec.decode(body), {"v": {"$b": b"xy"}})

    def test_does_not_copy_plain_messages(self):
        message = {"type": "stream", "id": 1, "name": "stdout", "text": "hi"}
        self.assertIs(tag(message), message)

    def test_refuses_nan(self):
        with self.assertRaises(ValueError):
            self.codec.encode({"x": float("nan")})
        with self.assertRaises(ValueError):
            self.codec.decode(b'{"x": NaN}')

    def test_rejects_malformed_tags(self):
        for body in (b'{"$b": 5}', b'{"$b": "***"}', b'{"$esc": 1}', b"[1,", b"\xff"):
            with self.assertRaises(ValueError, msg=body):
                self.codec.decode(body)

    def test_writes_utf8_not_ascii_escapes(self):
        self.assertEqual(self.codec.encode({"t": "hé"}), '{"t":"hé"}'.encode())


class ChooseCodecTest(unittest.TestCase):
    def test_parses_the_offer_in_order(self):
        self.assertEqual(codec_names("msgpack, json"), ["msgpack", "json"])
        self.assertEqual(codec_names(""), ["msgpack", "json"])

    def test_falls_back_to_json_when_msgpack_is_unavailable_or_not_offered(self):
        self.assertEqual(choose_codec(["json"]).name, "json")
        self.assertEqual(choose_codec(["nope", "msgpack", "json"]).name, "msgpack" if MSGPACK else "json")


def _golden():
    with open(GOLDEN, encoding="utf-8") as f:
        return json.load(f)


@unittest.skipUnless(os.path.exists(GOLDEN), "docs/golden-frames.json is missing")
class GoldenFramesTest(unittest.TestCase):
    """The frames both test suites share (docs/golden-frames.json)."""

    def codec_for(self, name):
        if name == "msgpack":
            if not MSGPACK:
                self.skipTest("msgpack is not importable on this interpreter")
            from capsule_worker.frames import MsgpackCodec

            return MsgpackCodec()
        return JsonCodec()

    def test_the_file_covers_both_codecs(self):
        entries = _golden()
        self.assertEqual({e["codec"] for e in entries}, {"msgpack", "json"})
        self.assertGreater(len(entries), 10)

    def test_every_golden_frame_decodes_to_its_message(self):
        from capsule_worker.frames import FrameReader

        for entry in _golden():
            with self.subTest(entry["name"], codec=entry["codec"]):
                codec = self.codec_for(entry["codec"]) if entry["codec"] == "json" or MSGPACK else None
                if codec is None:
                    continue
                frame = bytes.fromhex(entry["hex"])
                r, w = os.pipe()
                try:
                    os.write(w, frame)
                    os.close(w)
                    reader = FrameReader(r)
                    body = reader.read_frame()
                    self.assertIsNone(reader.read_frame())
                finally:
                    os.close(r)
                expected = untag(json.loads(json.dumps(entry["message"])))
                self.assertEqual(codec.decode(body), expected)

    def test_msgpack_encoding_matches_the_golden_bytes(self):
        if not MSGPACK:
            self.skipTest("msgpack is not importable on this interpreter")
        from capsule_worker.frames import MsgpackCodec
        from capsule_worker.frames import FrameWriter

        codec = MsgpackCodec()
        for entry in _golden():
            if entry["codec"] != "msgpack":
                continue
            with self.subTest(entry["name"]):
                r, w = os.pipe()
                try:
                    FrameWriter(w, codec).send(untag(json.loads(json.dumps(entry["message"]))))
                    os.close(w)
                    w = None
                    data = b""
                    while True:
                        chunk = os.read(r, 65536)
                        if not chunk:
                            break
                        data += chunk
                finally:
                    os.close(r)
                    if w is not None:
                        os.close(w)
                self.assertEqual(data.hex(), entry["hex"])

    def test_json_encoding_round_trips_every_golden_message(self):
        codec = JsonCodec()
        for entry in _golden():
            if entry["codec"] != "json":
                continue
            with self.subTest(entry["name"]):
                message = untag(json.loads(json.dumps(entry["message"])))
                self.assertEqual(codec.decode(codec.encode(message)), message)


if __name__ == "__main__":
    unittest.main()

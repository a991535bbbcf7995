import pickle
import subprocess
import unittest

import capsule
from capsule._errors import error_for


class PublicSurfaceTest(unittest.TestCase):
    def test_the_public_names_are_pinned(self):
        self.assertEqual(
            sorted(capsule.__all__),
            ["CapabilityDenied", "CapabilityError", "CapabilityTimeout", "CompletedProcess",
             "HTTPStatusError", "Headers", "InvalidArguments", "Response", "UsageError", "display",
             "last_restore", "set_figure_format"],
        )
        for name in capsule.__all__:
            self.assertTrue(hasattr(capsule, name), name)
        self.assertEqual(sorted(set(dir(capsule)) & set(capsule.__all__)), sorted(capsule.__all__))
        with self.assertRaises(AttributeError):
            capsule.nothing_here  # noqa: B018

    def test_last_restore_is_none_in_a_session_that_was_not_restored(self):
        self.assertIsNone(capsule.last_restore())

    def test_display_outside_a_worker_says_so(self):
        with self.assertRaisesRegex(RuntimeError, "only available inside a Capsule worker"):
            capsule.display(1)


class ErrorsTest(unittest.TestCase):
    def test_codes_map_to_exception_classes_that_are_also_builtin_errors(self):
        self.assertIsInstance(error_for("DENIED", "m"), PermissionError)
        self.assertIsInstance(error_for("TIMEOUT", "m"), TimeoutError)
        self.assertIsInstance(error_for("INVALID_ARGUMENT", "m"), ValueError)
        other = error_for("NOT_FOUND", "no such file")
        self.assertIs(type(other), capsule.CapabilityError)
        self.assertEqual((other.code, other.message, str(other)), ("NOT_FOUND", "no such file", "no such file"))

    def test_errors_pickle(self):
        err = pickle.loads(pickle.dumps(capsule.CapabilityDenied("DENIED", "nope")))
        self.assertEqual((type(err), err.code, err.message), (capsule.CapabilityDenied, "DENIED", "nope"))


class ResponseTest(unittest.TestCase):
    def make(self, status=200, headers=(), body=b"", reason="OK"):
        return capsule.Response.from_wire(
            {"url": "https://x.test/a", "status": status, "reason": reason, "headers": [list(h) for h in headers], "body": body}
        )

    def test_headers_are_case_insensitive_and_join_repeats(self):
        r = self.make(headers=[("X-A", "1"), ("x-a", "2"), ("Content-Type", "text/plain")])
        self.assertEqual(r.headers["X-a"], "1, 2")
        self.assertEqual(r.headers.get_list("X-A"), ["1", "2"])
        self.assertIn("CONTENT-TYPE", r.headers)
        self.assertEqual(sorted(r.headers), ["content-type", "x-a"])
        self.assertEqual(len(r.headers), 2)
        self.assertIsNone(r.headers.get("missing"))

    def test_text_defaults_to_utf8_and_replaces_bad_bytes(self):
        r = self.make(body="é".encode() + b"\xff")
        self.assertEqual(r.encoding, "utf-8")
        self.assertEqual(r.text, "é\ufffd")
        self.assertEqual(self.make(body=b'{"a": 1}').json(), {"a": 1})

    def test_an_unknown_charset_falls_back_to_utf8(self):
        r = self.make(headers=[("Content-Type", "text/plain; charset=nonsense")], body=b"ok")
        self.assertEqual((r.encoding, r.text), ("utf-8", "ok"))

    def test_server_errors_raise_with_the_response(self):
        r = self.make(status=503, reason="Service Unavailable")
        self.assertFalse(r.ok)
        with self.assertRaises(capsule.HTTPStatusError) as caught:
            r.raise_for_status()
        self.assertIs(caught.exception.response, r)
        self.assertIn("Server error '503 Service Unavailable'", str(caught.exception))
        self.assertTrue(self.make(status=302).ok)

    def test_malformed_wire_values_are_capability_errors(self):
        for value in (None, {"url": "u"}, {"url": "u", "status": "200", "headers": [], "body": b""}):
            with self.assertRaises(capsule.CapabilityError):
                capsule.Response.from_wire(value)


class CompletedProcessTest(unittest.TestCase):
    def test_check_returncode_raises_called_process_error(self):
        p = capsule.CompletedProcess.from_wire({"args": ["ls"], "returncode": 1, "stdout": "o", "stderr": "e", "truncated": True})
        with self.assertRaises(subprocess.CalledProcessError) as caught:
            p.check_returncode()
        self.assertEqual((caught.exception.returncode, caught.exception.cmd, caught.exception.output), (1, ["ls"], "o"))
        self.assertEqual(repr(p), "CompletedProcess(args=['ls'], returncode=1, stdout='o', stderr='e', truncated=True)")
        capsule.CompletedProcess(["true"], 0).check_returncode()


if __name__ == "__main__":
    unittest.main()

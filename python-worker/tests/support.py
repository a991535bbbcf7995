"""Shared test helpers: start a worker, run a cell, assert on outcomes."""

import os
import sys
import tempfile
import unittest

from tests.client import WorkerClient, has_msgpack

#: Whether the interpreter running the tests (and so the worker) can use msgpack.
MSGPACK = has_msgpack(sys.executable)
#: The codec a worker picks by default on this interpreter.
DEFAULT_CODEC = "msgpack" if MSGPACK else "json"


class WorkerTestCase(unittest.TestCase):
    """A TestCase that starts real workers and always kills them afterwards."""

    CODECS = "msgpack,json"

    def start(self, capabilities=(), options=None, codecs=None, handshake=True, **kwargs):
        """Start a worker (and by default do hello/init); returns the client."""
        client = WorkerClient(codecs=codecs or self.CODECS, **kwargs)
        self.addCleanup(client.close)
        if handshake:
            client.handshake(capabilities, options)
        return client

    def flag_path(self):
        """A path in a fresh directory, removed after the test, that nothing has created yet: a cell
        spins until it exists, so the test decides when the cell goes on."""
        directory = tempfile.TemporaryDirectory()
        self.addCleanup(directory.cleanup)
        return os.path.join(directory.name, "go")

    def assertResult(self, outcome, plain=None):
        """The execution ended with a result (and, when given, that text/plain value)."""
        self.assertIsNotNone(outcome.final)
        self.assertEqual(outcome.final["type"], "result", outcome.final)
        if plain is not None:
            self.assertEqual(outcome.plain(), plain)

    def assertError(self, outcome, ename):
        """The execution ended with an error named ``ename``; returns the error message."""
        self.assertIsNotNone(outcome.final)
        self.assertEqual(outcome.final["type"], "error", outcome.final)
        self.assertEqual(outcome.final["ename"], ename, "".join(outcome.final["traceback"]))
        return outcome.final


class SharedWorkerTestCase(WorkerTestCase):
    """One worker per class, for tests that do not care about each other's state."""

    CAPABILITIES = ()
    OPTIONS = None

    @classmethod
    def setUpClass(cls):
        cls.worker = WorkerClient(codecs=cls.CODECS)
        cls.worker.handshake(cls.CAPABILITIES, cls.OPTIONS)
        cls.next_id = 0

    @classmethod
    def tearDownClass(cls):
        cls.worker.close()

    def run_cell(self, code, **kwargs):
        """Run ``code`` on the shared worker."""
        type(self).next_id += 1
        return self.worker.run(code, self.next_id, **kwargs)

import gc
import unittest
import weakref

from capsule_worker import checkpoint, snapshots


class _Kept:
    """A value with a weak reference, so a test can see when it dies."""


class _Sender:
    def __init__(self, watched):
        self.sent = []
        self._watched = watched

    def send(self, message):
        # What the worker has done by the time an answer leaves.
        self.sent.append((message, gc.isenabled(), self._watched() is not None))


class _Executor:
    def __init__(self, namespace):
        self.namespace = namespace
        self.definition_sources = []


class _Worker:
    def __init__(self, namespace, watched):
        self.executor = _Executor(namespace)
        self.capability_functions = {}
        self.sender = _Sender(watched)


def _payload(**values):
    namespace = {"__name__": "__main__", **values}
    parts, _ = checkpoint.take(namespace, {"__name__": "__main__"}, {}, [])
    return b"".join(parts)


class RestoreAnswerTest(unittest.TestCase):
    """The answer leaves before the replaced values die and before the collector runs again."""

    def tearDown(self):
        gc.enable()

    def _worker(self):
        old = _Kept()
        watched = weakref.ref(old)
        worker = _Worker({"__name__": "__main__", "rows": old}, watched)
        del old
        return worker, watched

    def test_replaced_values_die_after_restore_done_is_sent(self):
        worker, watched = self._worker()
        snapshots.restore_checkpoint(worker, 7, _payload(rows=[{"id": i} for i in range(50)]))
        [(message, collector_on, old_alive)] = worker.sender.sent
        self.assertEqual(message["type"], "restore_done")
        self.assertEqual(message["report"]["restored"], ["rows"])
        self.assertFalse(collector_on)
        self.assertTrue(old_alive)
        self.assertIsNone(watched())
        self.assertTrue(gc.isenabled())
        self.assertEqual(len(worker.executor.namespace["rows"]), 50)

    def test_a_refused_payload_answers_restore_failed_and_keeps_the_namespace(self):
        worker, watched = self._worker()
        snapshots.restore_checkpoint(worker, 8, b"\x00\x00\x00\x02no")
        [(message, _, _)] = worker.sender.sent
        self.assertEqual(message["type"], "restore_failed")
        self.assertIsNotNone(watched())
        self.assertIs(worker.executor.namespace["rows"], watched())
        self.assertTrue(gc.isenabled())

    def test_a_disabled_collector_stays_disabled(self):
        gc.disable()
        worker, _ = self._worker()
        snapshots.restore_checkpoint(worker, 9, _payload(x=1))
        self.assertFalse(gc.isenabled())


if __name__ == "__main__":
    unittest.main()

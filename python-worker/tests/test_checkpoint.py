import gc
import io
import pickle
import random
import socket
import threading
import unittest

from capsule_worker import cell_definitions, checkpoint


def _session(cells, hidden_extra=None):
    """A namespace built by running ``cells`` as the worker would, with one injected capability."""

    def read_file(path):
        return "contents of %s" % path

    namespace = {"__name__": "__main__", "read_file": read_file}
    hidden = dict(namespace)
    if hidden_extra:
        hidden.update(hidden_extra)
        namespace.update(hidden_extra)
    for source in cells:
        exec(compile(source, "<cell>", "exec"), namespace)
    return namespace, hidden, {id(read_file): "fs.read"}


def _fresh(granted=True):
    def read_file(path):
        return "restored %s" % path

    namespace = {"__name__": "__main__", "read_file": read_file} if granted else {"__name__": "__main__"}
    return namespace, ({"fs.read": read_file} if granted else {})


def _take(*args):
    parts, summary = checkpoint.take(*args)
    return b"".join(parts), summary


def _framed(state):
    raw = pickle.dumps(state)
    return len(raw).to_bytes(4, "big") + raw


def _round_trip(cells, granted=True):
    namespace, hidden, caps = _session(cells)
    payload, summary = _take(namespace, hidden, caps, [c for c in cells if checkpoint.may_define(c)])
    fresh, stubs = _fresh(granted)
    report = checkpoint.restore(fresh, payload, stubs)
    return fresh, report, summary


class RoundTripTest(unittest.TestCase):
    def test_data_types_come_back_equal(self):
        ns, report, _ = _round_trip(
            ["a = 1\nb = 'two'\nc = [1, 2.5, None, b'x']\nd = {'k': (1, 2), 3: {4}}\ne = frozenset([1])\nf = 10**40"]
        )
        self.assertEqual(ns["c"], [1, 2.5, None, b"x"])
        self.assertEqual(ns["d"], {"k": (1, 2), 3: {4}})
        self.assertEqual(ns["f"], 10**40)
        self.assertEqual(report["restored"], ["a", "b", "c", "d", "e", "f"])
        self.assertEqual(report["lost"], [])

    def test_identity_between_names_is_kept(self):
        ns, _, _ = _round_trip(["a = [1]\nb = a\nc = {'self': a}"])
        self.assertIs(ns["a"], ns["b"])
        self.assertIs(ns["c"]["self"], ns["a"])

    def test_functions_and_classes_are_redefined_and_instances_restored(self):
        ns, report, _ = _round_trip(
            [
                "import json\nclass Point:\n    def __init__(self, x):\n        self.x = x\n    def twice(self):\n        return self.x * 2\n",
                "def helper(v):\n    return json.dumps(v)\np = Point(21)\nitems = [Point(1), helper]",
            ]
        )
        self.assertEqual(ns["p"].twice(), 42)
        self.assertIs(type(ns["p"]), ns["Point"])
        self.assertIs(ns["items"][1], ns["helper"])
        self.assertEqual(ns["helper"]([1]), "[1]")
        self.assertEqual(report["redefined"], ["Point", "helper", "json"])
        self.assertEqual(report["restored"], ["items", "p"])

    def test_closures_over_data_and_lambdas_travel_by_value(self):
        ns, report, _ = _round_trip(
            [
                "def make_adder(n):\n    def add(x):\n        return x + n + offset\n    return add\n",
                "offset = 100\nadd5 = make_adder(5)\nsquare = lambda v: v * v\n",
            ]
        )
        self.assertEqual(ns["add5"](1), 106)
        self.assertEqual(ns["square"](7), 49)
        ns["offset"] = 0
        self.assertEqual(ns["add5"](1), 6, "the function's globals are the restored namespace")
        self.assertIn("add5", report["restored"])

    def test_modules_bound_to_names_are_reimported(self):
        ns, report, _ = _round_trip(["import importlib\nm = importlib.import_module('json')\nimport os.path as osp"])
        import json
        import os.path

        self.assertIs(ns["m"], json)
        self.assertIs(ns["osp"], os.path)
        self.assertIn("m", report["restored"])
        self.assertIn("osp", report["redefined"])

    def test_capability_stubs_reattach_to_the_restoring_sessions_function(self):
        ns, report, _ = _round_trip(["reader = read_file\ntools = {'read': read_file}"])
        self.assertEqual(ns["reader"]("x"), "restored x")
        self.assertIs(ns["tools"]["read"], ns["read_file"])
        self.assertEqual(report["missingCapabilities"], [])

    def test_a_capability_the_restoring_policy_does_not_grant_is_absent_and_listed(self):
        ns, report, _ = _round_trip(["reader = read_file\ntools = [read_file]"], granted=False)
        self.assertNotIn("read_file", ns)
        self.assertNotIn("reader", ns)
        self.assertEqual(report["missingCapabilities"], ["fs.read"])
        self.assertEqual(report["lost"], [{"name": "reader", "reason": "capability fs.read is not granted"}])
        with self.assertRaisesRegex(NameError, "fs.read is not granted"):
            ns["tools"][0]("x")

    def test_random_state_continues(self):
        namespace, hidden, caps = _session(["import random\nrandom.seed(7)\nrandom.random()"])
        payload, _ = _take(namespace, hidden, caps, ["import random"])
        expected = random.random()
        random.seed(1234)
        checkpoint.restore(_fresh()[0], payload, {})
        self.assertEqual(random.random(), expected)

    def test_worker_names_and_output_history_are_not_saved(self):
        namespace, hidden, caps = _session(["x = 1"], {"display": print})
        namespace.update({"_": 1, "__": 2, "_3": 3, "__builtins__": {}})
        _, summary = _take(namespace, hidden, caps, [])
        self.assertEqual(summary["data"], ["x"])

    def test_definitions_of_a_cell_with_magics_are_found(self):
        self.assertTrue(checkpoint.may_define("%time x = 1\ndef f():\n    return 1"))
        defs, names = cell_definitions.definitions(["%time x = 1\ndef f():\n    return 1\n!ls"])
        self.assertEqual(names, {"f"})
        self.assertEqual(len(defs), 1)


class _RecordingSession:
    """A namespace plus the record of definition sources the worker's executor keeps."""

    def __init__(self):
        self.namespace, self.stubs = _fresh()
        self.hidden = dict(self.namespace)
        self.caps = {id(self.namespace["read_file"]): "fs.read"}
        self.sources = []

    def run(self, source):
        if checkpoint.may_define(source):
            self.sources.append(source)
        exec(compile(source, "<cell>", "exec"), self.namespace)

    def checkpoint(self):
        return _take(self.namespace, self.hidden, self.caps, self.sources)

    def restore(self, payload):
        return checkpoint.restore(self.namespace, payload, self.stubs, self.sources)


def _recorded_definitions(payload):
    size = int.from_bytes(payload[:4], "big")
    return pickle.loads(payload[4 : 4 + size])["definitions"]


class RestoredSessionTest(unittest.TestCase):
    CELLS = [
        "import math\ndef total(xs):\n    return sum(xs)\n",
        "class Point:\n    def __init__(self, x):\n        self.x = x\n    def norm(self):\n        return math.fabs(self.x)\n",
        "def make_adder(n):\n    def add(x):\n        return x + n\n    return add\n",
        "rows = [1, 2, 3]\np = Point(-4)\nadd5 = make_adder(5)\nfns = [total, Point]\n",
    ]

    def _first(self):
        first = _RecordingSession()
        for cell in self.CELLS:
            first.run(cell)
        payload, _ = first.checkpoint()
        return payload

    def test_a_checkpoint_of_a_restored_session_keeps_its_definitions_and_a_redefinition_wins(self):
        second = _RecordingSession()
        self.assertEqual(second.restore(self._first())["lost"], [])
        second.run("def total(xs):\n    return 10 * sum(xs)\n")
        second.run("more = total(rows)\n")
        payload, summary = second.checkpoint()
        self.assertEqual(summary["redefined"], ["Point", "make_adder", "math", "total"])
        third = _RecordingSession()
        report = third.restore(payload)
        self.assertEqual(report["lost"], [])
        self.assertEqual(report["redefined"], ["Point", "make_adder", "math", "total"])
        self.assertEqual(report["restored"], ["add5", "fns", "more", "p", "rows"])
        ns = third.namespace
        self.assertEqual(ns["total"]([1, 2]), 30, "the redefinition made after the first restore wins")
        self.assertEqual(ns["fns"][0]([1, 2]), 3, "a name bound to the first total keeps it, by value")
        self.assertIs(ns["fns"][1], ns["Point"])
        self.assertIs(type(ns["p"]), ns["Point"])
        self.assertEqual(ns["p"].norm(), 4.0)
        self.assertEqual(ns["add5"](1), 6)
        self.assertEqual(ns["more"], 60)

    def test_repeated_cycles_do_not_grow_the_recorded_definitions(self):
        payload = self._first()
        expected = _recorded_definitions(payload)
        self.assertEqual(len(expected), 4)
        for _ in range(3):
            session = _RecordingSession()
            session.restore(payload)
            session.restore(payload)  # restored twice into one session: still one copy of each
            payload, _ = session.checkpoint()
            self.assertEqual(_recorded_definitions(payload), expected)
        session = _RecordingSession()
        session.restore(payload)
        session.run("def total(xs):\n    return -sum(xs)\n")
        definitions = _recorded_definitions(session.checkpoint()[0])
        self.assertEqual(len(definitions), 4, "the superseded total is dropped")
        self.assertEqual(definitions[-1], "def total(xs):\n    return -sum(xs)")

    def test_a_superseded_definition_read_while_defining_is_kept(self):
        cells = [
            "def deco(f):\n    return f\n",
            "@deco\ndef g():\n    return 1\n",
            "def deco(f):\n    return None\n",
            "def h():\n    return 1\n",
            "def h(_previous=h):\n    return _previous() + 1\n",
            "import os.path\n",
            "import os\n",
        ]
        defs, _ = cell_definitions.definitions(cells)
        self.assertEqual(len(defs), 7, "each earlier binding is read by a later definition, or an import differs")
        defs, _ = cell_definitions.definitions(cells + cells)
        self.assertEqual(len(defs), 7 + 2, "a repeated definition stands for its first copy; an import only for its own text")
        self.assertEqual(defs[2:], [cell_definitions.definitions([c])[0][0] for c in cells])


class LossReportTest(unittest.TestCase):
    def _lost(self, setup):
        namespace, hidden, caps = _session(["keep = 1"])
        setup(namespace)
        payload, summary = _take(namespace, hidden, caps, [])
        report = checkpoint.restore(_fresh()[0], payload, {"fs.read": None})
        self.assertEqual(report["restored"], ["keep"])
        self.assertEqual(summary["lost"], report["lost"] or summary["lost"])
        return {item["name"]: item["reason"] for item in summary["lost"]}

    def test_each_unpicklable_kind_is_named(self):
        sock = socket.socket()
        self.addCleanup(sock.close)
        handle = open(__file__)
        self.addCleanup(handle.close)
        thread = threading.Thread(target=lambda: None)

        def gen():
            yield 1

        async def coro():
            return 1

        pending = coro()
        self.addCleanup(pending.close)

        def setup(ns):
            ns.update(
                handle=handle,
                sock=sock,
                thread=thread,
                generator=gen(),
                task=pending,
                lock=threading.Lock(),
                nested=[1, {"file": handle}],
            )

        lost = self._lost(setup)
        self.assertEqual(lost["handle"], "unpicklable: open file")
        self.assertEqual(lost["sock"], "unpicklable: socket")
        self.assertEqual(lost["thread"], "unpicklable: thread")
        self.assertEqual(lost["generator"], "unpicklable: generator")
        self.assertEqual(lost["task"], "unpicklable: running task")
        self.assertEqual(lost["nested"], "unpicklable: open file inside")
        self.assertTrue(lost["lock"].startswith("unpicklable: C object without a reducer"), lost["lock"])

    def test_a_failing_definition_loses_only_its_names(self):
        cells = ["import no_such_module_capsule\n", "def fine():\n    return 2\n"]
        namespace = {"__name__": "__main__", "fine": None}
        exec(cells[1], namespace)
        payload, _ = _take(namespace, {"__name__": "__main__"}, {}, cells)
        fresh = {"__name__": "__main__"}
        report = checkpoint.restore(fresh, payload, {})
        self.assertEqual(fresh["fine"](), 2)
        self.assertEqual(report["lost"][0]["name"], "no_such_module_capsule")
        self.assertIn("ModuleNotFoundError", report["lost"][0]["reason"])


class RefusalTest(unittest.TestCase):
    def test_garbage_and_other_formats_are_refused(self):
        with self.assertRaisesRegex(checkpoint.Unrestorable, "could not be read"):
            checkpoint.restore({}, b"not a pickle", {})
        with self.assertRaisesRegex(checkpoint.Unrestorable, "format"):
            checkpoint.restore({}, _framed({"format": 99}), {})
        with self.assertRaisesRegex(checkpoint.Unrestorable, "taken with Python 2.7"):
            checkpoint.restore({}, _framed({"format": checkpoint.FORMAT, "python": "2.7.18/x"}), {})

    def test_truncated_payload_is_refused(self):
        namespace, hidden, caps = _session(["x = list(range(1000))"])
        payload, _ = _take(namespace, hidden, caps, [])
        with self.assertRaises(checkpoint.Unrestorable):
            checkpoint.restore({}, payload[: len(payload) // 2], {})


class CollectorTest(unittest.TestCase):
    """Pickling pauses the cyclic collector; it must come back as it was, whatever happens."""

    def tearDown(self):
        gc.enable()

    def test_the_collector_is_enabled_again_after_take_and_restore(self):
        namespace, hidden, caps = _session(["rows = [{'id': i} for i in range(100)]"])
        payload, _ = _take(namespace, hidden, caps, [])
        fresh, stubs = _fresh()
        checkpoint.restore(fresh, payload, stubs)
        self.assertTrue(gc.isenabled())

    def test_the_collector_is_enabled_again_when_unpickling_raises(self):
        namespace, hidden, caps = _session([])
        namespace["boom"] = _Boom()
        payload, summary = _take(namespace, hidden, caps, [])
        self.assertEqual(summary["data"], ["boom"])
        fresh, stubs = _fresh()
        report = checkpoint.restore(fresh, payload, stubs)
        self.assertEqual([item["name"] for item in report["lost"]], ["boom"])
        self.assertIn("unpickling failed", report["lost"][0]["reason"])
        self.assertTrue(gc.isenabled())

    def test_a_disabled_collector_stays_disabled(self):
        gc.disable()
        namespace, hidden, caps = _session(["x = [1, 2]"])
        payload, _ = _take(namespace, hidden, caps, [])
        checkpoint.restore(_fresh()[0], payload, {})
        self.assertFalse(gc.isenabled())


class _Boom:
    def __reduce__(self):
        return (_explode, ())


def _explode():
    raise RuntimeError("hostile reduce")


class SizeTest(unittest.TestCase):
    def test_arrays_travel_out_of_band_and_come_back_writable(self):
        try:
            import numpy
        except ImportError:
            self.skipTest("numpy is not installed for this interpreter")
        namespace, hidden, caps = _session(["import numpy as np\narr = np.arange(1_000_000, dtype='float64')"])
        parts, _ = checkpoint.take(namespace, hidden, caps, ["import numpy as np"])
        self.assertTrue(any(len(memoryview(p)) == 8_000_000 for p in parts), "the array's memory is its own part")
        fresh, _ = _fresh()
        checkpoint.restore(fresh, bytearray(b"".join(parts)), {})
        numpy.testing.assert_array_equal(fresh["arr"], namespace["arr"])
        fresh["arr"][0] = 5.0
        self.assertIs(fresh["np"], numpy)


    def test_ten_thousand_small_objects(self):
        namespace, hidden, caps = _session(["rows = [{'id': i, 'name': 'n%d' % i} for i in range(10000)]"])
        payload, _ = _take(namespace, hidden, caps, [])
        fresh, _ = _fresh()
        checkpoint.restore(fresh, payload, {})
        self.assertEqual(fresh["rows"][9999], {"id": 9999, "name": "n9999"})
        plain = io.BytesIO()
        pickle.dump(namespace["rows"], plain, protocol=5)
        self.assertLess(len(payload), 2 * len(plain.getvalue()))


if __name__ == "__main__":
    unittest.main()


class RestoreAssemblyTest(unittest.TestCase):
    def test_chunks_are_gathered_byte_for_byte_and_nothing_past_the_total(self):
        from capsule_worker.frames import ProtocolError
        from capsule_worker.snapshots import RestoreAssembly

        payload = bytes(random.Random(3).getrandbits(8) for _ in range(10_000))
        assembly = RestoreAssembly({"id": 4, "bytes": len(payload)})
        done = [assembly.add({"id": 4, "data": payload[at : at + 3000]}) for at in range(0, len(payload), 3000)]
        self.assertEqual(done, [False, False, False, True])
        self.assertEqual(bytes(assembly.buffer), payload)
        assembly.buffer.append(0)  # the gathered buffer is the restore's own, no longer held by a view
        over = RestoreAssembly({"id": 5, "bytes": 4})
        with self.assertRaises(ProtocolError):
            over.add({"id": 5, "data": b"12345"})

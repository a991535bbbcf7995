"""Checkpoint and restore of a session's namespace, between cells.

CPython cannot snapshot a running frame, so a checkpoint holds what can be rebuilt: the sources of
the definitions (imports, ``def``, ``class``) the cells made, one pickle of the user's data, the
``random`` module's state and the hash seed. The pickle stores injected capabilities, modules and
top-level definitions as references, so restoring re-attaches what the restoring session grants
and re-imports modules instead of carrying them. Functions that are not top-level definitions
(lambdas, closures) travel by value: their code, defaults and the data they close over.

The host signs the bytes and never unpickles them; a restore runs only inside a (sandboxed) worker,
under the restoring session's policy.
"""

import contextlib
import gc
import io
import marshal
import pickle
import re
import sys
import types

from capsule_worker.cell_definitions import bound_names, definitions, is_definition_value
from capsule_worker.loss_reasons import unpicklable_reason

#: Version of the payload layout; a restore refuses any other.
FORMAT = 1

_DEFINITION_LINE = re.compile(r"^[ \t]*(?:import|from|def|class|async[ \t]+def|@)\b", re.M)
_HISTORY_NAME = re.compile(r"^_(?:_{0,2}|\d+)$")


def may_define(source):
    """Cheap test, run on every cell: could this cell bind an import, a function or a class?"""
    return _DEFINITION_LINE.search(source) is not None


class Unrestorable(Exception):
    """A checkpoint this worker cannot load (format, interpreter); the message says why."""


class MissingCapability:
    """Stands where a capability the restoring session does not grant was referenced.

    Calling it raises NameError, as using an absent capability's name does.
    """

    __slots__ = ("capability_id",)

    def __init__(self, capability_id):
        self.capability_id = capability_id

    def __call__(self, *args, **kwargs):
        raise NameError("capability %s is not granted in this session" % self.capability_id)

    def __repr__(self):
        return "<missing capability %s>" % self.capability_id


class MissingDefinition(MissingCapability):
    """Stands where a definition that failed to re-run was referenced."""

    __slots__ = ()

    def __call__(self, *args, **kwargs):
        raise NameError("%s was not redefined when the session was restored" % self.capability_id)

    def __repr__(self):
        return "<missing definition %s>" % self.capability_id


def take(namespace, hidden, capability_ids, cell_sources):
    """Checkpoint ``namespace``; the payload is a list of byte strings to send in order.

    ``hidden``: names the worker put there itself (never saved). ``capability_ids``: ``id(stub)`` →
    capability id for every injected capability function. ``cell_sources``: the sources of the cells
    that may define code, in the order they ran. Returns ``(payload, summary)``: the bytes to sign
    and a summary for the host (names saved by kind, names lost with their reason).
    """
    sources, defined_names = definitions(cell_sources)
    data, redefined = {}, []
    for name, value in namespace.items():
        if name in hidden and hidden[name] is value:
            continue
        if name.startswith("__") or _HISTORY_NAME.match(name):
            continue
        if name in defined_names and is_definition_value(value, namespace):
            redefined.append(name)
            continue
        data[name] = value
    lost = []
    blob = None
    while blob is None:
        try:
            blob, buffers = _dumps(data, namespace, capability_ids)
        except Exception:
            failures = _find_failures(data, namespace, capability_ids)
            if not failures:
                raise
            for name, reason in failures:
                lost.append({"name": name, "reason": reason})
                del data[name]
    random_state = sys.modules["random"].getstate() if "random" in sys.modules else None
    state = pickle.dumps(
        {
            "format": FORMAT,
            "python": _python_tag(),
            "definitions": sources,
            "names": sorted(data),
            "lost": lost,
            "random": random_state,
            "data_bytes": blob.nbytes,
            "buffers": [b.nbytes for b in buffers],
        },
        protocol=5,
    )
    # The data pickle and the out-of-band buffers (protocol 5: numpy and pandas hand over their
    # memory as is) follow the small state pickle, so array data is never copied into a pickle.
    payload = [len(state).to_bytes(4, "big"), state, blob] + buffers
    summary = {"data": sorted(data), "redefined": sorted(redefined), "lost": lost}
    return payload, summary


def restore(namespace, payload, stubs, ran_definitions=None):
    """Rebuild ``namespace`` from a checkpoint ``payload``; returns the restore report.

    ``stubs``: capability id → the function this session injected for it. Definitions run first
    (so classes exist for their instances), then the data is unpickled. ``ran_definitions``: a list
    the sources of the definitions that ran are appended to, in order — the session's record of its
    definitions, so that a checkpoint of the restored session re-runs them too.
    """
    view = memoryview(payload).cast("B")
    try:
        size = int.from_bytes(view[:4], "big")
        if len(view) < 4 + size:
            raise ValueError("truncated")
        state = pickle.loads(view[4 : 4 + size])
    except Exception as exc:
        raise Unrestorable("the checkpoint could not be read: %s" % _describe(exc)) from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise Unrestorable("checkpoint format %r is not %d" % (_get(state, "format"), FORMAT))
    if state.get("python") != _python_tag():
        raise Unrestorable(
            "the checkpoint was taken with Python %s; this worker runs %s"
            % (_get(state, "python"), _python_tag())
        )
    blob, buffers = _split(view, 4 + size, state)
    # Names lost when the checkpoint was taken (an open file, a generator…) are lost to the restore too.
    lost = [dict(item) for item in state.get("lost") or () if isinstance(item, dict)]
    redefined = []
    for index, source in enumerate(state.get("definitions") or ()):
        names = bound_names(source)
        try:
            code = compile(source, "<restored-definition-%d>" % (index + 1), "exec")
            exec(code, namespace)
        except BaseException as exc:  # a failing import or decorator loses its names only
            if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                raise
            for name in names:
                lost.append({"name": name, "reason": "definition failed: %s" % _describe(exc)})
            continue
        redefined.extend(n for n in names if n not in redefined)
        if ran_definitions is not None and isinstance(source, str):
            ran_definitions.append(source)
    redefined = [n for n in redefined if n not in {item["name"] for item in lost}]
    missing = set()
    data = {}
    try:
        data = _loads(blob, buffers, namespace, stubs, missing)
    except Exception as exc:
        names = state.get("names") or ()
        lost.extend({"name": n, "reason": "unpickling failed: %s" % _describe(exc)} for n in names)
    restored = []
    for name, value in data.items():
        if isinstance(value, MissingCapability):
            lost.append({"name": name, "reason": missing_reason(value)})
            continue
        namespace[name] = value
        restored.append(name)
    if state.get("random") is not None:
        import random

        random.setstate(state["random"])
    return {
        "restored": sorted(restored),
        "redefined": sorted(redefined),
        "lost": lost,
        "missingCapabilities": sorted(missing),
    }


def _split(view, at, state):
    """The data pickle and its out-of-band buffers: views into the payload, never copies."""
    try:
        lengths = [int(state["data_bytes"])] + [int(n) for n in state["buffers"]]
    except Exception:
        raise Unrestorable("the checkpoint state is incomplete") from None
    parts = []
    for length in lengths:
        if length < 0 or at + length > len(view):
            raise Unrestorable("the checkpoint could not be read: it is truncated")
        parts.append(view[at : at + length])
        at += length
    if at != len(view):
        raise Unrestorable("the checkpoint could not be read: %d bytes follow its data" % (len(view) - at))
    return parts[0], parts[1:]


# ── pickling ─────────────────────────────────────────────────────────────────────────────────────


class _Pickler(pickle.Pickler):
    # Only reducer_override, never persistent_id: the C pickler calls persistent_id for every
    # object (ints and strings too) but skips reducer_override for the built-in containers and
    # scalars, which is what keeps a checkpoint as fast as a plain pickle.
    def __init__(self, file, namespace, capability_ids, buffer_callback=None):
        super().__init__(file, protocol=5, buffer_callback=buffer_callback)
        self._ns = namespace
        self._caps = capability_ids

    def reducer_override(self, obj):
        cap = self._caps.get(id(obj))
        if cap is not None:
            return (_capability, (cap,))
        if isinstance(obj, types.ModuleType):
            return (_module, (obj.__name__,))
        if isinstance(obj, (types.FunctionType, type)) and is_definition_value(obj, self._ns):
            return (_definition, (obj.__qualname__,))
        if type(obj) is types.FunctionType and obj.__globals__ is self._ns:
            return _reduce_function(obj)
        if isinstance(obj, type) and obj.__module__ == self._ns.get("__name__"):
            raise pickle.PicklingError("class %s is not a top-level definition" % obj.__qualname__)
        return NotImplemented


class _Restoring:
    """What the reference constructors below resolve against while one restore runs."""

    namespace = None
    stubs = None
    missing = None


def _capability(capability_id):
    stub = _Restoring.stubs.get(capability_id) if _Restoring.stubs is not None else None
    if stub is None:
        if _Restoring.missing is not None:
            _Restoring.missing.add(capability_id)
        return MissingCapability(capability_id)
    return stub


def _module(name):
    import importlib

    return importlib.import_module(name)


def _definition(qualname):
    value = _Restoring.namespace.get(qualname) if _Restoring.namespace is not None else None
    return value if value is not None else MissingDefinition(qualname)


@contextlib.contextmanager
def collector_paused():
    # Unpickling allocates container after container, none of them garbage yet, and every few hundred
    # allocations the cyclic collector would walk them all again: paused, loads runs 20-40% faster.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _dumps(data, namespace, capability_ids):
    file, buffers = io.BytesIO(), []
    with collector_paused():
        _Pickler(file, namespace, capability_ids, buffers.append).dump(data)
    return file.getbuffer(), [b.raw() for b in buffers]


def _loads(blob, buffers, namespace, stubs, missing):
    _Restoring.namespace, _Restoring.stubs, _Restoring.missing = namespace, stubs, missing
    try:
        with collector_paused():
            return pickle.loads(blob, buffers=buffers)
    finally:
        _Restoring.namespace = _Restoring.stubs = _Restoring.missing = None


def _find_failures(data, namespace, capability_ids):
    failures = []
    for name, value in data.items():
        try:
            _dumps({name: value}, namespace, capability_ids)
        except Exception as exc:
            failures.append((name, unpicklable_reason(value, exc)))
    return failures


# Functions travel by value: code (marshal, same interpreter only — the format records it), name,
# defaults, closure contents and attributes. Their globals are the restoring namespace.
_EMPTY_CELL = ("capsule-empty-cell",)


def _reduce_function(fn):
    closure = None
    if fn.__closure__ is not None:
        closure = tuple(_cell_value(cell) for cell in fn.__closure__)
    state = (
        marshal.dumps(fn.__code__),
        fn.__name__,
        fn.__qualname__,
        fn.__defaults__,
        fn.__kwdefaults__,
        closure,
        fn.__dict__ or None,
    )
    return (_rebuild_function, state)


def _cell_value(cell):
    try:
        return cell.cell_contents
    except ValueError:
        return _EMPTY_CELL


def _rebuild_function(code, name, qualname, defaults, kwdefaults, closure, attributes):
    cells = None
    if closure is not None:
        cells = tuple(
            types.CellType() if value == _EMPTY_CELL else types.CellType(value) for value in closure
        )
    namespace = _Restoring.namespace if _Restoring.namespace is not None else {}
    fn = types.FunctionType(marshal.loads(code), namespace, name, defaults, cells)
    fn.__qualname__ = qualname
    fn.__kwdefaults__ = kwdefaults
    if attributes:
        fn.__dict__.update(attributes)
    return fn


_rebuild_function.__module__ = __name__


def missing_reason(value):
    if isinstance(value, MissingDefinition):
        return "its definition %s was not restored" % value.capability_id
    return "capability %s is not granted" % value.capability_id


def _describe(exc):
    text = str(exc)
    return "%s: %s" % (type(exc).__name__, text) if text else type(exc).__name__


def _python_tag():
    import importlib.util

    return "%d.%d.%d/%s" % (sys.version_info[:3] + (importlib.util.MAGIC_NUMBER.hex(),))


def _get(state, key):
    return state.get(key) if isinstance(state, dict) else None


def python_tag():
    """This interpreter as a checkpoint names it: ``major.minor.micro/<bytecode magic>``."""
    return _python_tag()

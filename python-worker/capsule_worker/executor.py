"""Runs cells on the main thread over one persistent namespace, with top-level ``await``."""

import sys

from capsule_worker.bundle import mime_bundle
from capsule_worker.cells import CellCompiler
from capsule_worker.errors import format_error


#: Sources of this many recent cells stay available to tracebacks whatever they contain.
RECENT_SOURCES = 100
_COMPREHENSIONS = frozenset(("<listcomp>", "<dictcomp>", "<setcomp>", "<genexpr>"))


def _defines_code(cell):
    """Whether the cell creates functions, lambdas or classes that may run (and fail) later."""
    for step in (cell.body, cell.expr):
        if step is None:
            continue
        for const in step.code.co_consts:
            if hasattr(const, "co_name") and const.co_name not in _COMPREHENSIONS:
                return True
    return False


class Executor:
    """Compiles and runs cells; the namespace dict is created once and never replaced.

    Async steps run on one event loop, created on first need (importing asyncio costs ~30 ms, so
    only a cell that awaits pays it) and run only while such a cell runs.
    """

    def __init__(self, namespace, gate, worker_dir, patcher):
        self.namespace = namespace
        self.count = 0
        self.display_max_bytes = 64 * 1024
        self._gate = gate
        self._worker_dir = worker_dir
        self._compiler = CellCompiler()
        self._loop = None
        self._sources = {}
        self._linecache = None
        # Cells whose source may still be needed after they ran: they define functions or classes,
        # which later tracebacks can point into. Other cells' sources are kept for the last
        # RECENT_SOURCES cells only, so a session of a million small cells does not grow without end.
        self._kept = set()
        self._recent = []
        patcher.add("linecache", self._adopt_linecache)
        gate.allow(Executor._run_user, Executor._run_async)

    def run_cell(self, exec_id, source):
        """Run one cell; returns the ``result``/``error`` message fields (without id/type)."""
        self.count += 1
        count = self.count
        filename = "<cell-%d>" % count
        gate = self._gate
        gate.reset(exec_id)
        try:
            self._remember_source(filename, source)
            cell = self._compiler.compile(source, filename)
            if _defines_code(cell):
                self._kept.add(filename)
            value = None
            for step in (cell.body, cell.expr):
                if step is None:
                    continue
                if step.is_async:
                    value = self._run_user(exec_id, self._run_async, step.code)
                else:
                    value = self._run_user(exec_id, eval, step.code, self.namespace)
            if cell.expr is None or value is None:
                bundle = None
            else:
                bundle = self._run_user(exec_id, mime_bundle, value, self.display_max_bytes)
            return {"type": "result", "count": count, "value": bundle}
        except BaseException as exc:
            gate.disarm()
            # A task cancelled because of an interrupt (by the gate, or by a CANCELLED answer
            # to a call it awaited) is reported the way a sync cell's interrupt is.
            interrupted = _is_cancelled_error(exc) and (
                gate.cancelled or gate.last_requested_id == exec_id
            )
            fields = {"type": "error", "count": count}
            fields.update(
                format_error(exc, self._worker_dir, "KeyboardInterrupt" if interrupted else None)
            )
            return fields

    def _run_user(self, exec_id, fn, *args):
        # The frame user code runs under: KeyboardInterrupt may be raised here.
        gate = self._gate
        gate.arm(exec_id)
        try:
            if gate.take_request(exec_id):
                raise KeyboardInterrupt  # interrupted while queued
            return fn(*args)
        finally:
            gate.disarm()

    def _run_async(self, code):
        loop = self._loop
        if loop is None:
            loop = self._new_loop()
        task = loop.create_task(eval(code, self.namespace))
        gate = self._gate
        gate.loop = loop
        gate.task = task
        return loop.run_until_complete(task)

    def _new_loop(self):
        import asyncio

        self._loop = loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        return loop

    def _remember_source(self, filename, source):
        # Tracebacks and inspect.getsource read cells through linecache. Importing linecache
        # costs ~3 ms, so sources wait here until something imports it.
        entry = (len(source), None, source.splitlines(True), filename)
        cache = self._linecache.cache if self._linecache is not None else self._sources
        cache[filename] = entry
        recent = self._recent
        recent.append(filename)
        if len(recent) > 2 * RECENT_SOURCES:
            old, self._recent = recent[:-RECENT_SOURCES], recent[-RECENT_SOURCES:]
            for name in old:
                if name not in self._kept:
                    cache.pop(name, None)

    def _adopt_linecache(self, module):
        self._linecache = module
        module.cache.update(self._sources)
        self._sources = {}


def _is_cancelled_error(exc):
    asyncio = sys.modules.get("asyncio")
    return asyncio is not None and isinstance(exc, asyncio.CancelledError)

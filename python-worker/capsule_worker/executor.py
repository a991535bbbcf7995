"""Runs cells on the main thread over one persistent namespace, with top-level ``await``."""

import re
import sys

from capsule_worker.bundle import mime_bundle
from capsule_worker.cells import CellCompiler
from capsule_worker.errors import format_error


# The same test as checkpoint.may_define, kept here so no cell pays for importing the checkpoint module.
_DEFINITION_LINE = re.compile(r"^[ \t]*(?:import|from|def|class|async[ \t]+def|@)\b", re.M)

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
    only a cell that awaits pays it). Between cells the worker keeps that loop running (see
    :mod:`capsule_worker.inbox`); a sync cell runs with it stopped, as a script would, so
    ``asyncio.run()`` works there.
    """

    def __init__(self, namespace, gate, worker_dir, patcher):
        self.namespace = namespace
        self.count = 0
        self.display_max_bytes = 64 * 1024
        #: The session's event loop once a cell has awaited, else None.
        self.loop = None
        #: Makes that loop (the worker's reads the pipe while it waits); None: asyncio's default.
        self.loop_factory = None
        #: The session's InlineFigures once matplotlib was imported, else None.
        self.figures = None
        self._history = None
        self._gate = gate
        self._worker_dir = worker_dir
        self._compiler = CellCompiler()
        self._hidden = {}
        self._magics = None
        self._sources = {}
        self._linecache = None
        # Cells whose source may still be needed after they ran: they define functions or classes,
        # which later tracebacks can point into. Other cells' sources are kept for the last
        # RECENT_SOURCES cells only, so a session of a million small cells does not grow without end.
        self._kept = set()
        self._recent = []
        #: Sources of the cells that may bind imports, functions or classes, in the order they ran:
        #: what a checkpoint re-runs on restore (see :mod:`capsule_worker.checkpoint`).
        self.definition_sources = []
        patcher.add("linecache", self._adopt_linecache)
        gate.allow(Executor._run_user, Executor._run_async, Executor._cell_task)

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
            if _DEFINITION_LINE.search(source) is not None:
                self.definition_sources.append(source)
            if _defines_code(cell):
                self._kept.add(filename)
            if cell.magics and self._magics is None:
                self._install_magics()
            if cell.is_async:
                value = self._run_user(exec_id, self._run_async, cell)
            else:
                value = None
                for step in (cell.body, cell.expr):
                    if step is not None:
                        value = self._run_user(exec_id, eval, step.code, self.namespace)
            shown = None if cell.expr is None or cell.quiet else value
            if self.figures is not None:
                self._run_user(exec_id, self.figures.after_cell, shown)
            bundle = None
            if shown is not None:
                bundle = self._run_user(exec_id, mime_bundle, shown, self.display_max_bytes)
                self.history.record(count, shown)
            return {"type": "result", "count": count, "value": bundle}
        except BaseException as exc:
            gate.disarm()
            self._figures_after_error(exec_id)
            # A task cancelled because of an interrupt (by the gate, or by a CANCELLED answer
            # to a call it awaited) is reported the way a sync cell's interrupt is.
            interrupted = _is_cancelled_error(exc) and (
                gate.cancelled or gate.was_interrupted(exec_id)
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

    @property
    def history(self):
        """The ``_``/``__``/``___``/``_N`` bookkeeping, created when the first value is shown."""
        if self._history is None:
            from capsule_worker.history import OutputHistory

            self._history = OutputHistory(self.namespace)
        return self._history

    @property
    def hidden_names(self):
        """The names the worker itself put in the namespace (never checkpointed)."""
        return self._hidden

    def hide_current_names(self):
        """What the namespace holds now (dunders, ``display``, capabilities) is the worker's:
        ``%who`` does not list it and ``%reset -f`` keeps it."""
        self._hidden = dict(self.namespace)

    def _install_magics(self):
        import builtins

        from capsule_worker.magics import MAGIC_BUILTIN, Magics

        self._magics = Magics(self.namespace, self._hidden, self.history)
        setattr(builtins, MAGIC_BUILTIN, self._magics.run)

    def _figures_after_error(self, exec_id):
        # A cell that fails after plotting still shows its figures, as in Jupyter.
        if self.figures is None:
            return
        try:
            self._run_user(exec_id, self.figures.after_cell, None)
        except BaseException:
            pass  # the cell's own error is the one to report

    async def _cell_task(self, cell):
        # A cell that awaits anywhere runs whole in one task, as in IPython: its last expression
        # too, so `asyncio.current_task()` there is the cell's and a capability call there
        # returns a future instead of blocking the loop's thread.
        value = None
        for step in (cell.body, cell.expr):
            if step is not None:
                value = eval(step.code, self.namespace)
                if step.is_async:
                    value = await value
        return value

    def _run_async(self, cell):
        loop = self.loop
        if loop is None or loop.is_closed():
            loop = self._new_loop()
        task = loop.create_task(self._cell_task(cell))
        gate = self._gate
        gate.loop = loop
        gate.task = task
        try:
            return loop.run_until_complete(task)
        except BaseException:
            # Interrupted outside the task (in the selector, in another task's step): the cell is
            # over, so its task must not go on running while the session idles. It gets to run
            # its cleanup now, as a cancelled cell does; a second interrupt ends that wait.
            if not task.done():
                task.cancel()
                try:
                    loop.run_until_complete(task)
                except BaseException:
                    pass
            raise

    def _new_loop(self):
        import asyncio

        factory = self.loop_factory or asyncio.new_event_loop
        self.loop = loop = factory()
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

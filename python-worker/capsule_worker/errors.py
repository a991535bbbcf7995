"""Formats a user exception as ``{ename, evalue, traceback}`` with only the user's frames."""

import os

_CELL_PREFIX = "<cell-"


def format_error(exc, worker_dir, ename=None):
    """The error fields of ``exc``; frames inside the worker are hidden.

    The traceback starts at the first cell frame and keeps every frame below it (user and
    library code) except the worker's own. ``ename`` overrides the reported exception name
    (an async cell cancelled by an interrupt is reported as KeyboardInterrupt).
    """
    import traceback

    prefix = os.path.join(worker_dir, "")
    _filter_chain(exc, prefix)
    if ename is not None:
        # A cancelled task re-raises a fresh CancelledError; the user's frames are on the one
        # it caught (its __context__).
        shown = exc
        while shown.__traceback__ is None and shown.__context__ is not None:
            shown = shown.__context__
        lines = traceback.format_list(traceback.extract_tb(shown.__traceback__))
        if lines:
            lines.insert(0, "Traceback (most recent call last):\n")
        lines.append("%s\n" % ename)
        return {"ename": ename, "evalue": "", "traceback": lines}
    try:
        evalue = str(exc)
    except Exception:
        evalue = "<exception str() failed>"
    try:
        lines = traceback.format_exception(type(exc), exc, exc.__traceback__)
    except Exception:
        lines = ["%s: %s\n" % (type(exc).__name__, evalue)]
    return {"ename": type(exc).__name__, "evalue": evalue, "traceback": lines}


def _filter_chain(exc, prefix):
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        exc.__traceback__ = _user_frames(exc.__traceback__, prefix)
        for linked in (exc.__cause__, exc.__context__):
            if linked is not None and id(linked) not in seen:
                _filter_chain(linked, prefix)
        exc = None


def _user_frames(tb, prefix):
    entries = []
    started = False
    t = tb
    while t is not None:
        filename = t.tb_frame.f_code.co_filename
        if not started and filename.startswith(_CELL_PREFIX):
            started = True
            entries = []
        if not filename.startswith(prefix):
            entries.append(t)
        t = t.tb_next
    if not started:
        # No cell frame (a callback scheduled on the loop, a failing stub): keep non-worker
        # frames, minus the asyncio machinery that only says how the cell was run.
        entries = [t for t in entries if not _is_asyncio(t.tb_frame.f_code.co_filename)]
    new = None
    for t in reversed(entries):
        new = type(t)(new, t.tb_frame, t.tb_lasti, t.tb_lineno)
    return new


def _is_asyncio(filename):
    return os.sep + "asyncio" + os.sep in filename

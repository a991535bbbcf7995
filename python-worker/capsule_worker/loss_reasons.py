"""Why a name did not make it into (or back out of) a checkpoint, in words a person can act on."""

import sys
import types


def unpicklable_reason(value, exc):
    import io as _io

    kinds = (
        (_io.IOBase, "open file"),
        (types.GeneratorType, "generator"),
        (types.AsyncGeneratorType, "generator"),
        (types.CoroutineType, "running task"),
        (types.FrameType, "frame"),
    )
    for kind, reason in kinds:
        if isinstance(value, kind):
            return "unpicklable: %s" % reason
    socket = sys.modules.get("socket")
    if socket is not None and isinstance(value, socket.socket):
        return "unpicklable: socket"
    threading = sys.modules.get("threading")
    if threading is not None and isinstance(value, threading.Thread):
        return "unpicklable: thread"
    asyncio = sys.modules.get("asyncio")
    if asyncio is not None and isinstance(value, asyncio.Future):
        return "unpicklable: running task"
    text = str(exc)
    for needle, reason in (
        ("TextIOWrapper", "open file"),
        ("BufferedReader", "open file"),
        ("BufferedWriter", "open file"),
        ("'socket'", "socket"),
        ("'generator'", "generator"),
        ("'coroutine'", "running task"),
    ):
        if needle in text:
            return "unpicklable: %s inside" % reason
    if isinstance(exc, TypeError) and text.startswith("cannot pickle"):
        return "unpicklable: C object without a reducer (%s)" % text
    return "unpicklable: %s" % describe(exc)


def describe(exc):
    text = str(exc)
    return "%s: %s" % (type(exc).__name__, text) if text else type(exc).__name__

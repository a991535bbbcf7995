"""The ``checkpoint`` and ``restore`` requests: the envelopes around :mod:`capsule_worker.checkpoint`.

A checkpoint leaves as ``checkpoint_chunk`` frames (each at most ``CHUNK_BYTES``) and one
``checkpoint_done``; a restore arrives as ``restore`` (the total size) and ``restore_chunk`` frames,
gathered on the reading thread and handed to the main thread whole. Both run between cells, on the main
thread, like an execution.
"""

import os

from capsule_worker.frames import ProtocolError

#: Bytes of checkpoint payload per frame: well under any frame limit the host may set.
CHUNK_BYTES = 512 * 1024

_last_restore = None


def last_restore():
    """The report of the restore this session started from, or None (``capsule.last_restore()``)."""
    return None if _last_restore is None else dict(_last_restore)


def take_checkpoint(worker, request_id):
    """Checkpoint the namespace and send it; a failure is a ``checkpoint_failed`` answer, never fatal."""
    from capsule_worker import checkpoint

    sender = worker.sender
    executor = worker.executor
    try:
        caps = {id(fn): cap_id for cap_id, fn in worker.capability_functions.items()}
        parts, summary = checkpoint.take(executor.namespace, executor.hidden_names, caps, executor.definition_sources)
    except Exception as exc:
        sender.send({"type": "checkpoint_failed", "id": request_id, "message": "%s: %s" % (type(exc).__name__, exc)})
        return
    total = 0
    for part in parts:
        view = memoryview(part).cast("B")
        for at in range(0, len(view), CHUNK_BYTES):
            # A view, not a copy: the frame is encoded before send() returns, and nothing runs meanwhile.
            chunk = view[at : at + CHUNK_BYTES]
            total += len(chunk)
            sender.send({"type": "checkpoint_chunk", "id": request_id, "data": chunk})
    sender.send(
        {
            "type": "checkpoint_done",
            "id": request_id,
            "bytes": total,
            "python": checkpoint.python_tag(),
            "hashSeed": os.environ.get("PYTHONHASHSEED", ""),
            "names": summary,
        }
    )


def restore_checkpoint(worker, request_id, payload):
    """Rebuild the namespace from ``payload``; answers ``restore_done`` with the report or ``restore_failed``."""
    global _last_restore
    from capsule_worker import checkpoint

    executor = worker.executor
    # The values a restore replaces die (``replaced`` holds them until this function returns), and the
    # cyclic collector walks what was just unpickled, only after the answer has left: the host waits for
    # neither.
    replaced = dict(executor.namespace)  # noqa: F841
    with checkpoint.collector_paused():
        try:
            stubs = dict(worker.capability_functions)
            report = checkpoint.restore(executor.namespace, payload, stubs, executor.definition_sources)
        except checkpoint.Unrestorable as exc:
            worker.sender.send({"type": "restore_failed", "id": request_id, "message": str(exc)})
            return
        except Exception as exc:
            worker.sender.send(
                {"type": "restore_failed", "id": request_id, "message": "%s: %s" % (type(exc).__name__, exc)}
            )
            return
        _last_restore = report
        worker.sender.send({"type": "restore_done", "id": request_id, "report": report})


class RestoreAssembly:
    """Gathers one restore's chunks on the reading thread; the host announced the total first."""

    __slots__ = ("id", "total", "buffer", "received", "_view")

    def __init__(self, message):
        request_id, total = message.get("id"), message.get("bytes")
        if type(request_id) is not int or type(total) is not int or total < 0:
            raise ProtocolError("restore needs an integer id and byte count")
        self.id = request_id
        self.total = total
        # Sized once: growing a bytearray chunk by chunk copies a large checkpoint several times over.
        self.buffer = bytearray(total)
        # Slice assignment into a bytearray copies a bytes value into a temporary first; into a view it does not.
        self._view = memoryview(self.buffer)
        self.received = 0

    def add(self, message):
        """Add one ``restore_chunk``; True once every byte has arrived."""
        data = message.get("data")
        if message.get("id") != self.id or not isinstance(data, (bytes, bytearray)):
            raise ProtocolError("restore_chunk needs the restore's id and bytes")
        end = self.received + len(data)
        if end > self.total:
            raise ProtocolError("restore_chunk goes past the announced size")
        self._view[self.received : end] = data
        self.received = end
        if end < self.total:
            return False
        self._view.release()
        return True

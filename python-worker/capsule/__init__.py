"""The public Python surface of a Capsule session.

Capability functions (``read_file``, ``fetch``, …) are injected as globals; this module holds
what user code may import by name: the exceptions they raise, ``display``, the figure format
and the result types.
"""

from capsule._display import display
from capsule._errors import (
    CapabilityDenied,
    CapabilityError,
    CapabilityTimeout,
    HTTPStatusError,
    InvalidArguments,
    UsageError,
)
from capsule._figures import set_figure_format

__all__ = [
    "CapabilityDenied",
    "CapabilityError",
    "CapabilityTimeout",
    "CompletedProcess",
    "HTTPStatusError",
    "Headers",
    "InvalidArguments",
    "Response",
    "UsageError",
    "display",
    "last_restore",
    "set_figure_format",
]


def last_restore():
    """The report of the checkpoint this session was restored from, or None.

    A dict: ``restored`` and ``redefined`` names, ``lost`` (each ``{"name", "reason"}``) and
    ``missingCapabilities`` (ids the restoring session does not grant).
    """
    from capsule_worker.snapshots import last_restore as report

    return report()


def __getattr__(name):
    # The result types load on first use: Headers pulls in collections.abc, which a worker
    # that never fetches should not pay for at start-up.
    if name in ("Headers", "Response"):
        from capsule import _http

        return getattr(_http, name)
    if name == "CompletedProcess":
        from capsule._process import CompletedProcess

        return CompletedProcess
    raise AttributeError("module 'capsule' has no attribute %r" % (name,))


def __dir__():
    return sorted(set(globals()) | set(__all__))

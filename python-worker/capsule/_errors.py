"""Exceptions user code can meet: a capability call's (codes from ``@capsule/provider-sdk``), a magic's."""


class CapabilityError(Exception):
    """A capability call failed; ``code`` is the host's stable error code, ``message`` its text."""

    def __init__(self, code, message=""):
        super().__init__(message)
        self.code = code
        self.message = message

    def __str__(self):
        return self.message

    def __repr__(self):
        return "%s(%r, %r)" % (type(self).__name__, self.code, self.message)

    def __reduce__(self):
        return (type(self), (self.code, self.message))


class CapabilityDenied(CapabilityError, PermissionError):
    """The host's policy refused the call (code ``DENIED``)."""


class CapabilityTimeout(CapabilityError, TimeoutError):
    """The call ran out of time on the host (code ``TIMEOUT``)."""


class InvalidArguments(CapabilityError, ValueError):
    """The host rejected the call's arguments (code ``INVALID_ARGUMENT``)."""


class HTTPStatusError(Exception):
    """Raised by ``Response.raise_for_status()`` for a 4xx or 5xx response (like httpx's)."""

    def __init__(self, message, response):
        super().__init__(message)
        self.response = response

    def __reduce__(self):
        return (type(self), (self.args[0], self.response))


class UsageError(Exception):
    """An IPython magic the worker does not support, or a supported one used wrongly (as IPython's)."""


_BY_CODE = {
    "DENIED": CapabilityDenied,
    "TIMEOUT": CapabilityTimeout,
    "INVALID_ARGUMENT": InvalidArguments,
}


def error_for(code, message):
    """The exception for a ``call_error`` with this code."""
    return _BY_CODE.get(code, CapabilityError)(code, message)

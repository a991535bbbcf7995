"""``CompletedProcess``: what ``run_command`` returns, shaped like ``subprocess.CompletedProcess``."""

from capsule._errors import CapabilityError


class CompletedProcess:
    """A finished command: ``args``, ``returncode``, ``stdout``, ``stderr`` and ``truncated``
    (whether the host cut the output), plus ``check_returncode()``.
    """

    def __init__(self, args, returncode, stdout=None, stderr=None, truncated=False):
        self.args = args
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr
        self.truncated = truncated

    @classmethod
    def from_wire(cls, value):
        """Build from a ``call_result`` value ``{args, returncode, stdout, stderr, truncated}``."""
        try:
            args = list(value["args"])
            returncode = value["returncode"]
            stdout, stderr = value.get("stdout"), value.get("stderr")
            truncated = bool(value.get("truncated", False))
        except (TypeError, KeyError, AttributeError):
            raise CapabilityError("INTERNAL", "malformed process result from the host") from None
        if not isinstance(returncode, int):
            raise CapabilityError("INTERNAL", "malformed process result from the host")
        return cls(args, returncode, stdout, stderr, truncated)

    def check_returncode(self):
        """Raise ``subprocess.CalledProcessError`` when the return code is not zero."""
        if self.returncode:
            import subprocess

            raise subprocess.CalledProcessError(
                self.returncode, self.args, self.stdout, self.stderr
            )

    def __repr__(self):
        parts = ["args=%r" % (self.args,), "returncode=%r" % (self.returncode,)]
        if self.stdout is not None:
            parts.append("stdout=%r" % (self.stdout,))
        if self.stderr is not None:
            parts.append("stderr=%r" % (self.stderr,))
        if self.truncated:
            parts.append("truncated=True")
        return "CompletedProcess(%s)" % ", ".join(parts)

"""Claims the process's standard fds before any user code runs."""

import os

#: Exit status for a bad frame from the host (EX_SOFTWARE: the host has a bug).
EXIT_PROTOCOL = 70
#: Exit status for a failure of the worker itself.
EXIT_INTERNAL = 71


class ClaimedStdio:
    """The fds the worker owns after :func:`claim_stdio`.

    ``diag_fd`` is a duplicate of the original fd 2, kept for the worker's own fatal diagnostics.
    ``stdout_r``/``stderr_r`` are the read ends of the pipes now installed as fd 1 and fd 2.
    """

    def __init__(self, diag_fd, stdout_r, stderr_r):
        self.diag_fd = diag_fd
        self.stdout_r = stdout_r
        self.stderr_r = stderr_r

    def diagnose(self, line):
        """Write one line to the diagnostic fd, ignoring failures (the host may be gone)."""
        try:
            os.write(self.diag_fd, ("capsule-worker: %s\n" % line).encode("utf-8", "replace"))
        except OSError:
            pass

    def fatal(self, status, line):
        """Write one diagnostic line and end the process at once (any thread)."""
        self.diagnose(line)
        os._exit(status)


def claim_stdio(fd_in, fd_out):
    """Make the protocol fds private and replace fd 1 and fd 2 with pipes the worker reads.

    A stray ``print()``, ``os.write(1, …)`` or child process must never reach the host's pipes
    directly; everything written to fd 1/2 from now on arrives on the returned read ends.
    """
    for fd in (fd_in, fd_out):
        os.fstat(fd)  # fail early (EBADF) when the launcher did not pass the fd
        # Child processes must not inherit the frame pipes: they could corrupt or hold them open.
        os.set_inheritable(fd, False)
        # A launcher may hand over non-blocking fds (or sockets); the reader and writer block.
        os.set_blocking(fd, True)
    diag_fd = os.dup(2)  # dup() makes a non-inheritable fd
    read_ends = []
    for target in (1, 2):
        r, w = os.pipe()
        os.dup2(w, target)  # inheritable, so child processes write into our pipe
        os.close(w)
        os.set_blocking(r, False)
        read_ends.append(r)
    # Nothing should read the host's stdin; children get /dev/null too.
    null = os.open(os.devnull, os.O_RDONLY)
    if null != 0:
        os.dup2(null, 0)
        os.close(null)
    return ClaimedStdio(diag_fd, read_ends[0], read_ends[1])

"""Resource limits the host asks for, applied by the worker to itself before any user code runs.

``CAPSULE_RLIMITS`` is ``name=soft:hard`` pairs joined by ``;`` (names: data, as, nproc, nofile,
fsize, cpu, core, and ``thread_stack``, the size ``threading.stack_size()`` is given: thread stacks count
against RLIMIT_DATA whole, so glibc's 8 MiB default would let a 1 GiB limit hold only ~120 threads). A soft limit equal to the hard one cannot be raised again by user code: raising a hard
limit needs CAP_SYS_RESOURCE, which a sandboxed worker does not have.
"""

RESOURCE_NAMES = {
    "data": "RLIMIT_DATA",
    "as": "RLIMIT_AS",
    "nproc": "RLIMIT_NPROC",
    "nofile": "RLIMIT_NOFILE",
    "fsize": "RLIMIT_FSIZE",
    "cpu": "RLIMIT_CPU",
    "core": "RLIMIT_CORE",
}


#: Not an rlimit: the stack size of threads started through ``threading``.
THREAD_STACK = "thread_stack"


class LimitError(Exception):
    """The limits could not be applied; the worker must not run user code without them."""


def parse(spec):
    """``'as=10:10;cpu=5:6'`` → ``[('as', 10, 10), ('cpu', 5, 6)]``."""
    out = []
    for part in spec.split(";"):
        if not part:
            continue
        name, _, values = part.partition("=")
        soft, _, hard = values.partition(":")
        if name not in RESOURCE_NAMES and name != THREAD_STACK:
            raise LimitError("unknown resource limit %r" % (name,))
        try:
            out.append((name, int(soft), int(hard)))
        except ValueError:
            raise LimitError("bad value for resource limit %r: %r" % (name, values)) from None
    return out


def apply(spec):
    """Apply every limit in ``spec``; a hard limit above the current one is lowered to it."""
    if not spec:
        return
    try:
        import resource
    except ImportError:
        raise LimitError("this platform has no resource limits (the resource module is missing)") from None
    for name, soft, hard in parse(spec):
        if name == THREAD_STACK:
            _thread_stack(soft)
            continue
        which = getattr(resource, RESOURCE_NAMES[name], None)
        if which is None:
            raise LimitError("this platform has no %s" % RESOURCE_NAMES[name])
        _, current_hard = resource.getrlimit(which)
        if current_hard != resource.RLIM_INFINITY and hard > current_hard:
            hard = current_hard  # cannot raise it; the existing, stricter limit stays
        soft = min(soft, hard)
        try:
            resource.setrlimit(which, (soft, hard))
        except (ValueError, OSError) as exc:
            raise LimitError("cannot set %s to %d:%d: %s" % (RESOURCE_NAMES[name], soft, hard, exc)) from None


def _thread_stack(size):
    import threading

    try:
        threading.stack_size(size)
    except (ValueError, RuntimeError) as exc:
        raise LimitError("cannot set the thread stack size to %d: %s" % (size, exc)) from None

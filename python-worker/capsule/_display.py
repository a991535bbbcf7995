"""``capsule.display``: forwards to the running worker, which installs itself with :func:`set_display`."""

_hook = []


def set_display(function):
    """Install the worker's display function (called once, at ``init``)."""
    _hook[:] = [function]


def display(*objs):
    """Show each object as rich output (a ``display`` message) while the cell keeps running."""
    if not _hook:
        raise RuntimeError("capsule.display is only available inside a Capsule worker")
    _hook[0](*objs)

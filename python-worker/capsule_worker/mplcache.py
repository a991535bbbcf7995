"""matplotlib's font cache, built once by the host and copied into a directory of this worker's own.

matplotlib keeps its font list (``fontlist-v*.json``) in its cache directory and rebuilds it, about half
a second, whenever the directory has none. A fresh session would therefore rebuild it every time. The
host builds it once per process with a trusted run (no user code) and names that directory, read-only,
in ``CAPSULE_MPL_FONT_CACHE``. The worker copies the font list into a new private directory and points
``MPLCONFIGDIR`` there: matplotlib needs a writable cache directory, and sessions must never share a
writable one (it would be a channel between them). Costs a mkdir and a 40 KB copy at start-up; nothing
is imported.
"""

import os

ENV = "CAPSULE_MPL_FONT_CACHE"


def prepare(environ=os.environ):
    """Give matplotlib a private cache directory seeded with the host's font list, if the host built one.

    Does nothing when the host built none or the environment already chose ``MPLCONFIGDIR``. Returns the
    directory made, or None. Failures are silent: matplotlib then builds its own list, as before.
    """
    source = environ.pop(ENV, "")
    if not source or environ.get("MPLCONFIGDIR"):
        return None
    try:
        names = [n for n in os.listdir(source) if n.startswith("fontlist-") and n.endswith(".json")]
        if not names:
            return None
        base = environ.get("TMPDIR") or "/tmp"
        # A random name created with mode 0700: exclusive, so no other user can plant it first.
        target = os.path.join(base, "capsule-matplotlib-" + os.urandom(8).hex())
        os.mkdir(target, 0o700)
        for name in names:
            with open(os.path.join(source, name), "rb") as src:
                data = src.read()
            with open(os.path.join(target, name), "xb") as dst:
                dst.write(data)
    except OSError:
        return None
    environ["MPLCONFIGDIR"] = target
    import atexit

    atexit.register(_remove, target)
    return target


def _remove(path):
    try:
        for name in os.listdir(path):
            os.unlink(os.path.join(path, name))
        os.rmdir(path)
    except OSError:
        pass

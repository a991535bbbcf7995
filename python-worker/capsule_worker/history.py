"""Output history as IPython keeps it: ``_``, ``__``, ``___`` and ``_N`` name the values cells showed."""

import builtins

#: How many ``_N`` names stay bound (IPython's default ``cache_size``).
CACHE_SIZE = 1000
_UNDERS = ("_", "__", "___")
_UNSET = object()


class OutputHistory:
    """Binds the underscore names in the namespace each time a cell shows a value.

    As IPython's DisplayHook: a cell whose value is hidden (``None``, a trailing ``;``, no
    expression) changes nothing; ``_``, ``__`` and ``___`` are left alone once user code has
    bound one of them itself (a ``for _ in …`` loop) or when ``builtins._`` exists (gettext).
    """

    def __init__(self, namespace):
        self._ns = namespace
        self._last = [_UNSET, _UNSET, _UNSET]
        self._numbered = []

    def record(self, count, value):
        """Cell ``count`` showed ``value``."""
        ns = self._ns
        ours = all(ns.get(name, mine) is mine for name, mine in zip(_UNDERS, self._last))
        self._last = [value] + self._last[:2]
        if ours and "_" not in builtins.__dict__:
            for name, held in zip(_UNDERS, self._last):
                if held is not _UNSET:
                    ns[name] = held
        name = "_%d" % count
        ns[name] = value
        numbered = self._numbered
        numbered.append((name, value))
        if len(numbered) > CACHE_SIZE:
            old, old_value = numbered.pop(0)
            if ns.get(old, _UNSET) is old_value:
                del ns[old]

    def clear(self):
        """Forget every value (``%reset -f``); the names were deleted with the rest."""
        self._last = [_UNSET, _UNSET, _UNSET]
        self._numbered = []

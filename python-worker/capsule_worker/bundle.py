"""Turns a Python value into a Jupyter-style mime bundle.

Everything here may run user code (``__repr__``, ``_repr_*_``) and writes no frames, so an
interrupt may be raised anywhere in this module.
"""

import binascii
import sys

from capsule_worker.output import utf8_prefix

_RICH_REPRS = (
    ("_repr_html_", "text/html"),
    ("_repr_markdown_", "text/markdown"),
    ("_repr_json_", "application/json"),
    ("_repr_png_", "image/png"),
    ("_repr_svg_", "image/svg+xml"),
)
_TEXT_MIMES = ("text/html", "text/markdown", "image/svg+xml")
TRUNCATED_SUFFIX = "…"


def mime_bundle(obj, max_bytes):
    """``{'text/plain': repr(obj), …}`` plus each rich repr the object provides (images for a
    matplotlib Figure).

    ``text/plain`` is cut to ``max_bytes`` UTF-8 bytes. A failing or ill-typed ``_repr_*_`` is
    skipped; a failing ``__repr__`` raises (it is the cell's error).
    """
    text = repr(obj)
    if not isinstance(text, str):
        raise TypeError("__repr__ returned non-string (type %s)" % type(text).__name__)
    head, rest = utf8_prefix(text, max_bytes)
    bundle = {"text/plain": head + TRUNCATED_SUFFIX if rest else head}
    if isinstance(obj, type):
        return bundle  # a class's _repr_*_ are unbound functions, not reprs of the class
    figure_module = sys.modules.get("matplotlib.figure")
    if figure_module is not None and isinstance(obj, figure_module.Figure):
        from capsule_worker.figures import figure_bundle

        try:
            bundle.update(figure_bundle(obj))
        except Exception as exc:  # the text stays, as for a failing _repr_*_, but say why
            sys.stderr.write("capsule: cannot render the figure: %s: %s\n" % (type(exc).__name__, exc))
    for method, mime in _RICH_REPRS:
        try:
            data = _rich(obj, method, mime)
        except Exception:
            continue
        if data is not None:
            bundle[mime] = data
    return bundle


def _rich(obj, method, mime):
    fn = getattr(obj, method, None)
    if fn is None or not callable(fn):
        return None
    data = fn()
    if isinstance(data, tuple) and len(data) == 2:
        data = data[0]  # (data, metadata), as IPython allows
    if data is None:
        return None
    if mime in _TEXT_MIMES:
        return data if isinstance(data, str) else None
    if mime == "image/png":
        if isinstance(data, (bytes, bytearray)):
            return binascii.b2a_base64(bytes(data), newline=False).decode("ascii")
        return data if isinstance(data, str) else None
    return data if _json_like(data, 0) else None


def _json_like(value, depth):
    if depth > 100:
        return False
    if value is None or isinstance(value, (str, bool, int)):
        return True
    if isinstance(value, float):
        return value == value and value not in (float("inf"), float("-inf"))
    if isinstance(value, (list, tuple)):
        return all(_json_like(v, depth + 1) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _json_like(v, depth + 1) for k, v in value.items())
    return False

"""``capsule.set_figure_format``: the image formats matplotlib figures are shown in."""

_hook = []


def set_figure_hook(function):
    """Install the worker's format setter (called once, at ``init``)."""
    _hook[:] = [function]


def set_figure_format(*formats):
    """Show matplotlib figures as these formats from now on: ``'png'`` (the default), ``'svg'``, or both.

    Each display then carries one ``image/png`` or ``image/svg+xml`` entry per format, as
    ``%config InlineBackend.figure_formats`` does in Jupyter.
    """
    if not _hook:
        raise RuntimeError("capsule.set_figure_format is only available inside a Capsule worker")
    _hook[0](formats)

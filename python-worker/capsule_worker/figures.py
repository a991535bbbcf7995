"""Inline matplotlib figures, as matplotlib-inline gives Jupyter.

When user code first imports matplotlib (an import hook, so a session that never plots pays
nothing), the worker picks its own backend, :mod:`capsule_worker.inline_backend`, unless
``MPLBACKEND`` names another. Figures drawn while a cell runs are displayed (``image/png``, or
the formats :func:`capsule.set_figure_format` chose) after it and closed; ``plt.show()``
displays and closes them at once; a Figure that is the cell's value or passed to ``display``
is rendered the same way.

Everything here may run user code (matplotlib rendering) and writes no frames, so an interrupt
may be raised anywhere in this module.
"""

import os

#: The backend string matplotlib is given.
BACKEND = "module://capsule_worker.inline_backend"
FORMATS = ("png", "svg")
_MIMES = {"png": "image/png", "svg": "image/svg+xml"}
# The worker's InlineFigures, for the backend module, which matplotlib imports by name.
_current = []


def current():
    """The session's :class:`InlineFigures`, or None outside a worker."""
    return _current[0] if _current else None


class InlineFigures:
    """Which formats figures are shown in, and the figures drawn since the last cell ended.

    ``display(*objs)`` is the worker's display function.
    """

    def __init__(self, display):
        self.formats = ("png",)
        self._display = display
        self._drawn = []
        _current[:] = [self]

    def set_formats(self, formats):
        """``capsule.set_figure_format``: validated here, where the formats are known."""
        formats = tuple(formats)
        if not formats or any(f not in FORMATS for f in formats):
            raise ValueError(
                "figure formats must be one or more of %s (got %s)"
                % (", ".join(map(repr, FORMATS)), ", ".join(map(repr, formats)) or "none")
            )
        self.formats = tuple(dict.fromkeys(formats))

    def on_import(self, matplotlib):
        """matplotlib was imported: choose our backend unless the environment chose one.

        Interactive mode goes on with it, as IPython does for matplotlib-inline, so what pyplot
        draws is shown when the cell ends; set now, before user code can call ``plt.ioff()``.
        """
        if not os.environ.get("MPLBACKEND"):
            matplotlib.use(BACKEND)
            matplotlib.interactive(True)

    # -- called by the backend ------------------------------------------------------------------

    def drawn(self, figure):
        """A pyplot figure changed in interactive mode: show it when the cell ends."""
        self._forget(figure)  # shown in the order last drawn, as matplotlib-inline does
        self._drawn.append(figure)

    def display_figure(self, figure):
        """``fig.show()``: display this figure now (it is not shown again unless drawn again)."""
        self._forget(figure)
        self._display(figure)

    def show(self, close=True):
        """``plt.show()``: display every open pyplot figure, then close them all when ``close``."""
        from matplotlib._pylab_helpers import Gcf

        self._drawn = []
        try:
            for manager in Gcf.get_all_fig_managers():
                self._display(manager.canvas.figure)
        finally:
            if close:
                _close_all(Gcf)

    # -- called by the executor -----------------------------------------------------------------

    def after_cell(self, value):
        """The cell ended: display the figures it drew (except ``value``, which its result shows),
        then close every figure, as matplotlib-inline does. A cell that drew nothing (``plt.ioff()``)
        leaves its figures open."""
        if not self._drawn:
            return
        from matplotlib._pylab_helpers import Gcf

        drawn, self._drawn = self._drawn, []
        open_figures = [manager.canvas.figure for manager in Gcf.get_all_fig_managers()]
        try:
            for figure in drawn:
                if figure is not value and any(figure is f for f in open_figures):
                    self._display(figure)
        finally:
            _close_all(Gcf)

    def _forget(self, figure):
        self._drawn = [f for f in self._drawn if f is not figure]

    def bundle(self, figure):
        """The image entries of ``figure``'s mime bundle; none for an empty figure, as Jupyter."""
        if not figure.axes and not figure.lines:
            return {}
        import io

        out = {}
        for fmt in self.formats:
            buffer = io.BytesIO()
            figure.canvas.print_figure(
                buffer,
                format=fmt,
                facecolor=figure.get_facecolor(),
                edgecolor=figure.get_edgecolor(),
                dpi=figure.dpi,
                bbox_inches="tight",
            )
            data = buffer.getvalue()
            if fmt == "svg":
                out[_MIMES[fmt]] = data.decode("utf-8")
            else:
                import binascii

                out[_MIMES[fmt]] = binascii.b2a_base64(data, newline=False).decode("ascii")
        return out


def _close_all(gcf):
    if gcf.get_all_fig_managers():
        import matplotlib.pyplot

        matplotlib.pyplot.close("all")


def figure_bundle(figure):
    """Image entries for a Figure shown as a value or with ``display``."""
    figures = current()
    return figures.bundle(figure) if figures is not None else {}

"""The matplotlib backend of a Capsule session (``module://capsule_worker.inline_backend``).

Agg renders; nothing opens a window. In interactive mode (on by default, see
:meth:`capsule_worker.figures.InlineFigures.on_import`) figures drawn through pyplot are shown
when the cell ends; ``plt.show()`` shows them at once.
The state lives on the worker's :class:`capsule_worker.figures.InlineFigures`.
"""

import matplotlib
from matplotlib._pylab_helpers import Gcf
from matplotlib.backend_bases import FigureManagerBase
from matplotlib.backends.backend_agg import FigureCanvasAgg

from capsule_worker.figures import current

FigureCanvas = FigureCanvasAgg


class FigureManager(FigureManagerBase):
    """A figure manager whose ``show()`` (``fig.show()``) displays the figure inline."""

    def show(self):
        figures = current()
        if figures is not None:
            figures.display_figure(self.canvas.figure)


def new_figure_manager(num, *args, FigureClass=None, **kwargs):
    """A manager for a new figure (part of the backend API pyplot calls)."""
    if FigureClass is None:
        from matplotlib.figure import Figure as FigureClass
    return new_figure_manager_given_figure(num, FigureClass(*args, **kwargs))


def new_figure_manager_given_figure(num, figure):
    """A manager for ``figure``, queued to be shown when the cell ends (in interactive mode)."""
    manager = FigureManager(FigureCanvasAgg(figure), num)
    if matplotlib.is_interactive():
        _drawn(figure)
    return manager


def draw_if_interactive():
    """pyplot changed the active figure: queue it to be shown when the cell ends."""
    manager = Gcf.get_active()
    if manager is not None and matplotlib.is_interactive():
        _drawn(manager.canvas.figure)


def show(close=None, block=None):
    """``plt.show()``: display every open figure, then close them (``close=False`` keeps them)."""
    figures = current()
    if figures is not None:
        figures.show(close=True if close is None else close)


def _drawn(figure):
    figures = current()
    if figures is not None:
        figures.drawn(figure)


"""matplotlib figures shown inline, as matplotlib-inline shows them in Jupyter."""

import binascii
import shutil
import sys
import tempfile
import unittest

from tests.client import WorkerClient, can_import
from tests.support import WorkerTestCase

HAS_MATPLOTLIB = can_import(sys.executable, "matplotlib")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def png_bytes(bundle):
    return binascii.a2b_base64(bundle["image/png"])


@unittest.skipUnless(HAS_MATPLOTLIB, "matplotlib is not installed for this interpreter")
class InlineFiguresTest(WorkerTestCase):
    @classmethod
    def setUpClass(cls):
        # matplotlib's caches go to a directory of the test's own, built once for the class.
        cls.config_dir = tempfile.mkdtemp(prefix="capsule-mpl-")
        cls.env = {"MPLCONFIGDIR": cls.config_dir}

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.config_dir, ignore_errors=True)

    def setUp(self):
        self.client = self.start(extra_env=self.env)
        self.count = 0

    def run_cell(self, code):
        self.count += 1
        return self.client.run(code, self.count, timeout=60)

    def test_the_backend_is_chosen_only_when_matplotlib_is_imported(self):
        self.assertResult(
            self.run_cell("import sys\n[m for m in ('matplotlib', 'capsule_worker.figures') if m in sys.modules]"), "[]"
        )
        self.assertResult(
            self.run_cell("import matplotlib\nmatplotlib.get_backend()"), "'module://capsule_worker.inline_backend'"
        )

    def test_a_cell_that_plots_displays_its_figure_as_png_and_a_semicolon_hides_the_lines(self):
        outcome = self.run_cell("import matplotlib.pyplot as plt\nplt.plot([1, 3, 2]);")
        self.assertResult(outcome)
        self.assertIsNone(outcome.final["value"])
        displays = outcome.of("display")
        self.assertEqual(len(displays), 1)
        data = displays[0]["data"]
        self.assertEqual(sorted(data), ["image/png", "text/plain"])
        self.assertEqual(data["text/plain"], "<Figure size 640x480 with 1 Axes>")
        self.assertTrue(png_bytes(data).startswith(PNG_MAGIC))
        # Shown once, then closed, as matplotlib-inline does.
        self.assertResult(self.run_cell("plt.get_fignums()"), "[]")

    def test_plt_show_displays_at_once_and_the_figure_is_not_shown_again(self):
        outcome = self.run_cell(
            "import matplotlib.pyplot as plt\nplt.plot([1, 2])\nplt.show()\nprint('after show')"
        )
        kinds = [m["type"] for m in outcome.messages]
        self.assertEqual(kinds, ["display", "stream", "result"])

    def test_a_figure_as_the_value_is_the_result_not_an_extra_display(self):
        outcome = self.run_cell("import matplotlib.pyplot as plt\nfig, ax = plt.subplots()\nax.plot([2, 1])\nfig")
        self.assertEqual(outcome.of("display"), [])
        self.assertTrue(png_bytes(outcome.final["value"]).startswith(PNG_MAGIC))
        outcome = self.run_cell("from matplotlib.figure import Figure\nf = Figure()\nf.add_subplot().plot([1])\nf")
        self.assertTrue(png_bytes(outcome.final["value"]).startswith(PNG_MAGIC))
        self.assertEqual(self.run_cell("display(Figure())").of("display")[0]["data"],
                         {"text/plain": "<Figure size 640x480 with 0 Axes>"})

    def test_svg_when_asked_by_capsule_set_figure_format_or_config(self):
        outcome = self.run_cell(
            "import capsule, matplotlib.pyplot as plt\ncapsule.set_figure_format('svg', 'png')\nplt.plot([1]);"
        )
        data = outcome.of("display")[0]["data"]
        self.assertIn("<svg", data["image/svg+xml"])
        self.assertTrue(png_bytes(data).startswith(PNG_MAGIC))
        outcome = self.run_cell("%config InlineBackend.figure_format = 'svg'\nplt.plot([1]);")
        self.assertEqual(sorted(outcome.of("display")[0]["data"]), ["image/svg+xml", "text/plain"])
        error = self.assertError(self.run_cell("capsule.set_figure_format('gif')"), "ValueError")
        self.assertIn("'png', 'svg'", error["evalue"])
        self.assertError(self.run_cell("%config InlineBackend.figure_format = 'retina'"), "UsageError")

    def test_a_cell_that_fails_after_plotting_still_shows_the_figure(self):
        outcome = self.run_cell("import matplotlib.pyplot as plt\nplt.plot([1])\n1 / 0")
        self.assertError(outcome, "ZeroDivisionError")
        self.assertEqual(len(outcome.of("display")), 1)
        self.assertEqual([m["type"] for m in outcome.messages][-1], "error")

    def test_ioff_keeps_figures_open_until_show(self):
        outcome = self.run_cell("import matplotlib.pyplot as plt\nplt.ioff()\nplt.plot([1]);")
        self.assertEqual(outcome.of("display"), [])
        outcome = self.run_cell("plt.show()")
        self.assertEqual(len(outcome.of("display")), 1)

    def test_matplotlib_inline_magic_is_accepted_and_others_are_not(self):
        self.assertResult(self.run_cell("%matplotlib inline"))
        self.assertError(self.run_cell("%matplotlib qt"), "UsageError")

    def test_an_mplbackend_from_the_environment_wins(self):
        client = WorkerClient(extra_env=dict(self.env, MPLBACKEND="agg"))
        self.addCleanup(client.close)
        client.handshake()
        self.assertResult(client.run("import matplotlib\nmatplotlib.get_backend()", 1, timeout=60), "'agg'")


if __name__ == "__main__":
    unittest.main()

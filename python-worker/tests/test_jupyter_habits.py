"""What people type by habit in Jupyter: a trailing ``;``, ``_``, and a few line magics."""

import os
import unittest

from capsule_worker.magics import format_time, transform
from tests.support import SharedWorkerTestCase, WorkerTestCase


class SemicolonTest(SharedWorkerTestCase):
    def test_a_trailing_semicolon_hides_the_value_but_the_cell_runs(self):
        for code in ("ran = 1\nran;", "ran = 2; ran ;  # quiet", "ran = 3\n(ran);", "ran = 4\nran \\\n;"):
            with self.subTest(code=code):
                outcome = self.run_cell(code)
                self.assertResult(outcome)
                self.assertIsNone(outcome.final["value"])
        self.assertResult(self.run_cell("ran"), "4")

    def test_a_semicolon_in_a_string_a_comment_or_an_earlier_statement_does_not(self):
        for code, plain in (("';'", "';'"), ("7  # ;", "7"), ("x = 1; x", "1"), ("f'{1};'", "'1;'"),
                            ("'é' + ';'", "'é;'"), ("(1,\n 2)  # ;", "(1, 2)")):
            with self.subTest(code=code):
                self.assertResult(self.run_cell(code), plain)

    def test_output_before_the_semicolon_still_arrives(self):
        outcome = self.run_cell("print('printed');")
        self.assertEqual(outcome.text(), "printed\n")
        self.assertIsNone(outcome.final["value"])


class UnderscoreTest(WorkerTestCase):
    def setUp(self):
        self.client = self.start()
        self.count = 0

    def run_cell(self, code):
        self.count += 1
        return self.client.run(code, self.count)

    def test_underscores_hold_the_last_three_values_and_numbered_ones_each(self):
        self.run_cell("'first'")
        self.run_cell("'second'")
        self.run_cell("quiet = 'ignored'")  # no value: nothing shifts
        self.run_cell("'hidden';")
        self.run_cell("None")
        self.run_cell("'third'")
        self.assertResult(self.run_cell("(_, __, ___)"), "('third', 'second', 'first')")
        self.assertResult(self.run_cell("(_1, _2, _6, '_3' in dir())"), "('first', 'second', 'third', False)")
        self.assertResult(self.run_cell("_[2]"), "'third'")  # _ is now the tuple above

    def test_a_user_assigned_underscore_is_left_alone_as_ipython_does(self):
        self.run_cell("'a value'")
        self.run_cell("_ = 'mine'")
        self.run_cell("'another'")
        self.assertResult(self.run_cell("_"), "'mine'")
        self.assertResult(self.run_cell("_3"), "'another'")


class MagicsTest(SharedWorkerTestCase):
    def test_pwd_is_the_working_directory_as_a_value(self):
        self.assertResult(self.run_cell("%pwd"), repr(os.getcwd()))

    def test_time_prints_cpu_and_wall_time_and_keeps_the_value(self):
        outcome = self.run_cell("timed = 6\n%time timed * 7")
        self.assertResult(outcome, "42")
        lines = outcome.text().splitlines()
        self.assertRegex(lines[0], r"^CPU times: user \S+ \S+, sys: \S+ \S+, total: \S+ \S+$")
        self.assertRegex(lines[1], r"^Wall time: [0-9.]+ (s|ms|µs|ns)$")
        self.assertResult(self.run_cell("%time assigned = 5\nassigned"), "5")

    def test_time_reports_errors_from_the_timed_code(self):
        error = self.assertError(self.run_cell("%time 1 / 0"), "ZeroDivisionError")
        tb = "".join(error["traceback"])
        self.assertIn("%time 1 / 0", tb)  # the cell's own line, not the rewritten call
        self.assertNotIn("__capsule_magic__", tb)

    def test_timeit_reports_mean_and_deviation_over_runs(self):
        outcome = self.run_cell("%timeit -n 20 -r 3 sum(range(10))")
        self.assertResult(outcome)
        self.assertRegex(
            outcome.text(),
            r"^\S+ \S+ ± \S+ \S+ per loop \(mean ± std\. dev\. of 3 runs, 20 loops each\)\n$",
        )
        self.assertEqual(self.run_cell("%timeit -q -n1 -r1 pass").text(), "")

    def test_magics_work_inside_blocks_and_leave_modulo_and_strings_alone(self):
        outcome = self.run_cell(
            "text = '''\n%who\n'''\n"
            "for i in range(2):\n    %time i\n"
            "value = (7\n%4)\n"
            "value, text"
        )
        self.assertResult(outcome, "(3, '\\n%who\\n')")
        self.assertEqual(outcome.text().count("Wall time"), 2)

    def test_unknown_magics_and_cell_magics_are_a_usage_error_naming_the_supported_ones(self):
        for code in ("print('not run')\n%load_ext autoreload", "%%time\n1", "%", "%reset"):
            with self.subTest(code=code):
                outcome = self.run_cell(code)
                error = self.assertError(outcome, "UsageError")
                self.assertEqual(outcome.text(), "")  # the cell did not run
                if code != "%reset":
                    self.assertIn("%timeit", error["evalue"])
        self.assertResult(self.run_cell("import capsule\nissubclass(capsule.UsageError, Exception)"), "True")

    def test_bad_timeit_options_say_which(self):
        error = self.assertError(self.run_cell("%timeit -x 1"), "UsageError")
        self.assertIn("-x", error["evalue"])


class NamespaceMagicsTest(WorkerTestCase):
    def setUp(self):
        from tests.client import make_spec

        self.client = self.start([make_spec("test.echo", "echo")])
        self.count = 0

    def run_cell(self, code):
        self.count += 1
        return self.client.run(code, self.count)

    def test_who_and_whos_list_user_variables_not_the_workers(self):
        self.assertEqual(self.run_cell("%who").text(), "Interactive namespace is empty.\n")
        self.run_cell("import os\nnumber = 3\nwords = ['a', 'b']\n_private = 1\nlong = 'x' * 80")
        self.assertEqual(self.run_cell("%who").text(), "long\t number\t os\t words\t \n")
        self.assertEqual(self.run_cell("%who int list").text(), "number\t words\t \n")
        table = self.run_cell("%whos").text().splitlines()
        self.assertEqual(table[0].split(), ["Variable", "Type", "Data/Info"])
        self.assertTrue(set(table[1]) == {"-"})
        rows = {line.split()[0]: line.split(None, 2)[1:] for line in table[2:]}
        self.assertEqual(rows["number"], ["int", "3"])
        self.assertEqual(rows["words"], ["list", "n=2"])
        self.assertEqual(rows["long"], ["str", "x" * 25 + "<...>" + "x" * 25])
        self.assertEqual(rows["os"][0], "module")

    def test_reset_f_clears_user_names_and_values_but_keeps_the_workers(self):
        self.run_cell("gone = 1\n'value'")
        self.run_cell("display = 'shadowed'")
        outcome = self.run_cell("%reset -f")
        self.assertResult(outcome)
        self.assertResult(
            self.run_cell("[n for n in ('gone', '_', '_1') if n in dir()], callable(display), callable(echo)"),
            "([], True, True)",
        )
        self.assertEqual(self.run_cell("%who").text(), "Interactive namespace is empty.\n")


class TransformTest(unittest.TestCase):
    def test_rewrites_only_lines_that_start_with_a_percent_token(self):
        source = "x = 1\n%time x\n  %who int\ny = (1\n%2)\ns = '''\n%pwd\n'''\nz = 5 % 2"
        self.assertEqual(
            transform(source),
            "x = 1\n__capsule_magic__('time', 'x')\n  __capsule_magic__('who', 'int')\ny = (1\n%2)\n"
            "s = '''\n%pwd\n'''\nz = 5 % 2",
        )

    def test_format_time_matches_ipython(self):
        self.assertEqual(format_time(0.00123), "1.23 ms")
        self.assertEqual(format_time(2.5e-6), "2.5 \u00b5s")
        self.assertEqual(format_time(0), "0 ns")
        self.assertEqual(format_time(3.0), "3 s")
        self.assertEqual(format_time(125.0), "2min 5s")


if __name__ == "__main__":
    unittest.main()

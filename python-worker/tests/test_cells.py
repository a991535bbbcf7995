import unittest

from capsule_worker import cells
from capsule_worker.cells import CO_COROUTINE, CellCompiler


class CellCompilerTest(unittest.TestCase):
    def test_splits_off_a_trailing_expression(self):
        cell = CellCompiler().compile("x = 1\nx + 1", "<cell-1>")
        self.assertIsNotNone(cell.body)
        self.assertEqual(eval(cell.expr.code, {"x": 41}), 42)
        self.assertIsNone(CellCompiler().compile("x = 1", "<cell-1>").expr)
        self.assertIsNone(CellCompiler().compile("42", "<cell-1>").body)

    def test_marks_top_level_await_as_a_coroutine(self):
        cell = CellCompiler().compile("import asyncio\nawait asyncio.sleep(0)\n1", "<cell-1>")
        self.assertTrue(cell.body.is_async)
        self.assertFalse(cell.expr.is_async)
        self.assertTrue(cell.body.code.co_flags & CO_COROUTINE)

    def test_a_cell_run_again_is_not_parsed_again_but_gets_its_new_file_name(self):
        compiler = CellCompiler()
        parsed = []
        original = compiler._compile

        def counting(source, filename):
            parsed.append(filename)
            return original(source, filename)

        compiler._compile = counting
        source = "def f():\n    return lambda: 1\nf"
        first = compiler.compile(source, "<cell-1>")
        second = compiler.compile(source, "<cell-2>")
        self.assertEqual(parsed, ["<cell-1>"])
        self.assertEqual(first.body.code.co_filename, "<cell-1>")
        self.assertEqual(second.body.code.co_filename, "<cell-2>")
        nested = [c for c in second.body.code.co_consts if hasattr(c, "co_filename")]
        self.assertTrue(nested and all(c.co_filename == "<cell-2>" for c in nested))

    def test_the_cache_is_bounded(self):
        compiler = CellCompiler(cache_size=3)
        for i in range(10):
            compiler.compile("%d" % i, "<cell-%d>" % i)
        self.assertEqual(len(compiler._cache), 3)

    def test_does_not_import_the_ast_module(self):
        self.assertFalse(hasattr(cells, "ast"))


if __name__ == "__main__":
    unittest.main()

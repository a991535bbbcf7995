"""Compiles cells the way CPython's asyncio REPL does: top-level ``await`` allowed, the last
expression statement evaluated on its own so its value can be shown; and as Jupyter does: a
trailing ``;`` hides that value, and line magics (``%time``) are rewritten first.

Uses the ``_ast`` C module and ``compile`` directly, so the ``ast`` module (and its imports) is
never loaded; the magics module loads only for a cell with a line starting with ``%``.
"""

import _ast

#: ``inspect.CO_COROUTINE``: set on code that must run as a coroutine (top-level ``await``).
CO_COROUTINE = 0x0080
_FLAGS = _ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
_CodeType = type(compile("", "", "exec"))


class Step:
    """One code object of a cell and whether it returns a coroutine."""

    __slots__ = ("code", "is_async")

    def __init__(self, code):
        self.code = code
        self.is_async = bool(code.co_flags & CO_COROUTINE)


class Cell:
    """A compiled cell: statements, then (when the cell ends with an expression) that expression.

    ``quiet``: the expression is followed by ``;``, so its value is not shown. ``magics``: some
    lines were magics, rewritten as calls of the ``__capsule_magic__`` builtin.
    """

    __slots__ = ("body", "expr", "filename", "quiet", "magics", "is_async")

    def __init__(self, body, expr, filename, quiet=False, magics=False):
        self.body = body
        self.expr = expr
        self.filename = filename
        self.quiet = quiet
        self.magics = magics
        #: Some part of the cell awaits: then the whole cell runs as one task.
        self.is_async = (body is not None and body.is_async) or (expr is not None and expr.is_async)

    def renamed(self, filename):
        """The same cell with every code object's file name changed (for a re-run under a new count)."""
        if filename == self.filename:
            return self
        return Cell(
            _renamed_step(self.body, filename),
            _renamed_step(self.expr, filename),
            filename,
            self.quiet,
            self.magics,
        )


def _renamed_step(step, filename):
    if step is None:
        return None
    return Step(_rename(step.code, filename))


def _rename(code, filename):
    consts = tuple(
        _rename(c, filename) if isinstance(c, _CodeType) else c for c in code.co_consts
    )
    return code.replace(co_filename=filename, co_consts=consts)


class CellCompiler:
    """Compiles cells, remembering ``from __future__`` imports and recent cells (LRU by source)."""

    def __init__(self, cache_size=64):
        self._cache = {}
        self._cache_size = cache_size
        self._future_flags = 0

    def compile(self, source, filename):
        """Return a :class:`Cell`; raises SyntaxError (with ``filename`` and the line) as ``compile`` does."""
        key = (source, self._future_flags)
        cell = self._cache.pop(key, None)
        if cell is None:
            cell = self._compile(source, filename)
        else:
            cell = cell.renamed(filename)
        self._cache[key] = cell
        if len(self._cache) > self._cache_size:
            del self._cache[next(iter(self._cache))]
        return cell

    def _compile(self, source, filename):
        magics = _has_magic_line(source)
        if magics:
            from capsule_worker.magics import transform

            source = transform(source)
        flags = _FLAGS | self._future_flags
        tree = compile(source, filename, "exec", _ast.PyCF_ONLY_AST | flags, dont_inherit=True)
        body = tree.body
        expr = None
        quiet = False
        if body and isinstance(body[-1], _ast.Expr):
            last = body.pop()
            quiet = _followed_by_semicolon(source, last)
            expr_node = _ast.Expression(body=last.value)
            expr = Step(compile(expr_node, filename, "eval", flags, dont_inherit=True))
        body_step = None
        if body:
            module = _ast.Module(body=body, type_ignores=[])
            body_step = Step(compile(module, filename, "exec", flags, dont_inherit=True))
            self._remember_futures(body_step.code)
        return Cell(body_step, expr, filename, quiet, magics)

    def _remember_futures(self, code):
        # Like codeop.Compile: a `from __future__ import x` stays on for later cells.
        if code.co_flags & _FUTURE_MASK:
            import __future__

            for name in __future__.all_feature_names:
                flag = getattr(__future__, name).compiler_flag
                if code.co_flags & flag:
                    self._future_flags |= flag


def _has_magic_line(source):
    """Whether some line starts with ``%`` (a candidate magic; tokenize decides)."""
    if "%" not in source:
        return False
    return any(line.lstrip().startswith("%") for line in source.split("\n"))


def _followed_by_semicolon(source, stmt):
    """Whether a ``;`` follows the expression statement ``stmt``: Jupyter's way to hide a value.

    The statement's end position (parentheses included) marks where the expression stops, so a
    ``;`` inside a string or a comment is never mistaken for one, with no tokenizer needed.
    """
    lines = source.split("\n")
    # Columns are UTF-8 byte offsets.
    tail = lines[stmt.end_lineno - 1].encode("utf-8")[stmt.end_col_offset :]
    rest = tail.decode("utf-8", "replace") + "\n".join(lines[stmt.end_lineno :])
    return rest.lstrip(" \t\f\r\n\\").startswith(";")


# Every __future__ compiler flag lives in these bits (see Include/cpython/compile.h).
_FUTURE_MASK = 0x1FE0000

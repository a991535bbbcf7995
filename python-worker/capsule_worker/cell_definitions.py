"""What of a session's cells a checkpoint re-runs: their top-level imports, functions and classes."""

import ast
import re
import types

_MAGIC_LINE = re.compile(r"^[ \t]*[%!].*$", re.M)
_DEFINITIONS = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def definitions(cell_sources):
    """The top-level imports, functions and classes of the cells, as sources, and the names they bind."""
    definitions, names = [], set()
    for source in cell_sources:
        tree = _parse(source)
        if tree is None:
            continue
        for node in tree.body:
            if isinstance(node, _DEFINITIONS):
                text = ast.unparse(node)
                definitions.append(text)
                names.update(_node_names(node))
    return definitions, names


def _parse(source):
    try:
        return ast.parse(source)
    except SyntaxError:
        pass
    try:  # a cell with magics: the Python around them still defines what it defines
        return ast.parse(_MAGIC_LINE.sub("pass", source))
    except SyntaxError:
        return None


def _node_names(node):
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        out = []
        for alias in node.names:
            if alias.name == "*":
                continue
            out.append(alias.asname or alias.name.split(".")[0])
        return out
    return [node.name]


def bound_names(source):
    tree = _parse(source)
    if tree is None:
        return []
    return [name for node in tree.body if isinstance(node, _DEFINITIONS) for name in _node_names(node)]


def is_definition_value(value, namespace):
    if isinstance(value, types.ModuleType):
        return True
    if isinstance(value, types.FunctionType):
        return value.__globals__ is namespace and namespace.get(value.__qualname__) is value
    if isinstance(value, type):
        return value.__module__ == namespace.get("__name__") and namespace.get(value.__qualname__) is value
    return False

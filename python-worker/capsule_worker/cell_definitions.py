"""What of a session's cells a checkpoint re-runs: their top-level imports, functions and classes."""

import ast
import re
import types

_MAGIC_LINE = re.compile(r"^[ \t]*[%!].*$", re.M)
_DEFINITIONS = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def definitions(cell_sources):
    """The top-level imports, functions and classes of the cells, as sources, and the names they bind.

    A statement whose names are all bound again later is left out when nothing in between needs it
    (see :func:`_without_superseded`): a restored session records its restored definitions again, so
    without this every checkpoint → restore → redefine cycle would carry one more stale copy.
    """
    statements = []
    for source in cell_sources:
        tree = _parse(source)
        if tree is None:
            continue
        for node in tree.body:
            if isinstance(node, _DEFINITIONS):
                statements.append((ast.unparse(node), node))
    kept, names = [], set()
    for text, node in _without_superseded(statements):
        kept.append(text)
        names.update(_node_names(node))
    return kept, names


def _without_superseded(statements):
    """``statements`` (text, node) without those a later one makes redundant, in their order.

    Walking backwards, ``rebound`` maps each name bound later to the text of its next binding, as
    long as no statement up to that binding reads the name while it runs (a decorator, a default, a
    base class, a class body): such a read needs the earlier binding. An import is dropped only for
    an identical later import, since ``import a.b`` also loads a submodule a later ``import a`` would not.
    """
    rebound, kept = {}, []
    for text, node in reversed(statements):
        names = _node_names(node)
        if names and all(name in rebound for name in names):
            is_import = isinstance(node, (ast.Import, ast.ImportFrom))
            if not is_import or all(rebound[name] == text for name in names):
                continue
        for name in names:
            rebound[name] = text
        for name in _definition_time_reads(node):
            rebound.pop(name, None)
        kept.append((text, node))
    kept.reverse()
    return kept


def _definition_time_reads(node):
    """Names a definition reads while it runs (not when its functions are later called), conservatively."""
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return set()
    if isinstance(node, ast.ClassDef):
        parts = node.decorator_list + node.bases + [k.value for k in node.keywords]
        reads = set()
        for statement in node.body:  # a class body runs when it is defined; its methods' bodies do not
            if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                reads |= _definition_time_reads(statement)
            else:
                parts.append(statement)
    else:
        args = node.args
        every_arg = args.posonlyargs + args.args + args.kwonlyargs + [a for a in (args.vararg, args.kwarg) if a]
        parts = node.decorator_list + args.defaults + [d for d in args.kw_defaults if d is not None]
        parts += [a.annotation for a in every_arg if a.annotation is not None]
        if node.returns is not None:
            parts.append(node.returns)
        reads = set()
    return reads | {sub.id for part in parts for sub in ast.walk(part) if isinstance(sub, ast.Name)}


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

"""The few IPython line magics people type by habit, and a clear error for the others.

A line whose first token is ``%`` is rewritten before the cell compiles into a call of the hidden
builtin ``__capsule_magic__(name, args)``, on the same line (tracebacks keep their line numbers).
A ``%`` inside a string, a bracket or an expression (``a % b``) is left alone: lines are found
with ``tokenize``. The module loads only for a cell that has such a line.
"""

import os

#: The builtin the rewritten lines call.
MAGIC_BUILTIN = "__capsule_magic__"
SUPPORTED = (
    "%config InlineBackend.figure_format = 'png'|'svg'",
    "%matplotlib inline",
    "%pwd",
    "%reset -f",
    "%time",
    "%timeit",
    "%who",
    "%whos",
)
_SUPPORTED_TEXT = ", ".join(SUPPORTED)
_NAMES = frozenset(("config", "matplotlib", "pwd", "reset", "time", "timeit", "who", "whos"))


def _usage_error(message):
    from capsule._errors import UsageError

    return UsageError(message)


def transform(source):
    """``source`` with each line magic rewritten as a call; raises UsageError for an unknown one."""
    import io
    import tokenize

    lines = source.split("\n")
    starts = {}  # line number → column of the magic's %
    depth = 0
    at_start = True
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            kind, text, (row, col) = tok.type, tok.string, tok.start
            if row in starts:
                continue  # the magic's own text is not Python
            if kind in (tokenize.NEWLINE, tokenize.NL):
                at_start = depth == 0
                continue
            if kind in (tokenize.INDENT, tokenize.DEDENT, tokenize.COMMENT, tokenize.ENCODING):
                continue
            if at_start and depth == 0 and kind == tokenize.OP and text == "%":
                starts[row] = col
                continue
            at_start = False
            if kind == tokenize.OP:
                if text in "([{":
                    depth += 1
                elif text in ")]}":
                    depth = max(0, depth - 1)
    except (tokenize.TokenError, SyntaxError):
        pass  # compile reports what is wrong with the rest
    for row, col in starts.items():
        line = lines[row - 1]
        lines[row - 1] = line[:col] + _call(line[col:].rstrip("\r"))
    return "\n".join(lines)


def _call(text):
    if text.startswith("%%"):
        name = text[2:].split(None, 1)[0] if text[2:].strip() else ""
        raise _usage_error(
            "Cell magic `%%%%%s` is not supported in Capsule. Line magics it supports: %s."
            % (name, _SUPPORTED_TEXT)
        )
    body = text[1:]
    parts = body.split(None, 1)
    name = parts[0] if parts and not body[:1].isspace() else ""
    args = parts[1].strip() if len(parts) > 1 and name else ""
    if name not in _NAMES:
        raise _usage_error(
            "Line magic function `%%%s` not found. Capsule supports: %s." % (name, _SUPPORTED_TEXT)
        )
    return "%s(%r, %r)" % (MAGIC_BUILTIN, name, args)


class Magics:
    """Runs the supported magics against the session's namespace.

    ``hidden`` maps the names the worker put in the namespace (``display``, capability
    functions, dunders) to their values: ``%who`` and ``%reset`` leave those alone, as IPython
    does with its own ``user_ns_hidden``.
    """

    def __init__(self, namespace, hidden, history):
        self._ns = namespace
        self._hidden = hidden
        self._history = history

    def run(self, name, args):
        """The builtin the rewritten lines call; returns the magic's value (``%pwd``, ``%time expr``)."""
        return getattr(self, "magic_" + name)(args)

    # -- the magics ---------------------------------------------------------------------------

    def magic_pwd(self, args):
        self._no_args("pwd", args)
        return os.getcwd()

    def magic_time(self, args):
        if not args:
            raise _usage_error("%time needs a statement or an expression to time")
        try:
            code = compile(args, "<timed eval>", "eval")
        except SyntaxError:
            code = compile(args, "<timed exec>", "exec")
        before, wall_before = os.times(), _perf_counter()
        value = eval(code, self._ns)
        wall, after = _perf_counter() - wall_before, os.times()
        user, system = after[0] - before[0], after[1] - before[1]
        print(
            "CPU times: user %s, sys: %s, total: %s\nWall time: %s"
            % (format_time(user), format_time(system), format_time(user + system), format_time(wall))
        )
        return value

    def magic_timeit(self, args):
        number, repeat, quiet, statement = _timeit_options(args)
        import timeit

        timer = timeit.Timer(statement, globals=self._ns)
        if number == 0:
            # As IPython: the smallest power of ten of loops that takes at least 0.2 s.
            for index in range(10):
                number = 10**index
                if timer.timeit(number) >= 0.2:
                    break
        runs = [t / number for t in timer.repeat(repeat, number)]
        if quiet:
            return None
        mean = sum(runs) / len(runs)
        stdev = (sum((t - mean) ** 2 for t in runs) / len(runs)) ** 0.5
        best, worst = min(runs), max(runs)
        if worst > 4 * best and best > 0 and worst > 1e-6:
            print(
                "The slowest run took %0.2f times longer than the fastest. "
                "This could mean that an intermediate result is being cached." % (worst / best)
            )
        print(
            "%s \u00b1 %s per loop (mean \u00b1 std. dev. of %d run%s, %s loop%s each)"
            % (
                format_time(mean), format_time(stdev), repeat, "" if repeat == 1 else "s",
                "{:,}".format(number), "" if number == 1 else "s",
            )
        )
        return None

    def magic_who(self, args):
        names = self._user_names(args.split())
        if not names:
            print("No variables match your requested type." if args else "Interactive namespace is empty.")
            return
        rows = [names[i : i + 8] for i in range(0, len(names), 8)]
        print("\n".join("\t ".join(row) + "\t " for row in rows))

    def magic_whos(self, args):
        names = self._user_names(args.split())
        if not names:
            print("No variables match your requested type." if args else "Interactive namespace is empty.")
            return
        ns = self._ns
        types = [type(ns[n]).__name__ for n in names]
        name_width = max(max(map(len, names)), len("Variable")) + 3
        type_width = max(max(map(len, types)), len("Type")) + 3
        out = [
            "Variable".ljust(name_width) + "Type".ljust(type_width) + " Data/Info",
            "-" * (name_width + type_width + len("Data/Info") + 1),
        ]
        for name, kind in zip(names, types):
            out.append(name.ljust(name_width) + kind.ljust(type_width) + " " + _info(ns[name], kind))
        print("\n".join(out))

    def magic_reset(self, args):
        if args.split() != ["-f"]:
            raise _usage_error("Capsule supports only %reset -f (it cannot ask for confirmation)")
        ns, hidden = self._ns, self._hidden
        for name in list(ns):
            if name not in hidden or ns[name] is not hidden[name]:
                del ns[name]
        ns.update(hidden)  # a hidden name the user rebound gets its original back
        self._history.clear()

    def magic_matplotlib(self, args):
        if args not in ("", "inline"):
            raise _usage_error("Capsule shows figures inline only: use %%matplotlib inline (got %r)" % args)
        import matplotlib

        from capsule_worker.figures import BACKEND

        matplotlib.use(BACKEND)

    def magic_config(self, args):
        key, _, literal = args.partition("=")
        key = key.strip()
        if key not in ("InlineBackend.figure_format", "InlineBackend.figure_formats"):
            raise _usage_error(
                "Capsule's %%config knows only InlineBackend.figure_format (got %r)" % (key or args)
            )
        import ast

        try:
            value = ast.literal_eval(literal.strip())
        except (ValueError, SyntaxError):
            raise _usage_error("%%config %s needs a literal value (got %r)" % (key, literal.strip())) from None
        import capsule

        formats = (value,) if isinstance(value, str) else tuple(value)
        try:
            capsule.set_figure_format(*formats)
        except ValueError as exc:
            raise _usage_error(str(exc)) from None

    # -- helpers ------------------------------------------------------------------------------

    def _no_args(self, name, args):
        if args:
            raise _usage_error("%%%s takes no arguments (got %r)" % (name, args))

    def _user_names(self, type_names):
        ns, hidden = self._ns, self._hidden
        missing = object()
        names = [
            n for n in ns if not n.startswith("_") and ns[n] is not hidden.get(n, missing)
        ]
        if type_names:
            wanted = set(type_names)
            names = [n for n in names if type(ns[n]).__name__ in wanted]
        return sorted(names)


def _perf_counter():
    import time

    return time.perf_counter()


def _timeit_options(args):
    """``-n N``, ``-r R`` and ``-q`` before the statement, as IPython's %timeit takes them."""
    number, repeat, quiet = 0, 7, False
    rest = args.strip()
    while rest.startswith("-"):
        flag, _, rest = rest.partition(" ")
        rest = rest.lstrip()
        option, value = flag[:2], flag[2:]
        if option == "-q" and not value:
            quiet = True
            continue
        if option not in ("-n", "-r"):
            raise _usage_error("%%timeit supports -n N, -r R and -q (got %s)" % flag)
        if not value:
            value, _, rest = rest.partition(" ")
            rest = rest.lstrip()
        if not value.isdigit() or int(value) < 1:
            raise _usage_error("%%timeit %s needs a positive integer (got %r)" % (option, value))
        if option == "-n":
            number = int(value)
        else:
            repeat = int(value)
    if not rest:
        raise _usage_error("%timeit needs a statement to time")
    return number, repeat, quiet, rest


def _info(value, kind):
    if kind in ("dict", "list", "tuple"):
        return "n=%d" % len(value)
    if kind == "ndarray" and type(value).__module__ == "numpy":
        shape = str(value.shape).replace(",", "").replace(" ", "x")[1:-1]
        return "%s: %s elems, type `%s`, %s bytes" % (shape, value.size, value.dtype, value.nbytes)
    try:
        text = str(value)
    except Exception:
        text = "<object with id %d (str() failed)>" % id(value)
    text = text.replace("\n", "\\n")
    return text if len(text) < 50 else text[:25] + "<...>" + text[-25:]


def format_time(seconds, precision=3):
    """A time span the way IPython's %time and %timeit print it (``1.23 ms``, ``2min 3s``)."""
    if seconds >= 60.0:
        parts = []
        left = seconds
        for suffix, length in (("d", 86400), ("h", 3600), ("min", 60), ("s", 1)):
            value = int(left / length)
            if value > 0:
                left = left % length
                parts.append("%d%s" % (value, suffix))
            if left < 1:
                break
        return " ".join(parts)
    import math

    units = ("s", "ms", "\u00b5s", "ns")
    order = min(-int(math.floor(math.log10(seconds)) // 3), 3) if seconds > 0.0 else 3
    return "%.*g %s" % (precision, seconds * 1000**order, units[order])


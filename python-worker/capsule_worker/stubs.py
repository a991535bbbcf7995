"""Builds one Python function per injected capability from its ``CapabilitySpec``.

The function is generated from source with the spec's parameter list, so CPython itself binds
arguments (a wrong call is a local TypeError), ``inspect.signature`` and ``help()`` show the real
parameters, and ``inspect`` is never imported to build it.
"""

import keyword
import os
import sys

from capsule_worker.frames import ProtocolError

_KINDS = ("positional_or_keyword", "keyword_only")
_WRAPS = ("http_response", "completed_process")
INPUT_ID = "io.input"


class Annotation(str):
    """An annotation given as text; shown bare (``path: str``), not quoted, in signatures."""

    __slots__ = ()

    def __repr__(self):
        return str(self)


class Param:
    """One parameter of a capability function."""

    __slots__ = ("name", "kind", "required", "default", "annotation")

    def __init__(self, name, kind, required, default, annotation):
        self.name = name
        self.kind = kind
        self.required = required
        self.default = default
        self.annotation = annotation


class Capability:
    """A validated ``CapabilitySpec``."""

    __slots__ = ("id", "name", "doc", "params", "returns", "wrap")

    def __init__(self, id, name, doc, params, returns, wrap):
        self.id = id
        self.name = name
        self.doc = doc
        self.params = params
        self.returns = returns
        self.wrap = wrap

    @classmethod
    def from_spec(cls, spec):
        """Validate one spec from ``init``; raises ProtocolError when it is malformed."""
        if not isinstance(spec, dict):
            raise ProtocolError("capability spec must be a map")
        cid, name = spec.get("id"), spec.get("name")
        if not isinstance(cid, str) or not cid:
            raise ProtocolError("capability spec needs a string id")
        if not _is_name(name):
            raise ProtocolError("capability %s: name %r is not a Python identifier" % (cid, name))
        doc, returns = spec.get("doc", ""), spec.get("returns", "")
        if not isinstance(doc, str) or not isinstance(returns, str):
            raise ProtocolError("capability %s: doc and returns must be strings" % cid)
        wrap = spec.get("wrap")
        if wrap is not None and not isinstance(wrap, str):
            raise ProtocolError("capability %s: wrap must be a string" % cid)
        raw_params = spec.get("params", [])
        if not isinstance(raw_params, list):
            raise ProtocolError("capability %s: params must be a list" % cid)
        params, seen = [], set()
        for raw in raw_params:
            if not isinstance(raw, dict):
                raise ProtocolError("capability %s: each param must be a map" % cid)
            pname, kind = raw.get("name"), raw.get("kind", "positional_or_keyword")
            if not _is_name(pname) or pname in seen:
                raise ProtocolError("capability %s: bad or repeated param name %r" % (cid, pname))
            if kind not in _KINDS:
                raise ProtocolError("capability %s: unknown param kind %r" % (cid, kind))
            annotation = raw.get("annotation", "")
            if not isinstance(annotation, str):
                raise ProtocolError("capability %s: annotation must be a string" % cid)
            seen.add(pname)
            params.append(
                Param(pname, kind, bool(raw.get("required", False)), raw.get("default"), annotation)
            )
        return cls(cid, name, doc, params, returns, wrap if wrap in _WRAPS else None)


def _is_name(value):
    return isinstance(value, str) and value.isidentifier() and not keyword.iskeyword(value)


def make_stub(capability, calls, worker_dir):
    """The global function for ``capability``: binds arguments natively, sends only those passed.

    A parameter that is neither required nor given a default gets ``None`` as its default and is
    left out of ``args`` when not passed. An argument passed as the very default object is
    indistinguishable from an omitted one and is left out too (the host applies the same default).
    """
    positional, keyword_only = [], []
    for p in capability.params:
        # Python forbids a required positional parameter after an optional one; such a
        # parameter becomes keyword-only, which keeps every name callable.
        if p.kind == "keyword_only" or (p.required and positional and not positional[-1].required):
            keyword_only.append(p)
        else:
            positional.append(p)
    names = {p.name for p in capability.params}
    invoke = "_capsule_invoke"
    while invoke in names:
        invoke += "_"
    parts = [p.name for p in positional]
    if keyword_only:
        parts.append("*")
        parts.extend(p.name for p in keyword_only)
    source = "def %s(%s):\n    return %s(locals())\n" % (capability.name, ", ".join(parts), invoke)
    filename = os.path.join(worker_dir, "<capability %s>" % capability.id)
    namespace = {}
    exec(compile(source, filename, "exec", dont_inherit=True), {invoke: _invoker(capability, calls)}, namespace)
    fn = namespace[capability.name]

    defaults = tuple(_default(p) for p in positional if not p.required)
    fn.__defaults__ = defaults or None
    kwdefaults = {p.name: _default(p) for p in keyword_only if not p.required}
    fn.__kwdefaults__ = kwdefaults or None
    annotations = {p.name: Annotation(p.annotation) for p in capability.params if p.annotation}
    if capability.returns:
        annotations["return"] = Annotation(capability.returns)
    fn.__annotations__ = annotations
    fn.__doc__ = capability.doc or None
    fn.__qualname__ = capability.name
    fn.__module__ = "capsule"
    return fn


def _default(param):
    return param.default


def _invoker(capability, calls):
    required = [p.name for p in capability.params if p.required]
    optional = [p for p in capability.params if not p.required]

    def invoke(bound):
        args = {name: bound[name] for name in required}
        for p in optional:
            value = bound[p.name]
            if value is not p.default:
                args[p.name] = value
        return calls.call(capability, args)

    return invoke


def _ask(calls, capability, args):
    """One ``io.input`` round trip. The host answers NOT_FOUND when nobody is there to answer: that is
    end of file, as ``input()`` on a closed stdin, so it raises EOFError."""
    try:
        return calls.call_sync(capability, args)
    except Exception as exc:
        if getattr(exc, "code", None) == "NOT_FOUND":
            raise EOFError(str(exc)) from None
        raise


def make_input(capability, calls):
    """``builtins.input`` backed by the ``io.input`` capability (a round trip to the host)."""

    def input(prompt=""):
        return _ask(calls, capability, {"prompt": str(prompt), "password": False})

    input.__doc__ = capability.doc or "Read a line of input from the host."
    return input


def make_getpass(capability, calls):
    """``getpass.getpass`` backed by the ``io.input`` capability with ``password`` set."""

    def getpass(prompt="Password: ", stream=None):
        return _ask(calls, capability, {"prompt": str(prompt), "password": True})

    getpass.__doc__ = capability.doc or "Read a password from the host without echo."
    getpass.__module__ = "getpass"
    return getpass


class PatchOnImport:
    """A ``sys.meta_path`` finder that runs a patch right after a module is first imported.

    Used to put ``getpass.getpass`` and the cells' ``linecache`` entries in place without
    importing those modules at start-up.
    """

    def __init__(self):
        self._patches = {}

    def add(self, module_name, patch):
        """Run ``patch(module)`` now if the module is loaded, else when it is imported."""
        module = sys.modules.get(module_name)
        if module is not None:
            patch(module)
            return
        self._patches.setdefault(module_name, []).append(patch)
        if self not in sys.meta_path:
            sys.meta_path.insert(0, self)

    def find_spec(self, name, path=None, target=None):
        patches = self._patches.get(name)
        if not patches:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None:
                break
        else:
            return None
        if spec.loader is not None and hasattr(spec.loader, "exec_module"):
            del self._patches[name]
            spec.loader = _PatchingLoader(spec.loader, patches)
        return spec

    def invalidate_caches(self):
        pass


class _PatchingLoader:
    def __init__(self, loader, patches):
        self._loader = loader
        self._patches = patches

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        self._loader.exec_module(module)
        for patch in self._patches:
            patch(module)

    def __getattr__(self, name):
        return getattr(self._loader, name)

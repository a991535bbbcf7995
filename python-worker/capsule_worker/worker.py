"""The composition root and the main thread's handlers: ``init``, ``execute``, ``shutdown``.

Start-up (fds, hello, stdio objects, threads) is :mod:`capsule_worker.boot`; what each thread may
touch is in the README's thread table.
"""

import os
import sys

from capsule_worker.frames import ProtocolError
from capsule_worker.stdio import EXIT_PROTOCOL

_WORKER_DIR = os.path.dirname(os.path.abspath(__file__))


def _option(options, name, default, minimum):
    value = options.get(name, default)
    if type(value) is not int or value < minimum:
        raise ProtocolError("init.options.%s must be an integer >= %d" % (name, minimum))
    return value


class Worker:
    """One worker process: the session's state and what the main thread does with host messages."""

    #: Message type → the main thread's handler (the channel hands these over through the inbox).
    HANDLERS = {
        "init": "do_init",
        "execute": "do_execute",
        "shutdown": "do_shutdown",
        "eof": "do_shutdown",
        "checkpoint": "do_checkpoint",
        "restore": "do_restore",
    }

    def __init__(self, stdio, fd_in, writer):
        import builtins

        from capsule_worker import calls, channel
        from capsule_worker.executor import Executor
        from capsule_worker.frames import FrameReader
        from capsule_worker.gate import InterruptGate
        from capsule_worker.inbox import Inbox
        from capsule_worker.sender import Sender
        from capsule_worker.stubs import PatchOnImport

        self.stdio = stdio
        self.sender = Sender(writer, stdio.stdout_r, stdio.stderr_r)
        self.inbox = Inbox(self._report_idle_error)
        self.gate = InterruptGate(_WORKER_DIR)
        self.gate.allow(*calls.INTERRUPTIBLE, *channel.INTERRUPTIBLE)
        # Modules that run user code (reprs, matplotlib, magics) and write no frames.
        for name in ("bundle.py", "figures.py", "inline_backend.py", "magics.py"):
            self.gate.allow_file(os.path.join(_WORKER_DIR, name))
        self.patcher = PatchOnImport()
        self.patcher.add("signal", self.gate.patch_signal_module)
        self.patcher.add("matplotlib", self._on_matplotlib)
        self.channel = channel.Channel(
            FrameReader(fd_in), writer.codec, self.sender, self.gate, self.inbox, stdio.fatal
        )
        self.inbox.serve = self.channel.serve_idle
        self.calls = self.channel.calls = calls.CallManager(self.sender, self.gate, self.channel)
        self.main_module = type(sys)("__main__")
        self.namespace = self.main_module.__dict__
        self.namespace["__builtins__"] = builtins
        self.executor = Executor(self.namespace, self.gate, _WORKER_DIR, self.patcher)
        self.executor.loop_factory = self._new_event_loop
        self._handlers = {kind: getattr(self, name) for kind, name in self.HANDLERS.items()}
        #: Capability id → the function injected for it (what a checkpoint refers to by id).
        self.capability_functions = {}
        #: (cProfile.Profile, path) while the main thread profiles itself (CAPSULE_WORKER_PROFILE).
        self._profile = None

    def _new_event_loop(self):
        from capsule_worker import loop_selector

        # Allowed only now: importing the module at start-up would cost every worker its selectors import.
        self.gate.allow(*loop_selector.INTERRUPTIBLE)
        return loop_selector.new_event_loop(self.channel)

    # -- the main loop ----------------------------------------------------------------------------

    def serve(self):
        """Run the main loop until ``shutdown`` or end of file.

        With ``CAPSULE_WORKER_PROFILE`` set to a path, the main thread runs under cProfile and its stats
        are written there at shutdown (the benchmark's view of what a cell cannot see of itself).
        """
        profile_path = os.environ.get("CAPSULE_WORKER_PROFILE")
        if profile_path:
            import cProfile

            self._profile = (cProfile.Profile(), profile_path)
            self._profile[0].enable()
        inbox = self.inbox
        executor = self.executor
        handlers = self._handlers
        while True:
            message = inbox.get(executor.loop)
            handlers[message["type"]](message)

    def do_init(self, message):
        try:
            self._init(message)
        except ProtocolError as exc:
            self.stdio.fatal(EXIT_PROTOCOL, "protocol error: %s" % (exc,))

    def do_execute(self, message):
        exec_id = message["id"]
        sender = self.sender
        sender.begin(exec_id)
        outcome = self.executor.run_cell(exec_id, message["code"])
        # Field order as in docs/golden-frames.json.
        fields = {"type": outcome.pop("type"), "id": exec_id}
        fields.update(outcome)
        with sender.lock:
            sender.finish(fields)
            self.gate.finished(exec_id)

    def do_checkpoint(self, message):
        from capsule_worker.snapshots import take_checkpoint

        take_checkpoint(self, message["id"])

    def do_restore(self, message):
        from capsule_worker.snapshots import restore_checkpoint

        restore_checkpoint(self, message["id"], message["payload"])

    def do_shutdown(self, message):
        try:
            import atexit

            atexit._run_exitfuncs()
        except BaseException:
            pass
        self.sender.flush()
        if self._profile is not None:
            profile, path = self._profile
            profile.disable()
            try:
                profile.dump_stats(path)
            except OSError:
                pass  # a profile is a favour: a path the worker cannot write costs nothing else
        os._exit(0)

    # -- init ---------------------------------------------------------------------------------------

    def _init(self, message):
        from capsule_worker.stubs import INPUT_ID, Capability, make_getpass, make_input, make_stub

        if not isinstance(message.get("session"), str):
            raise ProtocolError("init.session must be a string")
        options = message.get("options", {})
        specs = message.get("capabilities", [])
        if not isinstance(options, dict) or not isinstance(specs, list):
            raise ProtocolError("init.options must be a map and init.capabilities a list")
        max_frame = _option(options, "maxFrameBytes", self.sender.writer.max_bytes, 1024)
        self.sender.configure(
            _option(options, "maxOutputBytes", 10 * 1024 * 1024, 0),
            _option(options, "outputFlushMs", 10, 0),
            max_frame,
        )
        self.executor.display_max_bytes = _option(options, "displayMaxBytes", 64 * 1024, 16)
        capabilities = [Capability.from_spec(spec) for spec in specs]

        import builtins

        from capsule._display import set_display
        from capsule._figures import set_figure_hook

        set_display(self.display)
        set_figure_hook(self._set_figure_format)
        ns = self.namespace
        ns["display"] = self.display
        names = []
        for cap in capabilities:
            if cap.id == INPUT_ID:
                builtins.input = make_input(cap, self.calls)
                getpass = make_getpass(cap, self.calls)
                self.patcher.add("getpass", lambda module, fn=getpass: setattr(module, "getpass", fn))
            else:
                ns[cap.name] = make_stub(cap, self.calls, _WORKER_DIR)
                self.capability_functions[cap.id] = ns[cap.name]
            names.append(cap.name)
        self.executor.hide_current_names()
        self.sender.send({"type": "ready", "capabilities": names})

    # -- what user code reaches -------------------------------------------------------------------

    def display(self, *objs):
        """Send each object as a ``display`` message of the running execution."""
        from capsule_worker.bundle import mime_bundle

        for obj in objs:
            self.sender.display(mime_bundle(obj, self.executor.display_max_bytes))

    def _figures(self):
        figures = self.executor.figures
        if figures is None:
            from capsule_worker.figures import InlineFigures

            figures = self.executor.figures = InlineFigures(self.display)
        return figures

    def _on_matplotlib(self, module):
        self._figures().on_import(module)

    def _set_figure_format(self, formats):
        self._figures().set_formats(formats)

    def _report_idle_error(self, exc):
        # A background task let SystemExit or KeyboardInterrupt escape between cells: the session
        # goes on, and the traceback reaches the host with the next execution's output.
        from capsule_worker.errors import format_error

        lines = format_error(exc, _WORKER_DIR)["traceback"]
        sys.stderr.write("capsule: a background task raised while the session was idle:\n" + "".join(lines))

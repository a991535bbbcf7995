"""The composition root: claims the fds, says hello, starts the threads and runs the main loop.

Start-up imports only what the hello needs; everything else loads on first use.
"""

import os
import sys
import time

#: Exit status for a bad frame from the host (EX_SOFTWARE: the host has a bug).
EXIT_PROTOCOL = 70
#: Exit status for a failure of the worker itself.
EXIT_INTERNAL = 71
PROTOCOL_VERSION = 1
#: After the host closes the pipe, how long a running cell may take to stop.
EOF_GRACE_S = 2.0

_WORKER_DIR = os.path.dirname(os.path.abspath(__file__))


def _env_int(name, default):
    value = os.environ.get(name)
    return int(value) if value else default


def _option(options, name, default, minimum):
    from capsule_worker.frames import ProtocolError

    value = options.get(name, default)
    if type(value) is not int or value < minimum:
        raise ProtocolError("init.options.%s must be an integer >= %d" % (name, minimum))
    return value


class Worker:
    """One worker process: owns the pipes, the threads and the session's state."""

    def __init__(self, stdio, fd_in, writer):
        import builtins
        import threading

        from capsule_worker.calls import INTERRUPTIBLE, CallManager
        from capsule_worker.channel import Channel
        from capsule_worker.executor import Executor
        from capsule_worker.frames import FrameReader
        from capsule_worker.gate import InterruptGate
        from capsule_worker.inbox import Inbox
        from capsule_worker.output import FdPump, OutputSink
        from capsule_worker.stubs import PatchOnImport

        self.stdio = stdio
        self.codec = codec = writer.codec
        self.writer = writer
        self.reader = FrameReader(fd_in)
        self.inbox = Inbox(self._report_idle_error)
        # Held while output is flushed and a display/call/result/error is sent, so nothing
        # printed before it can arrive after it, and nothing names a finished execution.
        self.out_lock = threading.RLock()
        self.running_id = None
        self._interrupted_id = None
        self._accepted = set()
        self.sink = OutputSink(self._send_stream, self.out_lock)
        self.pump = FdPump(self.sink, stdio.stdout_r, stdio.stderr_r)
        self.gate = InterruptGate(_WORKER_DIR)
        self.gate.allow(*INTERRUPTIBLE)
        # Modules that run user code (reprs, matplotlib, magics) and write no frames.
        for name in ("bundle.py", "figures.py", "inline_backend.py", "magics.py"):
            self.gate.allow_file(os.path.join(_WORKER_DIR, name))
        self.patcher = PatchOnImport()
        self.patcher.add("signal", self.gate.patch_signal_module)
        self.patcher.add("matplotlib", self._on_matplotlib)
        self.calls = CallManager(
            self._emit_call, self.writer.send, self._was_interrupted, self._prepare_call, self._write_calls
        )
        self.main_module = type(sys)("__main__")
        self.namespace = self.main_module.__dict__
        self.namespace["__builtins__"] = builtins
        self.executor = Executor(self.namespace, self.gate, _WORKER_DIR, self.patcher)
        self.channel = Channel(
            self.reader, codec, self.writer, self._accept, self.calls, self._interrupt,
            self._set_frame_limit,
        )
        self._threading = threading

    # -- start-up -------------------------------------------------------------------------

    def start(self):
        """Install stdio objects and the SIGINT handler, then start the threads."""
        import io

        from capsule_worker.output import StreamWriter

        sys.stdout = StreamWriter(self.sink, "stdout", 1, self.gate)
        sys.stderr = StreamWriter(self.sink, "stderr", 2, self.gate)
        sys.stdin = io.StringIO()  # input() without the io.input capability reads EOF
        sys.argv = [""]
        sys.modules["__main__"] = self.main_module
        import builtins

        if not hasattr(builtins, "help"):
            # -S skips site, which is what normally installs help().
            import _sitebuiltins

            builtins.help = _sitebuiltins._Helper()
        self.gate.install()
        self._report_fatal_signals()
        spawn = self._threading.Thread
        spawn(target=self._guard(self.pump.run), name="capsule-fd-pump", daemon=True).start()
        spawn(target=self._guard(self.sink.run_flusher), name="capsule-flusher", daemon=True).start()
        spawn(target=self._read, name="capsule-reader", daemon=True).start()

    def _report_fatal_signals(self):
        """Make a death by signal leave its story on the host's side.

        fd 1 and 2 are the worker's own pipes, read by a thread that dies with the process, so
        faulthandler writes the crashing thread's Python stack to the diagnostic fd instead (the
        host keeps its tail). ``os.abort()`` first sends the output still buffered.
        """
        import faulthandler

        faulthandler.enable(file=self.stdio.diag_fd, all_threads=False)
        real_abort = os.abort
        worker = self

        def abort():
            worker._flush_before_abort()
            real_abort()

        abort.__doc__ = real_abort.__doc__
        abort.__module__ = "os"
        os.abort = abort

    def _flush_before_abort(self):
        # Without waiting long for a thread that holds the output lock (one writing a frame).
        if not self.out_lock.acquire(timeout=1.0):
            return
        try:
            self.flush_output()
        except BaseException:
            pass
        finally:
            self.out_lock.release()

    def _report_idle_error(self, exc):
        # A background task let SystemExit or KeyboardInterrupt escape between cells: the session
        # goes on, and the traceback reaches the host with the next execution's output.
        from capsule_worker.errors import format_error

        lines = format_error(exc, _WORKER_DIR)["traceback"]
        sys.stderr.write("capsule: a background task raised while the session was idle:\n" + "".join(lines))

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

    def _guard(self, body):
        def run():
            try:
                body()
            except BaseException as exc:  # a worker thread must not die silently
                self.fatal(EXIT_INTERNAL, "%s failed: %r" % (getattr(body, "__name__", body), exc))

        return run

    def _read(self):
        from capsule_worker.frames import ProtocolError

        try:
            self.channel.run()
            # The host closed the pipe: the main thread exits once it is free; a running cell is
            # interrupted, and one that ignores that is not waited for long.
            if self.running_id is not None:
                self.gate.request(self.running_id)
            time.sleep(EOF_GRACE_S)
            os._exit(0)
        except ProtocolError as exc:
            self.fatal(EXIT_PROTOCOL, "protocol error: %s" % (exc,))
        except OSError as exc:
            self.fatal(EXIT_INTERNAL, "reading frames failed: %s" % (exc,))
        except BaseException as exc:
            self.fatal(EXIT_INTERNAL, "reader failed: %r" % (exc,))

    def fatal(self, status, line):
        """Write one diagnostic line and end the process at once (any thread)."""
        self.stdio.diagnose(line)
        os._exit(status)

    # -- reader thread callbacks ----------------------------------------------------------

    def _accept(self, message):
        if message["type"] == "execute":
            self._accepted.add(message["id"])
        self.inbox.put(message)

    def _interrupt(self, exec_id):
        # Interrupts name an execution the reader accepted and whose result is not sent yet.
        if exec_id in self._accepted:
            self._interrupted_id = exec_id
            self.gate.request(exec_id)

    def _set_frame_limit(self, limit):
        self.reader.max_bytes = limit
        self.writer.max_bytes = limit

    def _was_interrupted(self, exec_id):
        return exec_id is not None and exec_id == self._interrupted_id

    # -- sending ----------------------------------------------------------------------------

    def _send_stream(self, exec_id, name, text):
        from capsule_worker.frames import FrameTooLarge

        try:
            self.writer.send({"type": "stream", "id": exec_id, "name": name, "text": text})
        except FrameTooLarge:
            # Only JSON escaping can push a chunk past the limit: send it in halves.
            half = len(text) // 2
            self._send_stream(exec_id, name, text[:half])
            self._send_stream(exec_id, name, text[half:])

    def flush_output(self):
        """Send every byte printed so far (Python buffers and the fd pipes) for the running execution."""
        with self.out_lock:
            for stream in (sys.__stdout__, sys.__stderr__):
                try:
                    if stream is not None:
                        stream.flush()
                except (OSError, ValueError):
                    pass
            self.pump.drain()
            self.sink.flush()

    def _emit_call(self, message):
        with self.out_lock:
            exec_id = self.running_id
            if exec_id is not None:
                self.flush_output()
            message["exec"] = exec_id
            self.writer.send(message)
            return exec_id

    def _prepare_call(self, message):
        """Stamp and encode a call now (errors surface at the call site); it is written later."""
        message["exec"] = self.running_id
        return message["exec"], self.writer.encode(message)

    def _write_calls(self, bodies):
        """Write calls prepared in one turn of the event loop, after the output before them."""
        with self.out_lock:
            if self.running_id is not None:
                self.flush_output()
            self.writer.send_bodies(bodies)

    def display(self, *objs):
        """Send each object as a ``display`` message of the running execution."""
        from capsule_worker.bundle import mime_bundle

        for obj in objs:
            bundle = mime_bundle(obj, self.executor.display_max_bytes)
            with self.out_lock:
                exec_id = self.running_id
                if exec_id is None:
                    continue  # no execution to attach it to (a background thread after its cell)
                self.flush_output()
                message = {"type": "display", "id": exec_id, "data": bundle, "metadata": {}}
                self._send_fitting(message, bundle)

    def _send_fitting(self, message, bundle):
        from capsule_worker.frames import FrameTooLarge

        try:
            self.writer.send(message)
            return
        except (FrameTooLarge, TypeError, ValueError, OverflowError):
            pass
        # Too big or not encodable: keep the plain-text repr only, cut to fit a frame.
        from capsule_worker.bundle import TRUNCATED_SUFFIX
        from capsule_worker.output import utf8_prefix

        text = bundle.get("text/plain", "")
        for key in list(bundle):
            del bundle[key]
        head, rest = utf8_prefix(text, self.writer.max_bytes // 2)
        bundle["text/plain"] = head + TRUNCATED_SUFFIX if rest else head
        self.writer.send(message)

    # -- main thread ------------------------------------------------------------------------

    def serve(self):
        """Run the main loop until ``shutdown`` or end of file."""
        from capsule_worker.frames import ProtocolError

        inbox = self.inbox
        executor = self.executor
        while True:
            message = inbox.get(executor.loop)
            kind = message["type"]
            if kind == "execute":
                self._execute(message["id"], message["code"])
            elif kind == "init":
                try:
                    self._init(message)
                except ProtocolError as exc:
                    self.fatal(EXIT_PROTOCOL, "protocol error: %s" % (exc,))
            elif kind == "shutdown":
                self._exit(0)
            elif kind == "eof":
                self._exit(0)

    def _init(self, message):
        from capsule_worker.frames import ProtocolError
        from capsule_worker.stubs import INPUT_ID, Capability, make_getpass, make_input, make_stub

        if not isinstance(message.get("session"), str):
            raise ProtocolError("init.session must be a string")
        options = message.get("options", {})
        specs = message.get("capabilities", [])
        if not isinstance(options, dict) or not isinstance(specs, list):
            raise ProtocolError("init.options must be a map and init.capabilities a list")
        max_frame = _option(options, "maxFrameBytes", self.writer.max_bytes, 1024)
        self.sink.configure(
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
            names.append(cap.name)
        self.executor.hide_current_names()
        self.writer.send({"type": "ready", "capabilities": names})

    def _execute(self, exec_id, code):
        with self.out_lock:
            self.running_id = exec_id
            self.sink.begin(exec_id)
        outcome = self.executor.run_cell(exec_id, code)
        # Field order as in docs/golden-frames.json.
        fields = {"type": outcome.pop("type"), "id": exec_id}
        fields.update(outcome)
        with self.out_lock:
            self.flush_output()
            fields["truncated"] = self.sink.truncated
            if fields["type"] == "result" and fields["value"] is not None:
                self._send_fitting(fields, fields["value"])
            else:
                self._send_final(fields)
            self.running_id = None
            self.sink.end()
            self._accepted.discard(exec_id)

    def _send_final(self, fields):
        from capsule_worker.frames import FrameTooLarge

        try:
            self.writer.send(fields)
        except (FrameTooLarge, TypeError, ValueError):
            # A gigantic traceback (deep recursion, a huge message): keep its ends.
            tb = fields.get("traceback", [])
            if len(tb) > 20:
                fields["traceback"] = tb[:10] + ["  ...\n"] + tb[-10:]
            fields["evalue"] = fields.get("evalue", "")[:4096]
            fields["traceback"] = [line[:4096] for line in fields["traceback"]]
            self.writer.send(fields)

    def _exit(self, status):
        try:
            import atexit

            atexit._run_exitfuncs()
        except BaseException:
            pass
        with self.out_lock:
            self.flush_output()
        os._exit(status)


def run():
    """Entry point: claim the fds, pick the codec, send hello, serve until shutdown."""
    fd_in = _env_int("CAPSULE_FD_IN", 3)
    fd_out = _env_int("CAPSULE_FD_OUT", 4)
    from capsule_worker.stdio import claim_stdio

    try:
        stdio = claim_stdio(fd_in, fd_out)
    except OSError as exc:
        os.write(2, ("capsule-worker: cannot claim fds: %s\n" % (exc,)).encode())
        os._exit(EXIT_INTERNAL)
    try:
        _run(stdio, fd_in, fd_out)
    except SystemExit:
        raise
    except BaseException:
        import traceback

        stdio.diagnose("internal error:\n" + traceback.format_exc())
        os._exit(EXIT_INTERNAL)


def _run(stdio, fd_in, fd_out):
    from capsule_worker.codec import CodecUnavailable, choose_codec, codec_names
    from capsule_worker.rlimits import LimitError, apply

    # Limits first: nothing the host did not budget for may run, not even the rest of start-up.
    try:
        apply(os.environ.pop("CAPSULE_RLIMITS", ""))
    except LimitError as exc:
        stdio.diagnose("cannot apply resource limits: %s" % (exc,))
        os._exit(EXIT_INTERNAL)
    from capsule_worker.mplcache import prepare as prepare_matplotlib_cache

    prepare_matplotlib_cache()

    extra = os.environ.get("CAPSULE_SYS_PATH")
    if extra:
        sys.path.extend(p for p in extra.split(os.pathsep) if p not in sys.path)
    cwd = os.environ.get("CAPSULE_CWD")
    if cwd:
        os.chdir(cwd)
    offered = codec_names(os.environ.get("CAPSULE_CODECS"))
    try:
        codec = choose_codec(offered)
    except CodecUnavailable as exc:
        stdio.diagnose(str(exc))
        os._exit(EXIT_PROTOCOL)
    from capsule_worker.frames import FrameWriter

    writer = FrameWriter(fd_out, codec)
    version = sys.version_info
    # Hello first: the host learns the codec while the rest of the worker loads.
    writer.send(
        {
            "type": "hello",
            "protocol": PROTOCOL_VERSION,
            "codec": codec.name,
            "worker": {
                "python": "%d.%d.%d" % (version[0], version[1], version[2]),
                "implementation": sys.implementation.name,
                "executable": sys.executable or "",
                "prefix": sys.prefix,
                "pid": os.getpid(),
                "codecs": offered,
                # CPU time since exec: start-up is CPU-bound, so this approximates the wall time
                # from process start, interpreter included, without reading /proc.
                "startupMs": round(time.process_time() * 1000, 1),
            },
        }
    )
    worker = Worker(stdio, fd_in, writer)
    worker.start()
    worker.serve()

"""Start-up: claim the fds, apply the limits, say hello, install the stdio objects, start the threads.

Start-up imports only what the hello needs; everything else loads on first use.
"""

import os
import sys
import time

from capsule_worker.stdio import EXIT_INTERNAL, EXIT_PROTOCOL

PROTOCOL_VERSION = 1
#: After the host closes the pipe, how long a running cell may take to stop.
EOF_GRACE_S = 2.0


def _env_int(name, default):
    value = os.environ.get(name)
    return int(value) if value else default


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

        stdio.fatal(EXIT_INTERNAL, "internal error:\n" + traceback.format_exc())


def _run(stdio, fd_in, fd_out):
    from capsule_worker.frames import CodecUnavailable, choose_codec, codec_names
    from capsule_worker.rlimits import LimitError, apply

    # Limits first: nothing the host did not budget for may run, not even the rest of start-up.
    try:
        apply(os.environ.pop("CAPSULE_RLIMITS", ""))
    except LimitError as exc:
        stdio.fatal(EXIT_INTERNAL, "cannot apply resource limits: %s" % (exc,))
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
        stdio.fatal(EXIT_PROTOCOL, str(exc))
    from capsule_worker.frames import FrameWriter

    writer = FrameWriter(fd_out, codec)
    # Hello first: the host learns the codec while the rest of the worker loads.
    writer.send(_hello(codec, offered))
    from capsule_worker.worker import Worker

    worker = Worker(stdio, fd_in, writer)
    start(worker)
    worker.serve()


def _hello(codec, offered):
    version = sys.version_info
    return {
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


def start(worker):
    """Install the stdio objects and the SIGINT handler, then start the worker's threads."""
    import builtins
    import io
    import threading

    from capsule_worker.output import StreamWriter

    sys.stdout = StreamWriter(worker.sender, "stdout", 1, worker.gate)
    sys.stderr = StreamWriter(worker.sender, "stderr", 2, worker.gate)
    sys.stdin = io.StringIO()  # input() without the io.input capability reads EOF
    sys.argv = [""]
    sys.modules["__main__"] = worker.main_module
    if not hasattr(builtins, "help"):
        # -S skips site, which is what normally installs help().
        import _sitebuiltins

        builtins.help = _sitebuiltins._Helper()
    worker.gate.install()
    _report_fatal_signals(worker)
    stdio = worker.stdio
    for name, body in (
        ("capsule-fd-pump", worker.sender.run_pump),
        ("capsule-flusher", worker.sender.run_flusher),
        ("capsule-reader", lambda: _read(worker)),
    ):
        threading.Thread(target=_guard(stdio, name, body), name=name, daemon=True).start()


def _guard(stdio, name, body):
    def run():
        try:
            body()
        except BaseException as exc:  # a worker thread must not die silently
            stdio.fatal(EXIT_INTERNAL, "%s failed: %r" % (name, exc))

    return run


def _read(worker):
    """Body of the reader thread."""
    from capsule_worker.frames import ProtocolError

    stdio = worker.stdio
    try:
        worker.channel.run()
    except ProtocolError as exc:
        stdio.fatal(EXIT_PROTOCOL, "protocol error: %s" % (exc,))
    except OSError as exc:
        stdio.fatal(EXIT_INTERNAL, "reading frames failed: %s" % (exc,))
    # The host closed the pipe: the main thread exits once it is free; a running cell is
    # interrupted, and one that ignores that is not waited for long.
    running = worker.sender.running_id
    if running is not None:
        worker.gate.request(running)
    time.sleep(EOF_GRACE_S)
    os._exit(0)


def _report_fatal_signals(worker):
    """Make a death by signal leave its story on the host's side.

    fd 1 and 2 are the worker's own pipes, read by a thread that dies with the process, so
    faulthandler writes the crashing thread's Python stack to the diagnostic fd instead (the
    host keeps its tail). ``os.abort()`` first sends the output still buffered.
    """
    import faulthandler

    faulthandler.enable(file=worker.stdio.diag_fd, all_threads=False)
    real_abort = os.abort
    sender = worker.sender

    def abort():
        sender.flush_before_abort()
        real_abort()

    abort.__doc__ = real_abort.__doc__
    abort.__module__ = "os"
    os.abort = abort

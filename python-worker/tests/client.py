"""A small host for tests: spawns the real worker on os.pipe fds and speaks the protocol to it."""

import os
import queue
import struct
import subprocess
import sys
import threading
import time

from capsule_worker.frames import JsonCodec, MsgpackCodec

WORKER_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_HEADER = struct.Struct(">I")
_PROBES = {}


def probe_sys_path(python):
    """The interpreter's normal sys.path (with site), as a host would probe it."""
    if python not in _PROBES:
        out = subprocess.run(
            [python, "-c", "import os, sys; print(os.pathsep.join(p for p in sys.path if p))"],
            capture_output=True, text=True, check=True,
        )
        _PROBES[python] = out.stdout.strip()
    return _PROBES[python]


def can_import(python, module):
    """Whether ``python`` (with its normal sys.path) can import ``module``."""
    return subprocess.run([python, "-c", "import " + module], capture_output=True).returncode == 0


def has_msgpack(python):
    """Whether ``python`` (with its normal sys.path) can import msgpack."""
    return can_import(python, "msgpack")


def make_spec(cid, name, params=(), doc="", returns="Any", wrap=None):
    """A CapabilitySpec for init."""
    spec = {"id": cid, "name": name, "doc": doc, "params": list(params), "returns": returns}
    if wrap:
        spec["wrap"] = wrap
    return spec


def param(name, required=True, kind="positional_or_keyword", annotation="str", **default):
    """A Param of a CapabilitySpec (pass default=... for one)."""
    p = {"name": name, "kind": kind, "required": required, "annotation": annotation}
    p.update(default)
    return p


class WorkerClient:
    """One worker process and the host end of its frame pipes."""

    def __init__(self, python=None, codecs="msgpack,json", entry="c", extra_env=None, sockets=False):
        self.python = python or sys.executable
        if sockets:
            # Like Node's child stdio: non-blocking socket pairs instead of pipes.
            import socket

            pairs = [socket.socketpair() for _ in range(2)]
            for a, b in pairs:
                a.setblocking(False)
                b.setblocking(False)
            to_worker_r, self._to_worker = pairs[0][1].detach(), pairs[0][0].detach()
            self._from_worker, from_worker_w = pairs[1][0].detach(), pairs[1][1].detach()
            os.set_blocking(self._to_worker, True)
            os.set_blocking(self._from_worker, True)
        else:
            to_worker_r, self._to_worker = os.pipe()
            self._from_worker, from_worker_w = os.pipe()
        env = {
            "CAPSULE_FD_IN": str(to_worker_r),
            "CAPSULE_FD_OUT": str(from_worker_w),
            "CAPSULE_CODECS": codecs,
            "CAPSULE_SYS_PATH": probe_sys_path(self.python),
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        }
        env.update(extra_env or {})
        if entry == "c":
            boot = "import sys; sys.path[:0] = [%r]; import capsule_worker.__main__" % WORKER_ROOT
            argv = [self.python, "-I", "-S", "-c", boot]
            cwd = None
        else:  # python -m with the package directory as the working directory
            argv = [self.python, "-S", "-m", "capsule_worker"]
            cwd = WORKER_ROOT
        self.started_at = time.perf_counter()
        self.proc = subprocess.Popen(
            argv, env=env, cwd=cwd, pass_fds=(to_worker_r, from_worker_w),
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )
        os.close(to_worker_r)
        os.close(from_worker_w)
        self.codec = None
        self.messages = queue.Queue()
        self.eof = threading.Event()
        self.frame_times = {}
        self._write_lock = threading.Lock()
        self._reader = threading.Thread(target=self._read_loop, daemon=True)
        self._reader.start()

    # -- frames ---------------------------------------------------------------------------

    def _read_exact(self, n):
        data = b""
        while len(data) < n:
            chunk = os.read(self._from_worker, n - len(data))
            if not chunk:
                return None
            data += chunk
        return data

    def _read_loop(self):
        try:
            while True:
                header = self._read_exact(4)
                if header is None:
                    return
                body = self._read_exact(_HEADER.unpack(header)[0])
                if body is None:
                    return
                if self.codec is None:
                    # The hello's first byte tells the codec: '{' is JSON, anything else msgpack.
                    self.codec = JsonCodec() if body[:1] == b"{" else MsgpackCodec()
                message = self.codec.decode(body)
                self.frame_times.setdefault(message.get("type"), time.perf_counter())
                self.messages.put(message)
        finally:
            self.eof.set()
            self.messages.put(None)

    def send(self, message):
        """Encode and send one message."""
        self.send_raw(self.codec.encode(message))

    def send_raw(self, body, length=None):
        """Send a frame with ``body`` (and optionally a lying length prefix)."""
        with self._write_lock:
            os.write(self._to_worker, _HEADER.pack(len(body) if length is None else length) + body)

    def send_bytes(self, data):
        """Write raw bytes to the worker's frame pipe."""
        with self._write_lock:
            os.write(self._to_worker, data)

    def close_input(self):
        """Close the host-to-worker pipe (end of file for the worker)."""
        os.close(self._to_worker)
        self._to_worker = None

    def recv(self, timeout=10.0):
        """The next message from the worker."""
        try:
            message = self.messages.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError("no message from the worker within %ss" % timeout) from None
        if message is None:
            self.messages.put(None)
            raise EOFError("the worker closed its frame pipe (exit status %s)" % self.proc.poll())
        return message

    def expect(self, kind, timeout=10.0):
        """The next message, which must be of type ``kind``."""
        message = self.recv(timeout)
        if message.get("type") != kind:
            raise AssertionError("expected %s, got %r" % (kind, message))
        return message

    # -- session ---------------------------------------------------------------------------

    def handshake(self, capabilities=(), options=None, session="ses_test"):
        """Receive hello, send init, return (hello, ready)."""
        hello = self.expect("hello")
        opts = {"maxOutputBytes": 1 << 20, "maxFrameBytes": 4 << 20, "outputFlushMs": 10, "displayMaxBytes": 1 << 16}
        opts.update(options or {})
        self.send({"type": "init", "session": session, "capabilities": list(capabilities), "options": opts})
        return hello, self.expect("ready")

    def run(self, code, exec_id, on_call=None, timeout=20.0, on_message=None):
        """Execute ``code``; collect messages until its result or error.

        ``on_call(message, client)`` answers capability calls (the default answers an error).
        Returns an :class:`Outcome`.
        """
        self.send({"type": "execute", "id": exec_id, "code": code})
        outcome = Outcome()
        deadline = time.monotonic() + timeout
        while True:
            message = self.recv(max(0.1, deadline - time.monotonic()))
            outcome.messages.append(message)
            if on_message is not None:
                on_message(message, self)
            kind = message["type"]
            if kind == "call":
                if on_call is None:
                    self.send({"type": "call_error", "id": message["id"], "code": "DENIED", "message": "no handler"})
                else:
                    on_call(message, self)
            elif kind in ("result", "error"):
                assert message["id"] == exec_id, message
                outcome.final = message
                return outcome

    def shutdown(self, timeout=10.0):
        """Send shutdown and wait for the exit status."""
        self.send({"type": "shutdown"})
        return self.proc.wait(timeout)

    def close(self):
        """Kill the process and close our fds (idempotent)."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)
        for fd in (self._to_worker,):
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self._to_worker = None
        self._reader.join(5)
        try:
            os.close(self._from_worker)
        except OSError:
            pass
        self.proc.stdout.close()
        self.proc.stderr.close()


class Outcome:
    """Everything one execution sent."""

    def __init__(self):
        self.messages = []
        self.final = None

    @property
    def ok(self):
        return self.final is not None and self.final["type"] == "result"

    def text(self, name="stdout"):
        """The concatenated text of stream ``name``."""
        return "".join(m["text"] for m in self.messages if m["type"] == "stream" and m["name"] == name)

    def of(self, kind):
        """Messages of one type."""
        return [m for m in self.messages if m["type"] == kind]

    @property
    def value(self):
        return self.final.get("value") if self.final else None

    def plain(self):
        """The result's text/plain."""
        assert self.ok, self.final
        return self.final["value"]["text/plain"] if self.final["value"] else None

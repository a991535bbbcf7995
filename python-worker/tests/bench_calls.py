"""Measures capability calls against the worker directly, next to the raw pipe floor.

    python3 python-worker/tests/bench_calls.py [--profile FILE] [python ...]

Not a test (unittest does not collect it). The host here is one Python loop that answers each
``call`` with a ``call_result`` at once, so the figures are the worker's cost plus a host that does
nothing: sync round trips (timed inside the cell, p50 and calls/s), calls from a thread, and calls
pipelined with ``asyncio.gather``. The floor is the same host echoing a bare Python loop's frames.
``--profile FILE`` runs the worker under cProfile and writes its stats to FILE.
"""

import json
import os
import struct
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from capsule_worker.frames import JsonCodec, MsgpackCodec  # noqa: E402
from tests.client import WORKER_ROOT, has_msgpack, make_spec, probe_sys_path  # noqa: E402

_HEADER = struct.Struct(">I")
SYNC_CALLS = 20000
THREAD_CALLS = 5000
GATHERED = 10000
ROUNDS = 5

FLOOR = r"""
import os, struct, time
fin, fout, count = int(os.environ["CAPSULE_FD_IN"]), int(os.environ["CAPSULE_FD_OUT"]), %d
def read_exact(n):
    buf = b""
    while len(buf) < n:
        buf += os.read(fin, n - len(buf))
    return buf
frame = struct.pack(">I", 32) + b"x" * 32
times = []
for _ in range(count):
    t = time.perf_counter()
    os.write(fout, frame)
    (n,) = struct.unpack(">I", read_exact(4))
    read_exact(n)
    times.append(time.perf_counter() - t)
times.sort()
report = b"%%f" %% (times[len(times) // 2] * 1e6)
os.write(fout, struct.pack(">I", len(report)) + report)
""" % SYNC_CALLS

SYNC_CELL = """
import time, json
ts = []
t0, c0 = time.perf_counter(), time.process_time()
for _ in range(%d):
    t = time.perf_counter(); noop(); ts.append(time.perf_counter() - t)
total, cpu = time.perf_counter() - t0, time.process_time() - c0
ts.sort()
json.dumps({"p50": ts[len(ts) // 2] * 1e6, "rate": len(ts) / total, "cpu": cpu / len(ts) * 1e6})
""" % SYNC_CALLS

THREAD_CELL = """
import threading, time, json
def work():
    for _ in range(%d):
        noop()
t0 = time.perf_counter()
th = threading.Thread(target=work); th.start(); th.join()
json.dumps({"rate": %d / (time.perf_counter() - t0)})
""" % (THREAD_CALLS, THREAD_CALLS)

GATHER_CELL = """
import asyncio, time, json
t0, c0 = time.perf_counter(), time.process_time()
for _ in range(%d):
    await asyncio.gather(*[noop() for _ in range(%d)])
json.dumps({"rate": %d / (time.perf_counter() - t0), "cpu": (time.process_time() - c0) / %d * 1e6})
""" % (ROUNDS, GATHERED, ROUNDS * GATHERED, ROUNDS * GATHERED)


class Host:
    """The host end of one child's frame pipes, read and written from this thread only."""

    def __init__(self, argv, env):
        to_r, self._to = os.pipe()
        self._from, from_w = os.pipe()
        env = dict(env, CAPSULE_FD_IN=str(to_r), CAPSULE_FD_OUT=str(from_w))
        self.proc = subprocess.Popen(argv, env=env, pass_fds=(to_r, from_w), stdin=subprocess.DEVNULL)
        os.close(to_r)
        os.close(from_w)
        self._buf = bytearray()
        self.codec = None

    def read(self):
        buf = self._buf
        while True:
            if len(buf) >= 4:
                (n,) = _HEADER.unpack_from(buf)
                if len(buf) >= 4 + n:
                    body = bytes(buf[4 : 4 + n])
                    del buf[: 4 + n]
                    return body
            chunk = os.read(self._from, 1 << 20)
            if not chunk:
                raise EOFError("child closed its pipe")
            buf += chunk

    def write(self, bodies):
        os.write(self._to, b"".join(_HEADER.pack(len(b)) + b for b in bodies))

    def recv(self):
        body = self.read()
        if self.codec is None:
            self.codec = JsonCodec() if body[:1] == b"{" else MsgpackCodec()
        return self.codec.decode(body)

    def close(self):
        self.proc.kill()
        self.proc.wait()
        os.close(self._to)
        os.close(self._from)


def floor(python):
    host = Host([python, "-I", "-S", "-c", FLOOR], {})
    try:
        while True:
            body = host.read()
            if len(body) == 32:
                host.write([body])
            else:
                return float(body)
    finally:
        host.close()


def run_cell(host, exec_id, code):
    host.write([host.codec.encode({"type": "execute", "id": exec_id, "code": code})])
    answer = host.codec.encode
    while True:
        message = host.recv()
        kind = message["type"]
        if kind == "call":
            host.write([answer({"type": "call_result", "id": message["id"], "value": None})])
        elif kind == "result":
            return json.loads(message["value"]["text/plain"][1:-1])
        elif kind == "error":
            raise RuntimeError("".join(message["traceback"]))


def worker(python, codecs, profile=None):
    boot = "import sys; sys.path[:0] = [%r]; import capsule_worker.__main__" % WORKER_ROOT
    if profile:
        boot = (
            "import sys, cProfile; sys.path[:0] = [%r]; import capsule_worker.boot as w; "
            "p = cProfile.Profile(); p.enable()\n"
            "import os; real_exit = os._exit\n"
            "def _exit(code): p.disable(); p.dump_stats(%r); real_exit(code)\n"
            "os._exit = _exit\nw.run()" % (WORKER_ROOT, profile)
        )
    env = {"CAPSULE_CODECS": codecs, "CAPSULE_SYS_PATH": probe_sys_path(python), "PATH": os.environ["PATH"]}
    host = Host([python, "-I", "-S", "-c", boot], env)
    hello = host.recv()
    spec = make_spec("bench.noop", "noop", [], returns="None")
    opts = {"maxOutputBytes": 1 << 20, "maxFrameBytes": 16 << 20, "outputFlushMs": 10, "displayMaxBytes": 1 << 16}
    host.write([host.codec.encode({"type": "init", "session": "bench", "capabilities": [spec], "options": opts})])
    assert host.recv()["type"] == "ready"
    return host, hello["codec"]


def measure(python, codecs, profile=None):
    host, codec = worker(python, codecs, profile)
    try:
        run_cell(host, 1, SYNC_CELL.replace(str(SYNC_CALLS), "2000"))  # warm up
        sync = run_cell(host, 2, SYNC_CELL)
        threaded = run_cell(host, 3, THREAD_CELL)
        gathered = run_cell(host, 4, GATHER_CELL)
        if profile:
            host.write([host.codec.encode({"type": "shutdown"})])
            host.proc.wait()
    finally:
        host.close()
    return codec, sync, threaded, gathered


def main():
    args = sys.argv[1:]
    profile = None
    if args[:1] == ["--profile"]:
        profile, args = args[1], args[2:]
    for python in args or [sys.executable]:
        base = floor(python)
        offers = ["msgpack,json", "json"] if has_msgpack(python) else ["json"]
        for codecs in offers:
            codec, sync, threaded, gathered = measure(python, codecs, profile)
            print(
                "%s %-7s floor p50 %.1f µs | sync call p50 %.1f µs (%.2f× floor), %.0f calls/s, "
                "worker CPU %.1f µs/call | from a thread %.0f calls/s | gathered %.0f calls/s, "
                "worker CPU %.1f µs/call"
                % (python, codec, base, sync["p50"], sync["p50"] / base, sync["rate"], sync["cpu"],
                   threaded["rate"], gathered["rate"], gathered["cpu"])
            )


if __name__ == "__main__":
    main()

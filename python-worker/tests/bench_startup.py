"""Measures the time from spawning a worker to its ``ready`` (interpreter start included).

    python3 python-worker/tests/bench_startup.py [python ...]

Not a test (unittest does not collect it): it prints min/median over 20 starts per codec.
"""

import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tests.client import WorkerClient, has_msgpack, make_spec, param  # noqa: E402

CAPABILITIES = [
    make_spec("fs.read_file", "read_file", [param("path"), param("encoding", False, default="utf-8")]),
    make_spec("fs.write_file", "write_file", [param("path"), param("data", annotation="str | bytes")]),
    make_spec("http.fetch", "fetch", [param("url")], wrap="http_response"),
    make_spec("shell.run", "run_command", [param("argv", annotation="list[str]")], wrap="completed_process"),
    make_spec("io.input", "input", [param("prompt"), param("password", annotation="bool")]),
]


def measure(python, codecs, runs=20):
    hellos, readies = [], []
    for _ in range(runs):
        client = WorkerClient(python=python, codecs=codecs)
        try:
            hello, _ = client.handshake(CAPABILITIES)
            hellos.append((client.frame_times["hello"] - client.started_at) * 1000)
            readies.append((client.frame_times["ready"] - client.started_at) * 1000)
        finally:
            client.shutdown()
            client.close()
    return hello["codec"], hellos, readies


def main():
    for python in sys.argv[1:] or [sys.executable]:
        offers = ["msgpack,json", "json"] if has_msgpack(python) else ["json"]
        for codecs in offers:
            codec, hellos, readies = measure(python, codecs)
            print(
                "%s %-7s hello min %.1f / median %.1f ms   ready min %.1f / median %.1f ms"
                % (python, codec, min(hellos), statistics.median(hellos), min(readies), statistics.median(readies))
            )


if __name__ == "__main__":
    main()

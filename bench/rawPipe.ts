// The floor every Capsule figure is compared with: small frames over the same kind of pipes, between
// Node and a Python loop that does nothing but echo them (no threads, no dispatch, no validation).
import { spawn } from 'node:child_process'
import type { Readable, Writable } from 'node:stream'
import { encodeFrame, FrameDecoder } from '../packages/core/src/protocol/frameCodec.js'

const ECHO_LOOP = `
import os, struct, sys, time
fin, fout = 3, 4
def read_exact(n):
    buf = b""
    while len(buf) < n:
        chunk = os.read(fin, n - len(buf))
        if not chunk:
            sys.exit(0)
        buf += chunk
    return buf
mode = sys.argv[1]
if mode == "echo":
    while True:
        (n,) = struct.unpack(">I", read_exact(4))
        body = read_exact(n)
        os.write(fout, struct.pack(">I", n) + body)
else:
    # Python-initiated round trips: send, wait for the echo, time each one.
    count = int(sys.argv[2])
    body = b"x" * 32
    frame = struct.pack(">I", len(body)) + body
    times = []
    for _ in range(count):
        t = time.perf_counter()
        os.write(fout, frame)
        (n,) = struct.unpack(">I", read_exact(4))
        read_exact(n)
        times.append(time.perf_counter() - t)
    times.sort()
    report = ("%f %f" % (times[len(times) // 2] * 1e6, times[int(len(times) * 0.99)] * 1e6)).encode()
    os.write(fout, struct.pack(">I", len(report)) + report)
`

interface Pipe {
  send(body: Buffer): void
  next(): Promise<Buffer>
  close(): void
}

function open(python: string, args: string[]): Pipe {
  const child = spawn(python, ['-I', '-S', '-c', ECHO_LOOP, ...args], {
    stdio: ['ignore', 'inherit', 'inherit', 'pipe', 'pipe'],
  })
  const toPython = child.stdio[3] as Writable
  const fromPython = child.stdio[4] as Readable
  const decoder = new FrameDecoder()
  const queue: Buffer[] = []
  const waiters: Array<(frame: Buffer) => void> = []
  fromPython.on('data', (chunk: Buffer) => {
    for (const frame of decoder.push(chunk)) {
      const waiter = waiters.shift()
      if (waiter) waiter(frame)
      else queue.push(frame)
    }
  })
  return {
    send: (body) => toPython.write(encodeFrame(body)),
    next: () => {
      const frame = queue.shift()
      return frame ? Promise.resolve(frame) : new Promise((resolve) => waiters.push(resolve))
    },
    close: () => child.kill(),
  }
}

/** Node-initiated round trips of a 32-byte frame: per-trip latencies in µs. */
export async function rawRoundTrips(python: string, count: number): Promise<number[]> {
  const pipe = open(python, ['echo'])
  const body = Buffer.alloc(32, 120)
  const times: number[] = []
  for (let i = 0; i < count; i += 1) {
    const start = performance.now()
    pipe.send(body)
    await pipe.next()
    times.push((performance.now() - start) * 1000)
  }
  pipe.close()
  return times
}

/** Python-initiated round trips (Node echoes), timed in Python: p50 and p99 in µs. */
export async function rawRoundTripsFromPython(
  python: string,
  count: number,
): Promise<{ p50: number; p99: number }> {
  const pipe = open(python, ['call', String(count)])
  for (;;) {
    const frame = await pipe.next()
    if (frame.length === 32) {
      pipe.send(frame)
      continue
    }
    pipe.close()
    const [p50, p99] = frame.toString().split(' ').map(Number)
    return { p50: p50!, p99: p99! }
  }
}

/** Small frames pipelined Node → Python → Node: frames per second. */
export async function rawPipelined(python: string, count: number): Promise<number> {
  const pipe = open(python, ['echo'])
  const body = Buffer.alloc(32, 120)
  const start = performance.now()
  const window = 256
  let sent = 0
  let received = 0
  while (sent < Math.min(window, count)) {
    pipe.send(body)
    sent += 1
  }
  while (received < count) {
    await pipe.next()
    received += 1
    if (sent < count) {
      pipe.send(body)
      sent += 1
    }
  }
  const seconds = (performance.now() - start) / 1000
  pipe.close()
  return count / seconds
}

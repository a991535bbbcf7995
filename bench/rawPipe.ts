// The floors the call pipeline is held against: 32-byte frames (4-byte big-endian length prefix, as on
// the worker's wire) over the same kind of pipes (fds 3 and 4 of a child), between Node and a Python
// loop that does nothing else: one buffered read per frame, no threads, no codec, no dispatch. Neither
// side uses Capsule's own frame code, so making Capsule faster cannot move its floor.
import { type ChildProcess, spawn } from 'node:child_process'
import type { Readable, Writable } from 'node:stream'

/**
 * How long an awake peer polls before it sleeps, on each side: Capsule's host and worker do the same
 * (transport/replySpin.ts, pipe_waits.AnswerSpin), so the awake floors show what is left once no side
 * sleeps, and the plain ones what a round trip costs when both do.
 */
const AWAKE_SPIN_MS = 0.25

/** The Python side. `echo` answers every frame; `caller` runs timed loops when Node asks. */
const FLOOR_PEER = `
import os, select, struct, sys, time
FIN, FOUT = 3, 4
AWAKE = sys.argv[2:3] == ["awake"]
poller = select.poll()
poller.register(FIN, select.POLLIN)
buf = bytearray()
def read_frame():
    global buf
    while True:
        if len(buf) >= 4:
            (n,) = struct.unpack_from(">I", buf)
            if len(buf) >= 4 + n:
                body = bytes(buf[4:4 + n])
                del buf[:4 + n]
                return body
        if AWAKE:  # poll for a while before the read may sleep
            end = time.perf_counter() + ${AWAKE_SPIN_MS / 1000}
            while not poller.poll(0) and time.perf_counter() < end:
                pass
        chunk = os.read(FIN, 65536)
        if not chunk:
            sys.exit(0)
        buf += chunk
def send(body):
    os.write(FOUT, struct.pack(">I", len(body)) + body)
PING = b"x" * 32
FRAME = struct.pack(">I", len(PING)) + PING
def round_trips(count):
    times = []
    for _ in range(count):
        t = time.perf_counter()
        os.write(FOUT, FRAME)
        read_frame()
        times.append(time.perf_counter() - t)
    return b"R " + " ".join("%.3f" % (s * 1e6) for s in times).encode()
def pipelined(count, window):
    sent = received = 0
    t = time.perf_counter()
    while received < count:
        while sent < count and sent - received < window:
            os.write(FOUT, FRAME)
            sent += 1
        read_frame()
        received += 1
    return b"P %.9f" % (time.perf_counter() - t)
if sys.argv[1] == "echo":
    while True:
        send(read_frame())
else:
    while True:
        command = read_frame().split()
        if command[0] == b"rt":
            send(round_trips(int(command[1])))
        elif command[0] == b"pipe":
            send(pipelined(int(command[1]), int(command[2])))
`

/** The floor script, for profiling it on its own (`python -c FLOOR_PEER caller [awake]`). */
export const FLOOR_PEER_SOURCE = FLOOR_PEER

function frame(body: Buffer): Buffer {
  const out = Buffer.allocUnsafe(4 + body.length)
  out.writeUInt32BE(body.length, 0)
  body.copy(out, 4)
  return out
}

/** A Python floor peer on fds 3 (to Python) and 4 (from Python), handing each frame to `onFrame`. */
class Peer {
  readonly #child: ChildProcess
  readonly #toPython: Writable
  readonly #awake: boolean
  #pending: Buffer = Buffer.alloc(0)
  #exited: Promise<void>
  #spinUntil = 0
  #spinning = false

  constructor(python: string, mode: 'echo' | 'caller', onFrame: (body: Buffer) => void, awake: boolean) {
    this.#awake = awake
    this.#child = spawn(python, ['-I', '-S', '-c', FLOOR_PEER, mode, awake ? 'awake' : 'asleep'], {
      stdio: ['ignore', 'inherit', 'inherit', 'pipe', 'pipe'],
    })
    this.#exited = new Promise((resolve) => this.#child.once('exit', () => resolve()))
    this.#toPython = this.#child.stdio[3] as Writable
    const fromPython = this.#child.stdio[4] as Readable
    fromPython.on('data', (chunk: Buffer) => {
      this.#spinning = false
      let data = this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk])
      while (data.length >= 4) {
        const size = data.readUInt32BE(0)
        if (data.length < 4 + size) break
        onFrame(data.subarray(4, 4 + size))
        data = data.subarray(4 + size)
      }
      this.#pending = data
    })
  }

  send(body: Buffer): void {
    this.#toPython.write(frame(body))
    if (!this.#awake) return
    // Keep the event loop turning (not blocked) until a frame comes back or the window passes.
    this.#spinUntil = performance.now() + AWAKE_SPIN_MS
    if (this.#spinning) return
    this.#spinning = true
    setImmediate(this.#spin)
  }

  readonly #spin = (): void => {
    if (!this.#spinning) return
    if (performance.now() < this.#spinUntil) setImmediate(this.#spin)
    else this.#spinning = false
  }

  async close(): Promise<void> {
    this.#toPython.end()
    this.#child.kill()
    await this.#exited
  }
}

/** Node sends a frame, Python echoes it, Node reads it: the floor of `session.run()`. */
export class NodeInitiatedFloor {
  readonly #peer: Peer
  #waiter: (() => void) | undefined
  readonly #ping = Buffer.alloc(32, 120)

  /** `awake`: both sides poll for a while after each frame instead of sleeping at once. */
  constructor(python: string, awake = false) {
    this.#peer = new Peer(
      python,
      'echo',
      () => {
        const waiter = this.#waiter
        this.#waiter = undefined
        waiter?.()
      },
      awake,
    )
  }

  /** `count` round trips, each timed in Node: latencies in µs. */
  async roundTrips(count: number): Promise<number[]> {
    const times: number[] = []
    for (let i = 0; i < count; i += 1) {
      const start = performance.now()
      const echoed = new Promise<void>((resolve) => (this.#waiter = resolve))
      this.#peer.send(this.#ping)
      await echoed
      times.push((performance.now() - start) * 1000)
    }
    return times
  }

  close(): Promise<void> {
    return this.#peer.close()
  }
}

/**
 * Python sends a frame, Node answers it, Python reads the answer: the floor of a capability call
 * (timed in Python, like the call). Also the pipelined floor: many frames in flight at once.
 */
export class PythonInitiatedFloor {
  readonly #peer: Peer
  #report: ((body: string) => void) | undefined

  /** `awake`: both sides poll for a while after each frame instead of sleeping at once. */
  constructor(python: string, awake = false) {
    const peer: Peer = new Peer(
      python,
      'caller',
      (body) => {
        // A ping starts with "x" and is answered at once; anything else is the report of a loop.
        if (body[0] === 0x78) peer.send(body)
        else {
          const report = this.#report
          this.#report = undefined
          report?.(body.toString())
        }
      },
      awake,
    )
    this.#peer = peer
  }

  #ask(command: string): Promise<string> {
    const answer = new Promise<string>((resolve) => (this.#report = resolve))
    this.#peer.send(Buffer.from(command))
    return answer
  }

  /** `count` round trips, each timed in Python: latencies in µs. */
  async roundTrips(count: number): Promise<number[]> {
    const report = await this.#ask(`rt ${count}`)
    return report.slice(2).split(' ').map(Number)
  }

  /** `count` frames with up to `window` in flight: frames per second. */
  async pipelined(count: number, window: number): Promise<number> {
    const report = await this.#ask(`pipe ${count} ${window}`)
    return count / Number(report.slice(2))
  }

  close(): Promise<void> {
    return this.#peer.close()
  }
}

// The floor of moving a checkpoint's bytes between a worker and the host: the same number of bytes, in
// the worker's 512 KiB frames, over a child's fds 3/4, with no codec, no seal and no pickling. Python
// sends from one reused buffer and Node gathers into one buffer of the whole size (the host must hold a
// checkpoint whole to seal it); back the other way Node sends views of one buffer and Python reads into
// one buffer of the whole size (a restore needs the payload whole to unpickle it). Neither side uses
// Capsule's code: it is what any design that carries a checkpoint over the worker's pipe pays.
import { type ChildProcess, spawn } from 'node:child_process'
import { performance } from 'node:perf_hooks'
import type { Readable, Writable } from 'node:stream'

const CHUNK_BYTES = 512 * 1024

const BULK_PEER = `
import os, sys
FIN, FOUT = 3, 4
CHUNK = ${CHUNK_BYTES}
source = bytearray(b"x" * CHUNK)
def read_exact(view):
    got = 0
    while got < len(view):
        n = os.readv(FIN, [view[got:]])
        if n == 0:
            sys.exit(0)
        got += n
while True:
    head = bytearray(9)
    read_exact(memoryview(head))
    command, size = head[0], int.from_bytes(head[1:], "big")
    if command == ord("s"):  # send size bytes to Node in frames
        left = size
        while left:
            n = min(CHUNK, left)
            os.writev(FOUT, [n.to_bytes(4, "big"), memoryview(source)[:n]])
            left -= n
    else:  # receive size bytes of frames into one buffer, then say so
        whole = bytearray(size)
        view, at = memoryview(whole), 0
        prefix = bytearray(4)
        while at < size:
            read_exact(memoryview(prefix))
            n = int.from_bytes(prefix, "big")
            read_exact(view[at:at + n])
            at += n
        os.write(FOUT, b"\\0\\0\\0\\1k")
`

/** A Python peer that moves `size` bytes each way on request, timed in Node. */
export class BulkTransferFloor {
  readonly #child: ChildProcess
  readonly #toPython: Writable
  readonly #fromPython: Readable
  readonly #exited: Promise<void>

  constructor(python: string) {
    this.#child = spawn(python, ['-I', '-S', '-c', BULK_PEER], {
      stdio: ['ignore', 'inherit', 'inherit', 'pipe', 'pipe'],
    })
    this.#exited = new Promise((resolve) => this.#child.once('exit', () => resolve()))
    this.#toPython = this.#child.stdio[3] as Writable
    this.#fromPython = this.#child.stdio[4] as Readable
  }

  /** Milliseconds for Python to send `size` bytes in frames and Node to gather them into one buffer. */
  toNode(size: number): Promise<number> {
    const whole = Buffer.allocUnsafe(size)
    const started = performance.now()
    let at = 0
    let header = 0
    let frameLeft = 0
    return new Promise((resolve) => {
      const onData = (chunk: Buffer) => {
        let offset = 0
        while (offset < chunk.length) {
          if (frameLeft === 0) {
            header += 1
            offset += 1
            if (header === 4) {
              header = 0
              frameLeft = Math.min(CHUNK_BYTES, size - at)
            }
            continue
          }
          const take = Math.min(frameLeft, chunk.length - offset)
          chunk.copy(whole, at, offset, offset + take)
          at += take
          offset += take
          frameLeft -= take
        }
        if (at === size) {
          this.#fromPython.off('data', onData)
          resolve(performance.now() - started)
        }
      }
      this.#fromPython.on('data', onData)
      this.#command('s', size)
    })
  }

  /** Milliseconds for Node to send `size` bytes in frames and Python to read them into one buffer. */
  toPython(size: number): Promise<number> {
    const payload = Buffer.alloc(size, 120)
    const started = performance.now()
    return new Promise((resolve) => {
      const onData = () => {
        this.#fromPython.off('data', onData)
        resolve(performance.now() - started)
      }
      this.#fromPython.on('data', onData)
      this.#command('r', size)
      for (let at = 0; at < size; at += CHUNK_BYTES) {
        const body = payload.subarray(at, at + CHUNK_BYTES)
        const prefix = Buffer.allocUnsafe(4)
        prefix.writeUInt32BE(body.length, 0)
        this.#toPython.write(prefix)
        this.#toPython.write(body)
      }
    })
  }

  #command(kind: 's' | 'r', size: number): void {
    const head = Buffer.alloc(9)
    head.write(kind, 0, 'latin1')
    head.writeBigUInt64BE(BigInt(size), 1)
    this.#toPython.write(head)
  }

  async close(): Promise<void> {
    this.#toPython.end()
    this.#child.kill()
    await this.#exited
  }
}

// The attacks of the hostile-worker suite: Python cells that write forged frames straight onto the worker's
// protocol pipe (fd 4, as any cell can), and the report hostileHost.ts prints for each.

/** What one attack did to the host. */
export interface AttackReport {
  name: string
  outcome:
    | {
        kind: 'result'
        status: string
        value: string | undefined
        stdoutBytes: number
        stderrTail: string
        outputTruncatedBytes: number
        displays: number
        displayBytes: number
        displayTruncatedBytes: number
        stateLost: boolean
        /** Events an execute() consumer read after the end (streaming attacks). */
        events?: number
      }
    | { kind: 'error'; code: string; message: string; details: Record<string, unknown> }
  /** `1 + 1` on the attacked session afterwards (restarted when the attack ended its worker). */
  after: string | undefined
  calls: { allowed: number; denied: number; failed: number }
  peakPendingCallBytes: number
  bystander: { runs: number; p50: number; p99: number; max: number }
  /** How late the host's event loop ran timers during the attack (ms). */
  loopDelay: { p99: number; max: number }
  rss: { idleMiB: number; peakMiB: number; afterMiB: number }
  durationMs: number
}

/** The attacked execution is the second of its worker: the prelude is the first. */
const EID = 2

// Forging helpers, run as the first cell of every attacked session. Heartbeats are off for these sessions,
// so nothing else writes on the pipe while a cell (which prints nothing) forges frames.
export const prelude = (codec: string): string => `
import os, struct, json, time
try:
    import msgpack
except ImportError:
    msgpack = None
FD = int(os.environ.get("CAPSULE_FD_OUT", "4"))
CODEC = ${JSON.stringify(codec)}
EID = ${EID}
def encode(message):
    if CODEC == "msgpack":
        return msgpack.packb(message, use_bin_type=True)
    return json.dumps(message).encode()
def raw(data):
    view = memoryview(data)
    while view:
        view = view[os.write(FD, view):]
def frame(body):
    raw(struct.pack(">I", len(body)) + body)
def forge(message):
    frame(encode(message))
def mp(value):
    return msgpack.packb(value, use_bin_type=True)
`

/** What the host must make of an attack: end that worker with this error, or finish the cell this way. */
export type Expected =
  | { error: 'PROTOCOL_ERROR' | 'LIMIT_EXCEEDED'; limit?: string }
  | { status: 'ok' | 'timeout' }

/** One attack: a cell, how long its execution may take, whether it runs as an unread execute() stream. */
export interface Attack {
  code: string
  expected: Expected
  timeoutMs?: number
  streaming?: boolean
}

// Each cell ends its forging with a pause, so a worker the host ends dies mid-cell rather than answering.
const hold = '\ntime.sleep(30)'

/** Every attack, by name. */
export const ATTACKS: Record<string, Attack> = {
  // ── oversized floods ────────────────────────────────────────────────────────────────────────
  'stream: 40 frames of 15 MiB': {
    expected: { status: 'ok' },
    code: 'text = "x" * (15 << 20)\nfor _ in range(40):\n    forge({"type": "stream", "id": EID, "name": "stdout", "text": text})\n"done"',
  },
  'display: 40 frames of 15 MiB': {
    expected: { status: 'ok' },
    code: 'text = "x" * (15 << 20)\nfor _ in range(40):\n    forge({"type": "display", "id": EID, "data": {"text/plain": text, "text/html": "<b>x</b>"}, "metadata": {}})\n"done"',
  },
  'input: 700 pending calls carrying 15 MiB each': {
    expected: { status: 'timeout' },
    code: 'junk = "x" * (15 << 20)\nfor i in range(700):\n    forge({"type": "call", "id": 1_000_000 + i, "exec": EID, "capability": "io.input", "args": {"prompt": "?", "junk": junk}})\n"done"',
    timeoutMs: 4000,
  },
  // ── wide and deep ───────────────────────────────────────────────────────────────────────────
  'call: 700,000 keys in one frame': {
    expected: { error: 'LIMIT_EXCEEDED', limit: 'maxFrameKeys' },
    code: `args = {"k%d" % i: i for i in range(700_000)}\nforge({"type": "call", "id": 1_000_000, "exec": EID, "capability": "io.input", "args": args})${hold}`,
  },
  'display: 5,000,000 array items': {
    expected: { error: 'LIMIT_EXCEEDED', limit: 'maxFrameItems' },
    code: `forge({"type": "display", "id": EID, "data": {"application/json": [0] * 5_000_000}, "metadata": {}})${hold}`,
  },
  'display: nested 100,000 deep': {
    expected: { error: 'LIMIT_EXCEEDED', limit: 'maxFrameDepth' },
    code: `if CODEC == "msgpack":\n    body = b"\\x83" + mp("type") + mp("display") + mp("id") + mp(EID) + mp("data") + b"\\x91" * 100_000 + b"\\xc0"\nelse:\n    body = ('{"type": "display", "id": %d, "data": ' % EID + "[" * 100_000 + "]" * 100_000 + "}").encode()\nframe(body)${hold}`,
  },
  'display: 200 frames of 9,990 keys at full speed (under the limits)': {
    expected: { status: 'ok' },
    code: 'data = {"application/json": {"key_%d" % i: i for i in range(9_990)}}\nbody = encode({"type": "display", "id": EID, "data": data, "metadata": {}})\nfor _ in range(200):\n    frame(body)\n"done"',
  },
  // ── malformed ───────────────────────────────────────────────────────────────────────────────
  'a length prefix of 4 GiB': {
    expected: { error: 'PROTOCOL_ERROR', limit: 'maxFrameBytes' },
    code: `raw(struct.pack(">I", 0xFFFFFFF0) + b"x" * 64)${hold}`,
  },
  'an empty frame': { expected: { error: 'PROTOCOL_ERROR' }, code: `raw(struct.pack(">I", 0))${hold}` },
  'a 15 MiB undecodable body': {
    expected: { error: 'PROTOCOL_ERROR' },
    code: `frame(b"\\xc1" * (15 << 20))${hold}`,
  },
  'a body that is not a map': {
    expected: { error: 'PROTOCOL_ERROR' },
    code: `frame(mp(42) if CODEC == "msgpack" else b"42")${hold}`,
  },
  'a stream whose text is a number': {
    expected: { error: 'PROTOCOL_ERROR' },
    code: `forge({"type": "stream", "id": EID, "name": "stdout", "text": 5})${hold}`,
  },
  'an unknown message type': {
    expected: { error: 'PROTOCOL_ERROR' },
    code: `forge({"type": "bogus", "id": EID})${hold}`,
  },
  'a __proto__ key': {
    expected: { error: 'PROTOCOL_ERROR' },
    code: `if CODEC == "msgpack":\n    body = b"\\x82" + mp("type") + mp("call") + mp("args") + b"\\x81" + mp("__proto__") + b"\\x80"\nelse:\n    body = b'{"type": "call", "id": 5, "exec": null, "capability": "x", "args": {"__proto__": {"a": 1}}}'\nframe(body)${hold}`,
  },
  'invalid UTF-8 in a JSON frame, or a bad msgpack string header': {
    expected: { error: 'PROTOCOL_ERROR' },
    code: `frame(b'{"type": "stream", "id": 2, "name": "stdout", "text": "\\xff\\xfe"}' if CODEC == "json" else b"\\x81\\xa4type\\xdb\\xff\\xff\\xff\\xff")${hold}`,
  },
  'a frame cut short by exit': {
    expected: { error: 'PROTOCOL_ERROR' },
    code: 'raw(struct.pack(">I", 100) + b"abc")\nos._exit(0)',
  },
  // ── out of order ────────────────────────────────────────────────────────────────────────────
  'a result for an execution that is not running': {
    expected: { error: 'PROTOCOL_ERROR' },
    code: `forge({"type": "result", "id": 999, "count": 1, "value": None})${hold}`,
  },
  'a stream for an execution that is not running': {
    expected: { error: 'PROTOCOL_ERROR' },
    code: `forge({"type": "stream", "id": 999, "name": "stdout", "text": "x"})${hold}`,
  },
  'a second hello': {
    expected: { error: 'PROTOCOL_ERROR' },
    code: `forge({"type": "hello", "protocol": 1, "codec": CODEC, "worker": {"python": "3", "implementation": "cpython", "executable": "x", "prefix": "/", "pid": 1, "codecs": [], "startupMs": 1}})${hold}`,
  },
  'a second ready': {
    expected: { error: 'PROTOCOL_ERROR' },
    code: `forge({"type": "ready", "capabilities": []})${hold}`,
  },
  'a call id reused while pending': {
    expected: { error: 'PROTOCOL_ERROR' },
    code: `for _ in range(2):\n    forge({"type": "call", "id": 1_000_000, "exec": EID, "capability": "io.input", "args": {"prompt": "?"}})${hold}`,
  },
  // ── full speed, within the limits: the worker lives on ──────────────────────────────────────
  'call_cancel for unknown ids, 100,000 at full speed': {
    expected: { status: 'ok' },
    code: 'body = encode({"type": "call_cancel", "id": 5_000_000})\nraw((struct.pack(">I", len(body)) + body) * 100_000)\n"survived"',
  },
  'heartbeats, 200,000 at full speed': {
    expected: { status: 'ok' },
    code: 'body = encode({"type": "heartbeat", "seq": 1})\nraw((struct.pack(">I", len(body)) + body) * 200_000)\n"survived"',
  },
  'one-character stream frames, 200,000 at full speed': {
    expected: { status: 'ok' },
    code: 'body = encode({"type": "stream", "id": EID, "name": "stdout", "text": "x"})\nraw((struct.pack(">I", len(body)) + body) * 200_000)\n"survived"',
  },
  'an execute() nobody reads: 200,000 one-character streams and 20,000 denied calls': {
    expected: { status: 'ok' },
    code: 'body = encode({"type": "stream", "id": EID, "name": "stdout", "text": "x"})\nraw((struct.pack(">I", len(body)) + body) * 200_000)\nbodies = b"".join(struct.pack(">I", len(b)) + b for b in (encode({"type": "call", "id": 3_000_000 + i, "exec": EID, "capability": "nope.nothing", "args": {"k%d" % j: "v" * 200 for j in range(40)}}) for i in range(20_000)))\nraw(bodies)\n"survived"',
    streaming: true,
  },
  'calls to a capability nobody granted, 50,000 at full speed': {
    expected: { status: 'ok' },
    code: 'bodies = b"".join(struct.pack(">I", len(b)) + b for b in (encode({"type": "call", "id": 2_000_000 + i, "exec": EID, "capability": "nope.nothing", "args": {"a": i}}) for i in range(50_000)))\nraw(bodies)\n"survived"',
  },
}

import type { PromiseKind, PromiseRecord } from '../promises/promiseStore.js'
import type { CallSettlement, PendingCall } from './pendingCall.js'

/**
 * Every capability call in flight in one Capsule, by call id: what `capsule.promises` lists and settles
 * from outside, and where the built-in input provider finds the call that asks. It holds the same
 * {@link PendingCall} objects as the sessions' call tables; a call leaves both when it is answered.
 */
export class CallDirectory {
  readonly #calls = new Map<string, PendingCall>()

  /** How many calls are in flight. */
  get size(): number {
    return this.#calls.size
  }

  add(call: PendingCall): void {
    this.#calls.set(call.id, call)
  }

  remove(call: PendingCall): void {
    if (this.#calls.get(call.id) === call) this.#calls.delete(call.id)
  }

  /** The call with this id, while in flight and not yet settled. */
  get(id: string): PendingCall | undefined {
    const call = this.#calls.get(id)
    return call && !call.settled ? call : undefined
  }

  /** Settles a call from outside (an `input()` answer, a host's verdict). False when none is pending. */
  settle(id: string, settlement: CallSettlement): boolean {
    return this.get(id)?.settle(settlement) ?? false
  }

  /** The `input()` of call `callId` asks the host (the built-in input provider's one way in). */
  ask(request: { callId: string; prompt: string; password: boolean }): void {
    this.get(request.callId)?.ask(request.prompt, request.password)
  }

  /** Snapshots of the pending calls, optionally of one session and of one kind. */
  list(filter: { sessionId?: string; kind?: PromiseKind } = {}): PromiseRecord[] {
    const out: PromiseRecord[] = []
    for (const call of this.#calls.values()) {
      if (call.settled) continue
      if (filter.sessionId !== undefined && call.sessionId !== filter.sessionId) continue
      if (filter.kind !== undefined && call.kind !== filter.kind) continue
      out.push(call.toRecord())
    }
    return out
  }
}

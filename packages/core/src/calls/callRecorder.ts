import type { CallOutcome, PendingCall } from './pendingCall.js'

/**
 * The `record` step of the call pipeline: where a durable journal plugs in. The pipeline calls
 * {@link CallRecorder.beforeRun} once policy, audit and argument checks have passed and before the handler
 * runs, and {@link CallRecorder.afterSettle} once the outcome is known and before Python hears it — so a
 * durable call's result is in the journal before Python sees it.
 *
 * A journal implements it like this: `beforeRun` computes the call's key (capability id, a hash of the
 * canonical arguments, the ordinal among identical calls of the execution), returns the recorded outcome
 * when the key is already settled (the handler then never runs again), and otherwise writes the call as
 * pending; `afterSettle` writes the outcome. Either may return a promise; the pipeline waits for it. The
 * default does nothing and costs nothing.
 */
export interface CallRecorder {
  /** Before the handler runs. A recorded outcome replaces running it; `undefined` lets it run. */
  beforeRun(call: PendingCall): CallOutcome | undefined | Promise<CallOutcome | undefined>
  /**
   * After the call settled, before its answer goes back to the worker. An outcome returned replaces the
   * call's (a durable recorder that could not write the journal fails the call closed).
   */
  afterSettle(
    call: PendingCall,
    outcome: CallOutcome,
    // biome-ignore lint/suspicious/noConfusingVoidType: a recorder that only writes returns nothing at all
  ): CallOutcome | undefined | void | Promise<CallOutcome | undefined | void>
}

/** The default {@link CallRecorder}: records nothing. */
export const noCallRecorder: CallRecorder = {
  beforeRun: () => undefined,
  afterSettle: () => undefined,
}

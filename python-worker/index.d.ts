/** Absolute path of the directory holding the `capsule_worker` and `capsule` Python packages. */
export declare const workerRoot: string
/** The module to run with `python -m` (after `workerRoot` is on `sys.path`). */
export declare const workerEntryModule: string

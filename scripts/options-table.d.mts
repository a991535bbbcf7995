// Types of scripts/options-table.mjs, for the test that keeps docs/host-guide.md in step with it.
export declare const SCHEMA_FILE: string
export declare const HOST_GUIDE: string
export declare const START_MARKER: string
export declare const END_MARKER: string
/** The options table, as Markdown, from the CapsuleOptions type and its TSDoc. */
export declare function renderOptionsTable(): string
/** `markdown` with the section between the markers replaced by `table`. */
export declare function withOptionsTable(markdown: string, table: string): string

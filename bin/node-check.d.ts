/** Oldest Node major roomcast runs on. */
export declare const MIN_NODE_MAJOR: number;
/** What to tell the user when Node `version` (process.versions.node) is too old; undefined when it will do. */
export declare function nodeTooOld(version: string): string | undefined;

// The runtime check the entry point makes before loading anything else: plain
// JavaScript that any Node parses, so an old Node gets a clear message rather
// than a stack trace from a dependency that needs a newer one.

/** Oldest Node major roomcast runs on; the project targets 24 LTS. */
export const MIN_NODE_MAJOR = 22;

/**
 * @param {string} version process.versions.node, e.g. "24.22.3"
 * @returns {string | undefined} what to tell the user when `version` is too old
 */
export function nodeTooOld(version) {
  const major = Number.parseInt(version.split('.')[0] ?? '', 10);
  if (Number.isInteger(major) && major >= MIN_NODE_MAJOR) return undefined;
  return (
    `roomcast needs Node.js ${MIN_NODE_MAJOR} or newer (24 LTS recommended); this is Node.js ${version}.\n` +
    `In a checkout, '. scripts/use-node.sh' puts Node 24 first on PATH for this shell.`
  );
}

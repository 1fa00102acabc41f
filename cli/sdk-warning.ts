/**
 * Imported first by every entry point (the CLIs, `npm start`, the benchmark). The AWS SDK prints a
 * 9-line NodeVersionSupportWarning on Node 20 from every command; its documented switch
 * (aws/aws-sdk-js-v3#7983) turns it off, and one line of ours, on a terminal, says what to do
 * instead. The tests' setup sets the switch too.
 */
export const SDK_NODE_WARNING_SWITCH = 'AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED';
/** The AWS SDK's releases after the first week of January 2027 need this Node.js major version. */
export const SDK_MIN_NODE_MAJOR = 22;

/** The note for this Node.js version, if it is older than the SDK's minimum. */
export function nodeVersionNote(version = process.versions.node): string | undefined {
  const major = Number(version.split('.')[0]);
  return major < SDK_MIN_NODE_MAJOR
    ? `note: Node.js ${version}: upgrade to Node.js ${SDK_MIN_NODE_MAJOR} or later (the AWS SDK drops Node.js ${major} in January 2027).`
    : undefined;
}

if (process.env[SDK_NODE_WARNING_SWITCH] === undefined) {
  process.env[SDK_NODE_WARNING_SWITCH] = 'true';
  // For someone at a terminal; not in a log, nor in the output a script or a test reads.
  const note = process.stderr.isTTY ? nodeVersionNote() : undefined;
  if (note) process.stderr.write(`${note}\n`);
}

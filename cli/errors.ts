/**
 * How the CLI reports a failure: always one line, never a Node stack trace.
 * Typed tsbpf errors print their message; file-system errors name the path and
 * the cause; anything else a user's module threw (an Error or not) is reported
 * with the first stack frame inside that module, as `file:line:col`
 * (dsl/compile/user-code.ts).
 */
import { TsbpfError } from '../dsl/errors.js';
import { clip, describeThrown, soleUserModule, userFrame } from '../dsl/compile/user-code.js';

export { clip, moduleLoadError, noteUserModule, userFrame, UserCodeError } from '../dsl/compile/user-code.js';

const fsCauses: Record<string, string> = {
  ENOENT: 'no such file or directory',
  EISDIR: 'is a directory',
  ENOTDIR: 'a parent is not a directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EEXIST: 'already exists',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on device',
  EMFILE: 'too many open files',
};

/** One line for a Node system error (`fs` and friends): what was done to which path, and why it failed. */
function systemErrorLine(err: NodeJS.ErrnoException): string | undefined {
  if (typeof err.code !== 'string' || !/^E[A-Z]+$/.test(err.code) || typeof err.syscall !== 'string') return undefined;
  const cause = fsCauses[err.code] ?? err.message.replace(/^E[A-Z]+: /, '').replace(/,.*$/, '');
  const path = err.path ? ` ${err.path}` : '';
  const dest = (err as { dest?: string }).dest;
  return `cannot ${err.syscall}${path}${dest ? ` -> ${dest}` : ''}: ${cause} (${err.code})`;
}

/** Turns any thrown value into the one line the CLI prints after `tsbpf: `. */
export function formatCliError(err: unknown): string {
  if (err instanceof TsbpfError) return err.message;
  if (err instanceof Error) {
    const sys = systemErrorLine(err as NodeJS.ErrnoException);
    if (sys) return sys;
    const at = userFrame(err.stack);
    const what = `${err.name || 'Error'}: ${clip(err.message, 2000)}`;
    if (at) return `${at}: ${what}`;
    return `internal error (${what}); please report it with the command that caused it`;
  }
  const from = soleUserModule();
  return `${from ? `${from}: ` : ''}a non-Error value was thrown: ${clip(describeThrown(err))}`;
}


/**
 * File reads and writes of CLI commands, failing with one typed line that names
 * the file and its role (`cannot write object file /x/y.o: directory /x does not exist`)
 * instead of a Node fs stack trace.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { TsbpfError } from '../dsl/errors.js';

/** A file the CLI could not read or write. */
export class CliFileError extends TsbpfError {}

function reason(err: unknown, path: string, writing: boolean): string {
  const code = (err as NodeJS.ErrnoException)?.code;
  switch (code) {
    case 'ENOENT':
      return writing ? `directory ${dirname(path)} does not exist` : 'no such file';
    case 'EISDIR':
      return 'it is a directory';
    case 'ENOTDIR':
      return 'a component of the path is not a directory';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EROFS':
      return 'read-only file system';
    default:
      return code ? `${code}` : String((err as Error)?.message ?? err);
  }
}

/** The bytes of `path`; `what` names its role ("BTF file", "assembly source"). */
export function readInputFile(path: string, what: string): Uint8Array {
  try {
    return new Uint8Array(readFileSync(path));
  } catch (err) {
    throw new CliFileError('CLI_FILE', `cannot read ${what} ${path}: ${reason(err, path, false)}`, { cause: err });
  }
}

/** The text of `path` (UTF-8). */
export function readInputText(path: string, what: string): string {
  return new TextDecoder().decode(readInputFile(path, what));
}

/** Writes `data` to `path`; `what` names its role ("object file"). */
export function writeOutputFile(path: string, data: Uint8Array | string, what: string): void {
  try {
    writeFileSync(path, data);
  } catch (err) {
    throw new CliFileError('CLI_FILE', `cannot write ${what} ${path}: ${reason(err, path, true)}`, { cause: err });
  }
}

/**
 * Gate for tests that read the machine's UAPI headers (package linux-libc-dev):
 * skipped locally when missing, a failure in CI (which installs the package).
 */
import { existsSync } from 'node:fs';
import { inCI } from '../support/env.js';

/** Directory holding linux/bpf.h. */
export const INCLUDE_DIR = '/usr/include';

/** True when the UAPI headers are installed; throws in CI when they are not. */
export function needUapiHeaders(): boolean {
  if (existsSync(`${INCLUDE_DIR}/linux/bpf.h`) && existsSync(`${INCLUDE_DIR}/linux/version.h`)) return true;
  if (inCI) throw new Error('CI=true but /usr/include/linux/bpf.h is missing (install linux-libc-dev)');
  return false;
}

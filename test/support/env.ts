/**
 * Test gates shared by every suite. A test that needs an external tool or the
 * kernel asks here first: locally it is skipped with a reason when the thing is
 * missing; in CI (`CI=true`) the same test fails instead, so CI can never go green
 * by skipping.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/** True when running under CI, where missing prerequisites are failures. */
export const inCI = process.env.CI === 'true' || process.env.CI === '1';

/** Whether an executable is on PATH. */
export function hasTool(name: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Whether this process can use bpf() for real (root and a BPF filesystem). */
export function hasKernel(): boolean {
  return process.getuid?.() === 0 && existsSync('/sys/fs/bpf') && existsSync('/sys/kernel/btf/vmlinux');
}

/**
 * Returns true when the prerequisites are there. When they are not: throws in CI,
 * returns false locally (callers use `it.skipIf(!need(...))` or early-return with
 * `ctx.skip()`).
 */
export function need(what: { tools?: string[]; kernel?: boolean }): boolean {
  const missing: string[] = [];
  for (const t of what.tools ?? []) if (!hasTool(t)) missing.push(t);
  if (what.kernel && !hasKernel()) missing.push('root + bpf() + bpffs');
  if (missing.length === 0) return true;
  if (inCI) throw new Error(`CI=true but prerequisites are missing: ${missing.join(', ')}`);
  return false;
}

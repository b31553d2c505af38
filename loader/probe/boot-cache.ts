/**
 * The probe's answers kept for the rest of the boot. A full probe is ~6,000
 * verifier loads (~0.1–0.2 s), and its answers cannot change while the same
 * kernel runs with the same privileges and settings — so `tsbpf build --target
 * host`, `lb up`, the agent and `tsbpf probe` itself reuse them instead of
 * asking the verifier again.
 *
 * An entry is keyed by everything that can change an answer without a reboot:
 * the boot (`/proc/sys/kernel/random/boot_id`, so a new kernel never sees an old
 * entry), the kernel's version string, the caller's uid, effective
 * capabilities and seccomp mode, the lockdown level, the JIT and unprivileged-BPF sysctls, the
 * module BTF loaded (kfuncs and types live there), the probe's own code (a
 * changed tsbpf re-probes) and the probe options. The system section is never
 * cached: it is read live on every call.
 *
 * Where: `$TSBPF_PROBE_CACHE` (a directory, or `off`), else `/run/tsbpf` for
 * root (tmpfs: emptied by a reboot anyway), else `$XDG_RUNTIME_DIR/tsbpf`, else
 * nothing. A directory is used only if this user owns it and nobody else can
 * write to it; an entry that does not parse, has another key or another shape
 * is ignored and replaced. Nothing here throws: a cache that cannot be used is
 * no cache.
 */
import { createHash } from 'node:crypto';
import { lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SectionName, SystemInfo } from './result.js';

/** Bumped when the entry layout changes. */
const FORMAT = 1;
const FILE_PREFIX = 'probe-';

/** A random id per CLI bundle build (esbuild `define`); absent from the sources and dist/. */
declare const __TSBPF_BUILD_ID__: string | undefined;

/** What an entry holds: the kernel sections by name, as the report has them. */
export interface BootCacheEntry {
  readonly format: number;
  readonly key: string;
  /** When the kernel was asked (ISO 8601). */
  readonly probedAt: string;
  /** Where type and helper names came from when the sections were probed. */
  readonly catalogSource: string;
  readonly sections: Readonly<Partial<Record<SectionName, unknown>>>;
}

/** A cache directory and the key of this process's entry in it. */
export interface BootCache {
  readonly file: string;
  readonly key: string;
}

const readText = (path: string): string => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
};

/** The cache directory for this process, or undefined when there is none (see the module comment). */
export function bootCacheDir(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const configured = env.TSBPF_PROBE_CACHE;
  if (configured !== undefined && configured !== '') return configured === 'off' || configured === '0' ? undefined : configured;
  if (process.getuid?.() === 0) return '/run/tsbpf';
  return env.XDG_RUNTIME_DIR ? join(env.XDG_RUNTIME_DIR, 'tsbpf') : undefined;
}

let identity: string | undefined;

/**
 * The probe code's identity: the bundle's build id, else a hash of this
 * directory's modules (the probe sources under tsx/vitest, or dist/loader/probe).
 */
function codeIdentity(): string {
  if (identity !== undefined) return identity;
  if (typeof __TSBPF_BUILD_ID__ === 'string') return (identity = __TSBPF_BUILD_ID__);
  const here = fileURLToPath(import.meta.url);
  const ext = here.slice(here.lastIndexOf('.'));
  const dir = dirname(here);
  const h = createHash('sha256');
  try {
    for (const f of readdirSync(dir).sort()) if (f.endsWith(ext)) h.update(f).update('\0').update(readFileSync(join(dir, f))).update('\0');
  } catch {
    h.update(here);
  }
  return (identity = h.digest('hex'));
}

/** The entry key: everything an answer depends on besides the kernel image itself (see the module comment). */
export function bootCacheKey(system: SystemInfo, options: Readonly<Record<string, unknown>>): string {
  let btfModules = '';
  try {
    btfModules = readdirSync('/sys/kernel/btf').sort().join(',');
  } catch {
    /* no BTF directory: nothing to add */
  }
  const status = readText('/proc/self/status');
  const capEff = /^CapEff:\s*([0-9a-f]+)/m.exec(status)?.[1] ?? '';
  // A seccomp filter can refuse some bpf() commands to this process only.
  const seccomp = /^Seccomp:\s*(\d+)/m.exec(status)?.[1] ?? '';
  const parts = {
    format: FORMAT,
    code: codeIdentity(),
    boot: readText('/proc/sys/kernel/random/boot_id').trim(),
    kernel: system.kernel,
    uid: process.geteuid?.() ?? -1,
    capEff,
    seccomp,
    lockdown: readText('/sys/kernel/security/lockdown').trim(),
    unprivileged: system.unprivilegedBpfDisabled,
    jit: system.jit,
    btfModules,
    options,
  };
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex');
}

/** Opens the cache for a key, when this process has a usable cache directory. */
export function openBootCache(key: string, env: NodeJS.ProcessEnv = process.env): BootCache | undefined {
  const dir = bootCacheDir(env);
  if (dir === undefined) return undefined;
  return { file: join(dir, `${FILE_PREFIX}${key.slice(0, 32)}.json`), key };
}

/** Whether the cache directory holds any entry (a cheap hint, before the key is known). */
export function bootCacheHasEntries(env: NodeJS.ProcessEnv = process.env): boolean {
  const dir = bootCacheDir(env);
  if (dir === undefined) return false;
  try {
    return readdirSync(dir).some((f) => f.startsWith(FILE_PREFIX) && f.endsWith('.json'));
  } catch {
    return false;
  }
}

/** A directory this user owns and nobody else may write to (an entry steers builds). */
function trustedDir(dir: string): boolean {
  try {
    const st = lstatSync(dir);
    return st.isDirectory() && st.uid === (process.geteuid?.() ?? st.uid) && (st.mode & 0o022) === 0;
  } catch {
    return false;
  }
}

/** The entry for the cache's key, if there is a valid one. */
export function readBootCache(cache: BootCache): BootCacheEntry | undefined {
  if (!trustedDir(dirname(cache.file))) return undefined;
  let entry: unknown;
  try {
    entry = JSON.parse(readFileSync(cache.file, 'utf8'));
  } catch {
    return undefined;
  }
  if (typeof entry !== 'object' || entry === null) return undefined;
  const e = entry as Partial<BootCacheEntry>;
  if (e.format !== FORMAT || e.key !== cache.key || typeof e.probedAt !== 'string' || typeof e.catalogSource !== 'string') return undefined;
  if (typeof e.sections !== 'object' || e.sections === null) return undefined;
  for (const v of Object.values(e.sections)) if (typeof v !== 'object' || v === null) return undefined;
  return e as BootCacheEntry;
}

/**
 * Writes the entry (atomically: a reader sees the old file or the new one) and
 * removes entries of other keys, which can never match again in this boot
 * except after a setting is changed back. Returns whether it was written.
 */
export function writeBootCache(cache: BootCache, entry: Omit<BootCacheEntry, 'format' | 'key'>): boolean {
  const dir = dirname(cache.file);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    if (!trustedDir(dir)) return false;
    const tmp = `${cache.file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify({ format: FORMAT, key: cache.key, ...entry }), { mode: 0o600 });
    renameSync(tmp, cache.file);
    for (const f of readdirSync(dir))
      if (f.startsWith(FILE_PREFIX) && join(dir, f) !== cache.file && !f.endsWith('.tmp')) rmSync(join(dir, f), { force: true });
    return true;
  } catch {
    return false;
  }
}

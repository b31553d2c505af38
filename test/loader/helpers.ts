/** Shared helpers for loader kernel tests: bpffs dirs, bpftool, fd counts. */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A per-test bpffs directory; `close()` removes every pin in it (and unmounts a private bpffs). */
export interface PinDir {
  readonly path: string;
  close(): void;
}

/**
 * A fresh pin directory for one test: under /sys/fs/bpf when a bpffs is
 * mounted there, otherwise on a private bpffs instance mounted on a temporary
 * directory (every bpffs mount is its own instance, invisible elsewhere).
 */
export function makePinDir(tag: string): PinDir {
  const unique = `tsbpf-test-${tag}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const bpffsAtSys = readFileSync('/proc/mounts', 'utf8')
    .split('\n')
    .some((l) => {
      const f = l.split(' ');
      return f[1] === '/sys/fs/bpf' && f[2] === 'bpf';
    });
  if (bpffsAtSys) {
    const path = join('/sys/fs/bpf', unique);
    mkdirSync(path);
    return { path, close: () => rmSync(path, { recursive: true, force: true }) };
  }
  const path = mkdtempSync(join(tmpdir(), `${unique}-`));
  execFileSync('mount', ['-t', 'bpf', 'bpf', path], { stdio: 'pipe' });
  // A fresh bpffs may hold the kernel's own preload entries (maps.debug, progs.debug); leave them.
  const preexisting = new Set(readdirSync(path));
  return {
    path,
    close() {
      try {
        for (const f of readdirSync(path)) if (!preexisting.has(f)) rmSync(join(path, f), { recursive: true, force: true });
      } finally {
        execFileSync('umount', [path], { stdio: 'pipe' });
        rmSync(path, { recursive: true, force: true });
      }
    },
  };
}

/** Number of open fds of this process. */
export function fdCount(): number {
  return readdirSync('/proc/self/fd').length;
}

/** `bpftool -j map dump id N`, as bytes per entry (per-CPU maps: one value per CPU). */
export function bpftoolDump(id: number): { key: number[]; value?: number[]; values?: number[][] }[] {
  const raw = JSON.parse(execFileSync('bpftool', ['-j', 'map', 'dump', 'id', String(id)], { encoding: 'utf8' })) as {
    key: string[];
    value?: string[];
    values?: { cpu: number; value: string[] }[];
  }[];
  const bytes = (xs: string[]) => xs.map((x) => Number.parseInt(x, 16));
  return raw.map((e) => ({
    key: bytes(e.key),
    ...(e.value ? { value: bytes(e.value) } : {}),
    ...(e.values ? { values: e.values.sort((a, b) => a.cpu - b.cpu).map((v) => bytes(v.value)) } : {}),
  }));
}

/** `bpftool -j map show id N`. */
export function bpftoolMapShow(id: number): { id: number; type: string; name?: string; bytes_key: number; bytes_value: number; max_entries: number; flags: number; frozen?: number } {
  return JSON.parse(execFileSync('bpftool', ['-j', 'map', 'show', 'id', String(id)], { encoding: 'utf8' }));
}

/** Little-endian bytes of an unsigned integer. */
export function le(v: number | bigint, size: number): Uint8Array {
  const out = new Uint8Array(size);
  let x = BigInt(v);
  for (let i = 0; i < size; i++, x >>= 8n) out[i] = Number(x & 0xffn);
  return out;
}

/** Unsigned little-endian integer of bytes. */
export function fromLe(b: Uint8Array | number[]): bigint {
  let x = 0n;
  for (let i = b.length - 1; i >= 0; i--) x = (x << 8n) | BigInt(b[i]!);
  return x;
}

/** Shared helpers for loader kernel tests: bpftool, fd counts (bpffs dirs: test/support/bpffs.ts). */
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';

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

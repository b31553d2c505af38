import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { need } from '../support/env.js';
import { decodeBtf, encodeBtf, formatBtfRaw } from '../../dsl/btf/index.js';

const VMLINUX = '/sys/kernel/btf/vmlinux';
const ok = need({ tools: ['bpftool'] }) && (existsSync(VMLINUX) || need({ kernel: true }));

describe.skipIf(!ok)('vmlinux BTF of the running kernel', () => {
  it('decodes completely: type count and per-kind counts match bpftool, listing is identical', () => {
    const bytes = new Uint8Array(readFileSync(VMLINUX));
    const g = decodeBtf(bytes);
    const raw = execFileSync('bpftool', ['btf', 'dump', 'file', VMLINUX, 'format', 'raw'], { encoding: 'utf8', maxBuffer: 1 << 30 });
    const theirCounts = new Map<string, number>();
    let theirTotal = 0;
    let lastId = 0;
    for (const line of raw.split('\n')) {
      const m = /^\[(\d+)\] ([A-Z_0-9]+) /.exec(line);
      if (!m) continue;
      theirTotal++;
      lastId = Number(m[1]);
      theirCounts.set(m[2]!, (theirCounts.get(m[2]!) ?? 0) + 1);
    }
    expect(theirTotal).toBeGreaterThan(10_000);
    expect(g.types.length).toBe(theirTotal);
    expect(g.nextId - 1).toBe(lastId);
    const ours = new Map([...g.countByKind()].map(([k, n]) => [k.toUpperCase(), n]));
    expect(Object.fromEntries(ours)).toEqual(Object.fromEntries(theirCounts));
    // every line of bpftool's listing, not just the counts
    expect(formatBtfRaw(g) === raw).toBe(true);
    // lookups by name work on the big graph
    const task = g.lookup('task_struct', 'struct');
    expect(task.type.members.some((m) => m.name === 'pid')).toBe(true);
    expect(g.sizeOf(g.lookup('u64', 'typedef').id)).toBe(8);
  });

  it('re-encodes byte-identically', () => {
    const bytes = new Uint8Array(readFileSync(VMLINUX));
    expect(Buffer.from(encodeBtf(decodeBtf(bytes))).equals(Buffer.from(bytes))).toBe(true);
  });

  it('decodes split BTF on top of vmlinux', async () => {
    const { BtfBuilder } = await import('../../dsl/btf/index.js');
    const base = decodeBtf(new Uint8Array(readFileSync(VMLINUX)));
    const b = new BtfBuilder({ base });
    const u32 = base.lookup('u32', 'typedef').id;
    const s = b.struct('my_module_thing', 8, [{ name: 'pid', type: u32, offset: 0 }, { name: 'mine', type: u32, offset: 4 }]);
    expect(s).toBe(base.nextId);
    const bytes = b.encode();
    const split = decodeBtf(bytes, { base });
    expect(split.firstId).toBe(base.nextId);
    expect(split.lookup('my_module_thing').id).toBe(s);
    expect(split.lookup('task_struct', 'struct').id).toBe(base.lookup('task_struct', 'struct').id);
    expect(Buffer.from(encodeBtf(split)).equals(Buffer.from(bytes))).toBe(true);
    // the member name 'pid' is reused from the base string table, 'mine' is new
    const strLen = new DataView(bytes.buffer).getUint32(20, true);
    expect(strLen).toBe('my_module_thing\0mine\0'.length);
    // bpftool reads it too, given the base
    if (need({ tools: ['bpftool'] })) {
      const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
      const dir = mkdtempSync('/tmp/tsbpf-split-');
      try {
        writeFileSync(`${dir}/mod`, bytes);
        const out = execFileSync('bpftool', ['btf', 'dump', 'file', `${dir}/mod`, '--base-btf', VMLINUX, 'format', 'raw'], { encoding: 'utf8' });
        expect(out).toBe(formatBtfRaw(split));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
  });
});

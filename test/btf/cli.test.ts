import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { need } from '../support/env.js';
import { btfDump } from '../../cli/commands/btf.js';
import { createProgram } from '../../cli/main.js';
import { BtfError } from '../../dsl/btf/index.js';
import { compileBpf, fixture } from './helpers.js';

const ok = need({ tools: ['clang-19', 'bpftool'] });

describe.skipIf(!ok)('tsbpf btf dump', () => {
  it('is registered on the CLI', () => {
    const btf = createProgram().commands.find((c) => c.name() === 'btf');
    expect(btf?.commands.map((c) => c.name())).toContain('dump');
  });

  it('reads an ELF object: --raw equals bpftool, C output by default, .BTF.ext summary with CO-RE', () => {
    const obj = compileBpf(fixture('sample.bpf.c'));
    try {
      const theirs = execFileSync('bpftool', ['btf', 'dump', 'file', obj.path, 'format', 'raw'], { encoding: 'utf8' });
      const raw = btfDump(obj.path, { raw: true });
      expect(raw.startsWith(theirs)).toBe(true);
      expect(raw).toMatch(/CO-RE relocations present in kprobe\/x: field_byte_offset\(task_like, 0:1\)/);
      const c = btfDump(obj.path);
      expect(c).toMatch(/struct node \{\n\tstruct node \*next;/);
      const one = btfDump(obj.path, { type: 'flags', raw: true });
      expect(one.split('\n')[0]).toMatch(/^\[\d+\] STRUCT 'flags' size=16 vlen=5$/);
      const json = JSON.parse(btfDump(obj.path, { json: true, type: 'big' })) as { types: { kind: string; values: { value: string }[] }[] };
      expect(json.types[0]!.kind).toBe('enum64');
      expect(json.types[0]!.values[1]!.value).toBe('281474976710655');
    } finally {
      obj.cleanup();
    }
  });

  it('errors clearly: unknown type, object without BTF', () => {
    const obj = compileBpf(fixture('sample.bpf.c'));
    const nog = compileBpf(fixture('sample.bpf.c'), ['-g0']);
    try {
      expect(() => btfDump(obj.path, { type: 'no_such_type' })).toThrow(/no type named 'no_such_type'/);
      expect(() => btfDump(nog.path)).toThrow(BtfError);
      expect(() => btfDump(nog.path)).toThrow(/no \.BTF section/);
    } finally {
      obj.cleanup();
      nog.cleanup();
    }
  });

  it.skipIf(!existsSync('/sys/kernel/btf/vmlinux'))('reads vmlinux: --type prints the type and its dependencies', () => {
    const c = btfDump('/sys/kernel/btf/vmlinux', { type: 'iphdr' });
    expect(c).toMatch(/typedef __u16 __be16;/);
    expect(c.indexOf('typedef __u16 __be16;')).toBeLessThan(c.indexOf('struct iphdr {'));
    const raw = btfDump('/sys/kernel/btf/vmlinux', { type: 'iphdr', raw: true });
    const theirs = execFileSync('bpftool', ['btf', 'dump', 'file', '/sys/kernel/btf/vmlinux', 'format', 'raw'], { encoding: 'utf8', maxBuffer: 1 << 30 });
    const id = /^\[(\d+)\]/.exec(raw)![1];
    const block = theirs.slice(theirs.indexOf(`[${id}] `));
    expect(block.startsWith(raw)).toBe(true);
  });
});

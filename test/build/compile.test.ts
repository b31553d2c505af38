/**
 * `compile()` is the pipeline `tsbpf build` runs: for every example and several
 * profiles its ELF is byte for byte what the CLI writes (run in-process through
 * cli/main, and once as a process). `buildObject` fits as `compile` does: the
 * 4.19 build of examples/big-loop.ts is split (not DSL_TOO_BIG), and every piece
 * loads in the kernel and the chain computes the TypeScript reference.
 */
import { afterAll, describe, expect, it, vi } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../cli/main.js';
import { BuildError, compile, importModule } from '../../dsl/compile/index.js';
import { writeObject } from '../../dsl/elf/index.js';
import { slots } from '../../dsl/isa/index.js';
import { profileByName } from '../../dsl/kernel/index.js';
import { build, buildObject, DslError } from '../../dsl/program/index.js';
import { loadObject } from '../../loader/object/index.js';
import * as bigLoopModule from '../../examples/big-loop.js';
import { need } from '../support/env.js';

const root = join(import.meta.dirname, '..', '..');
const EXAMPLES = ['packet-counter', 'connect4', 'csum-rewrite', 'loops', 'big-loop', 'mixer'] as const;
const PROFILES = ['4.19', '5.10', '6.6'] as const;
const kernel = need({ kernel: true });
const dir = mkdtempSync(join(tmpdir(), 'tsbpf-compile-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function cliBuild(module: string, target: string, out: string): Promise<Buffer> {
  const write = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  try {
    await main(['node', 'tsbpf', 'build', module, '--target', target, '-o', out]);
  } finally {
    write.mockRestore();
  }
  expect(process.exitCode ?? 0, `tsbpf build ${module} --target ${target}`).toBe(0);
  return readFileSync(out);
}

describe('compile() is what tsbpf build writes', () => {
  for (const name of EXAMPLES) {
    it(`${name} on ${PROFILES.join(', ')}`, async () => {
      const module = join(root, 'examples', `${name}.ts`);
      const ns = await importModule(module);
      for (const target of PROFILES) {
        const cli = await cliBuild(module, target, join(dir, `${name}-${target}.o`));
        const lib = compile(ns, { target });
        expect(Buffer.from(lib.elf).equals(cli), `${name}@${target}`).toBe(true);
        expect(lib.profile.name).toBe(target);
        expect(Buffer.from(writeObject(lib.object)).equals(cli)).toBe(true);
      }
    });
  }

  it('the CLI as a process writes the same bytes', () => {
    const out = join(dir, 'proc.o');
    const r = spawnSync(process.execPath, [join(root, 'bin', 'tsbpf.js'), 'build', join(root, 'examples', 'big-loop.ts'), '--target', '4.19', '-o', out], {
      encoding: 'utf8',
      env: { ...process.env, TSBPF_FROM_SOURCE: '1' },
      timeout: 120_000,
    });
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(out).equals(Buffer.from(compile(bigLoopModule, { target: '4.19' }).elf))).toBe(true);
  });
});

describe('compile() inputs', () => {
  it('a namespace, a program list and one program give the same object', () => {
    const fromNs = compile(bigLoopModule, { target: '6.6' }).elf;
    expect(Buffer.from(compile([bigLoopModule.bigLoop], { target: '6.6' }).elf).equals(Buffer.from(fromNs))).toBe(true);
    expect(Buffer.from(compile(bigLoopModule.bigLoop, { target: '6.6' }).elf).equals(Buffer.from(fromNs))).toBe(true);
  });

  it('ObjectSpecs and assembler program specs compile as tsbpf build accepts them', () => {
    const raw = build(bigLoopModule, { target: '6.6' }).object;
    const fromSpec = compile(raw, { target: '6.6' });
    expect(fromSpec.object.programs.map((p) => p.name)).toEqual(['big_loop']);
    const program = raw.programs[0]!;
    const fromParts = compile({ license: 'GPL', program, map: raw.maps![0]! }, { target: '6.6' });
    expect(Buffer.from(fromParts.elf).equals(Buffer.from(fromSpec.elf))).toBe(true);
    const raw419 = build(bigLoopModule, { target: '4.19', skipSizeCheck: true }).object;
    expect(compile([raw419], { target: '4.19' }).object.programs.length).toBeGreaterThan(1);
  });

  it('bad input and targets are typed errors', () => {
    expect(() => compile({ answer: 42 }, { target: '6.6' })).toThrow(BuildError);
    expect(() => compile({ answer: 42 }, { target: '6.6' })).toThrow(/exports no programs/);
    expect(() => compile(bigLoopModule, { target: 'nope' })).toThrow(/unknown target 'nope'/);
  });
});

describe('buildObject fits', () => {
  it('the raw build still refuses big-loop on 4.19; buildObject and compile split it', () => {
    expect(() => build(bigLoopModule, { target: '4.19' })).toThrow(DslError);
    expect(() => build(bigLoopModule, { target: '4.19' })).toThrow(/above the 4096/);
    const spec = buildObject(bigLoopModule, { target: '4.19' });
    expect(spec.programs.length).toBeGreaterThan(1);
    for (const p of spec.programs) expect(p.instructions.reduce((n, i) => n + slots(i), 0)).toBeLessThanOrEqual(4096);
    expect(writeObject(spec)).toEqual(compile(bigLoopModule, { target: '4.19' }).elf);
    expect(buildObject(bigLoopModule, { target: '6.6' }).programs).toHaveLength(1);
  });
});

describe.skipIf(!kernel)('the split big-loop on the kernel', () => {
  it('every piece of the 4.19 buildObject / compile result loads, and the chain computes the reference', () => {
    const spec = buildObject(bigLoopModule, { target: '4.19' });
    const compiled = compile(bigLoopModule, { target: profileByName('4.19') });
    using fromSpec = loadObject(spec, { objectName: 'bigsplit', logLevel: 4 });
    using fromElf = loadObject(compiled.elf, { objectName: 'bigelf' });
    const loaded = fromSpec.describe().programs;
    expect(loaded.map((p) => p.name).sort()).toEqual(spec.programs.map((p) => p.name).sort());
    for (const p of spec.programs) {
      expect(loaded.find((x) => x.name === p.name)!.insns, p.name).toBeLessThanOrEqual(4096);
      expect(fromSpec.program(p.name).verifierStats!.processedInsns!, p.name).toBeLessThanOrEqual(131_072);
    }
    expect(fromElf.describe().programs).toHaveLength(spec.programs.length);
    let seed = 11;
    for (let k = 0; k < 8; k++) {
      const pkt = Uint8Array.from({ length: 64 }, () => ((seed = (seed * 1103515245 + 12345) >>> 0), seed >>> 24));
      const words = [...new Uint32Array(pkt.buffer.slice(0, 16))];
      for (const obj of [fromSpec, fromElf]) {
        expect(obj.program('big_loop').run({ data: pkt }).retval).toBe(0);
        const v = obj.map('big_results').get(0 as never) as Uint8Array;
        expect(new DataView(v.buffer, v.byteOffset, 8).getBigUint64(0, true)).toBe(bigLoopModule.bigLoopReference(words));
      }
    }
  });
});

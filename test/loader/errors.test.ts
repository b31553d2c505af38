/**
 * Error paths against the real kernel: an unprivileged process gets EPERM with
 * the privileges it lacks named; a bad BTF blob is refused with the kernel's
 * own reason; maps reached through the fd array (lddw src 5) resolve.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { BtfBuilder } from '../../dsl/btf/index.js';
import { asm } from '../../dsl/isa/index.js';
import { BpfError, BpfMap, LoadedBtf, Program } from '../../loader/index.js';
import { need } from '../support/env.js';

const kernel = need({ kernel: true });
const setpriv = kernel && need({ tools: ['setpriv'] });
const repo = fileURLToPath(new URL('../..', import.meta.url));

describe.skipIf(!kernel)('error paths', () => {
  it.skipIf(!setpriv)('an unprivileged process gets BpfError EPERM naming root/CAP_BPF/CAP_NET_ADMIN', () => {
    const script = join(tmpdir(), `tsbpf-eperm-${process.pid}.ts`);
    writeFileSync(
      script,
      [
        `import { BpfMap, Program } from ${JSON.stringify(join(repo, 'loader/index.ts'))};`,
        `const out: unknown[] = [];`,
        `for (const f of [() => BpfMap.create({ type: 'HASH', name: 'np', key: 4, value: 4, maxEntries: 1 }),`,
        `                 () => Program.load({ section: 'tc', name: 'np', instructions: [] }, { bytes: new Uint8Array([0xb7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0]) })]) {`,
        `  try { f(); out.push('loaded'); } catch (e) { const x = e as { name: string; code: string; command: string; message: string }; out.push({ name: x.name, code: x.code, command: x.command, message: x.message }); }`,
        `}`,
        `process.stdout.write(JSON.stringify(out));`,
      ].join('\n'),
    );
    chmodSync(script, 0o644);
    try {
      const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'env', `HOME=${tmpdir()}`, process.execPath, '--import', 'tsx', script], {
        cwd: repo,
        encoding: 'utf8',
        timeout: 30_000,
      });
      expect(r.status, r.stderr).toBe(0);
      const [map, prog] = JSON.parse(r.stdout) as { name: string; code: string; command: string; message: string }[];
      expect(map).toMatchObject({ name: 'BpfError', code: 'BPF_EPERM', command: 'BPF_MAP_CREATE' });
      expect(map!.message).toMatch(/run as root or grant CAP_BPF.*CAP_NET_ADMIN/);
      // not a VerifierError: the load is refused before verification
      expect(prog).toMatchObject({ name: 'BpfError', code: 'BPF_EPERM', command: 'BPF_PROG_LOAD' });
    } finally {
      rmSync(script, { force: true });
    }
  });

  it('a malformed BTF blob is refused with the kernel BTF verifier message', () => {
    const b = new BtfBuilder();
    const int = b.int('int', 4, 'signed');
    b.struct('bad', 4, [{ name: 'x', type: int, bitOffset: 64 }]); // member beyond the struct's size
    let err: unknown;
    try {
      LoadedBtf.load(b.encode());
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(BpfError);
    expect((err as BpfError).command).toBe('BPF_BTF_LOAD');
    expect((err as BpfError).errno).toBe('EINVAL');
    expect((err as BpfError).message).toMatch(/rejected the BTF: .*(offset|size)/i);
  });

  it('lddw map-by-index (src 5) resolves through fdArray', () => {
    using a = BpfMap.create({ type: 'ARRAY', name: 'idx0', key: 4, value: 8, maxEntries: 1 });
    using b = BpfMap.create({ type: 'ARRAY', name: 'idx1', key: 4, value: 8, maxEntries: 1 });
    b.set(0, 31n);
    const insns = asm().stw('r10', -4, 0).mov64('r2', 'r10').add64('r2', -4).ldMapIdx('r1', 1).call(1).jeq('r0', 0, 'z').ldxdw('r0', 'r0', 0).exit().label('z').mov64('r0', 0).exit().build();
    using p = Program.load({ section: 'socket', name: 'byidx', instructions: insns }, { fdArray: [a, b] });
    expect(p.run({ data: new Uint8Array(64) }).retval).toBe(31);
  });
});

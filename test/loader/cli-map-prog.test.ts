/**
 * `tsbpf map …` and `tsbpf prog run` (in-process) on pins made here:
 * BTF-typed and raw maps, per-CPU values, update modes, errors on stderr with
 * exit code 1; test runs of a pinned program, of raw instruction bytes and of a
 * clang-19 object with a subprogram.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BtfBuilder } from '../../dsl/btf/index.js';
import { asm, encode } from '../../dsl/isa/index.js';
import { be16, ipv4, pad, schemaToBtf, struct, u16, u32 } from '../../dsl/types/index.js';
import { BpfMap, LoadedBtf, Program } from '../../loader/index.js';
import { createPinDir } from '../support/bpffs.js';
import { runCli, type CliResult } from '../support/cli.js';
import { need } from '../support/env.js';

const kernel = need({ kernel: true });
const clang = kernel && need({ tools: ['clang-19'] });

/** Runs the CLI in this process (fast), capturing its output and exit code. */
function cli(...args: string[]): Promise<CliResult> {
  return runCli(args);
}

const Key = struct('svc_key', { address: ipv4, dport: be16, _pad: pad(2) });
const Val = struct('svc_val', { backend_id: u32, count: u16, _pad: pad(2) });

describe.skipIf(!kernel)('tsbpf map / prog CLI', () => {
  it('lists, dumps, gets, updates and deletes pinned maps; typed through BTF, raw as hex', async () => {
    const dir = createPinDir('cli');
    try {
      const b = new BtfBuilder();
      const k = schemaToBtf(b, Key);
      const v = schemaToBtf(b, Val);
      using btf = LoadedBtf.load(b.encode());
      using svc = BpfMap.create({ type: 'HASH', name: 'svc', key: Key, value: Val, maxEntries: 8 }, { btf: { fd: btf, keyTypeId: k, valueTypeId: v } });
      svc.set({ address: '10.0.0.1', dport: 80 }, { backend_id: 5, count: 2 }).pin(join(dir.path, 'svc'));
      using raw = BpfMap.create({ type: 'PERCPU_ARRAY', name: 'raw', key: 4, value: 4, maxEntries: 2 });
      raw.set(1, 7).pin(join(dir.path, 'raw'));
      using prog = Program.load({ section: 'socket', name: 'ret7', instructions: asm().mov64('r0', 7).exit().build() });
      prog.pin(join(dir.path, 'ret7'));

      const list = await cli('map', 'list', dir.path, '--json');
      expect(list.code).toBe(0);
      const maps = JSON.parse(list.stdout) as { path: string; id: number; type: string; name: string }[];
      expect(maps.map((m) => [m.path, m.type, m.name, m.id]).sort()).toEqual(
        [
          [join(dir.path, 'raw'), 'percpu_array', 'raw', raw.info().id],
          [join(dir.path, 'svc'), 'hash', 'svc', svc.info().id],
        ].sort(),
      );

      const dump = JSON.parse((await cli('map', 'dump', join(dir.path, 'svc'), '--json')).stdout);
      expect(dump.map).toMatchObject({ name: 'svc', keyType: 'struct svc_key', valueType: 'struct svc_val' });
      expect(dump.entries).toEqual([{ key: { address: 0x0a000001, dport: 80, _pad: [0, 0] }, value: { backend_id: 5, count: 2, _pad: [0, 0] } }]);
      const hexDump = JSON.parse((await cli('map', 'dump', join(dir.path, 'svc'), '--json', '--hex')).stdout);
      expect(hexDump.entries).toEqual([{ key: '0a 00 00 01 00 50 00 00', value: '05 00 00 00 02 00 00 00' }]);

      const upd = await cli('map', 'update', join(dir.path, 'svc'), '{"address":"0x0a000002","dport":443}', '{"backend_id":9,"count":1}', '--noexist');
      expect(upd).toMatchObject({ code: 0, stderr: '' });
      expect(svc.get({ address: '10.0.0.2', dport: 443 })).toEqual({ backend_id: 9, count: 1 });
      const again = await cli('map', 'update', join(dir.path, 'svc'), '{"address":167772162,"dport":443}', '{"backend_id":1}', '--noexist');
      expect(again.code).toBe(1);
      expect(again.stderr).toMatch(/EEXIST/);
      const get = await cli('map', 'get', join(dir.path, 'svc'), '{"address":167772162,"dport":443}');
      expect(JSON.parse(get.stdout)).toEqual({ backend_id: 9, count: 1, _pad: [0, 0] });
      expect((await cli('map', 'delete', join(dir.path, 'svc'), '{"address":167772162,"dport":443}')).code).toBe(0);
      expect(svc.has({ address: '10.0.0.2', dport: 443 })).toBe(false);
      const bad = await cli('map', 'update', join(dir.path, 'svc'), '{"address":1,"port":2}', '{}');
      expect(bad.code).toBe(1);
      expect(bad.stderr).toMatch(/no field 'port'/);

      const perCpu = JSON.parse((await cli('map', 'get', join(dir.path, 'raw'), '01 00 00 00', '--json')).stdout);
      expect(perCpu.values).toEqual(Array(raw.valuesPerKey).fill('07 00 00 00'));
      expect((await cli('map', 'update', join(dir.path, 'raw'), '00000000', '2a000000')).code).toBe(0);
      expect(raw.get(0)!.map((x) => x[0])).toEqual(Array(raw.valuesPerKey).fill(0x2a));
      const short = await cli('map', 'get', join(dir.path, 'raw'), '0100');
      expect(short.stderr).toMatch(/key must be 4 bytes, got 2/);
      expect((await cli('map', 'dump', join(dir.path, 'ret7'))).stderr).toMatch(/pinned prog, not a map/);
      expect((await cli('map', 'dump', join(dir.path, 'nothing'))).stderr).toMatch(/ENOENT.*nothing/);

      const pr = JSON.parse((await cli('prog', 'run', join(dir.path, 'ret7'), '--data', '00'.repeat(40), '--repeat', '3', '--json')).stdout);
      expect(pr).toMatchObject({ retval: 7, repeat: 3, program: { name: 'ret7', type: 'socket_filter' } });
    } finally {
      dir.cleanup();
    }
  });

  it('runs raw instruction files and clang-19 objects', async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'tsbpf-prog-run-'));
    try {
      // raw bytes: XDP returning the first packet byte
      writeFileSync(join(tmp, 'first.bin'), encode(asm().ldxw('r2', 'r1', 0).ldxw('r3', 'r1', 4).mov64('r4', 'r2').add64('r4', 1).mov64('r0', 0).jgt('r4', 'r3', 1).ldxb('r0', 'r2', 0).exit().build()));
      writeFileSync(join(tmp, 'pkt.bin'), new Uint8Array([0x63, ...Array(63).fill(0)]));
      const raw = await cli('prog', 'run', join(tmp, 'first.bin'), '--type', 'xdp', '--data', `@${join(tmp, 'pkt.bin')}`);
      expect(raw.stderr).toBe('');
      expect(raw.stdout).toMatch(/^retval 99 \(0x63\)$/m);
      if (!clang) return;
      writeFileSync(
        join(tmp, 'prog.c'),
        [
          'struct __sk_buff { unsigned int len; };',
          '#define SEC(n) __attribute__((section(n), used))',
          'static __attribute__((noinline)) int twice(int x) { return x * 2; }',
          'SEC("tc") int double_len(struct __sk_buff *skb) { return twice(skb->len); }',
          'char _license[] SEC("license") = "GPL";',
        ].join('\n'),
      );
      execFileSync('clang-19', ['-target', 'bpf', '-O2', '-g', '-c', join(tmp, 'prog.c'), '-o', join(tmp, 'prog.o')]);
      const obj = await cli('prog', 'run', join(tmp, 'prog.o'), '--data', '00'.repeat(60), '--json');
      expect(obj.stderr).toBe('');
      expect(JSON.parse(obj.stdout)).toMatchObject({ retval: 120, program: { name: 'double_len', type: 'sched_cls' } });
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});

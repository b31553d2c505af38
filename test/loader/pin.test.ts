/**
 * Pinning against the real kernel: maps and programs pinned in a per-test
 * bpffs directory are reopened by path, survive the exit of the process that
 * pinned them, and errors name the path.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { asm } from '../../dsl/isa/index.js';
import { BpfError, BpfMap, LoaderError, Program } from '../../loader/index.js';
import { createPinDir } from '../support/bpffs.js';
import { need } from '../support/env.js';
import { fromLe } from './helpers.js';

const kernel = need({ kernel: true });
const repo = fileURLToPath(new URL('../..', import.meta.url));

describe.skipIf(!kernel)('pinning', () => {
  it('pins a map and a program, reopens both by path, unpins', () => {
    const dir = createPinDir('pin');
    try {
      using m = BpfMap.create({ type: 'HASH', name: 'pinned', key: 4, value: 8, maxEntries: 4 });
      m.set(3, 333n).pin(join(dir.path, 'map'));
      using p = Program.load({ section: 'socket', name: 'pinned_prog', instructions: asm().mov64('r0', 5).exit().build() });
      p.pin(join(dir.path, 'prog'));
      const ids = { map: m.info().id, prog: p.info().id };
      m.close();
      p.close();

      using m2 = BpfMap.fromPin(join(dir.path, 'map'));
      expect(m2.info().id).toBe(ids.map);
      expect(m2.type).toBe('HASH');
      expect(m2.name).toBe('pinned');
      expect(fromLe(m2.get(3)!)).toBe(333n);
      expect(m2.pinnedPath).toBe(join(dir.path, 'map'));

      using p2 = Program.fromPin(join(dir.path, 'prog'));
      expect(p2.info().id).toBe(ids.prog);
      expect(p2.type).toBe('SOCKET_FILTER');
      expect(p2.run({ data: new Uint8Array(64) }).retval).toBe(5);

      // read-only open: reads work, writes are refused
      using ro = BpfMap.fromPin(join(dir.path, 'map'), { readOnly: true });
      expect(fromLe(ro.get(3)!)).toBe(333n);
      expect(() => ro.set(3, 1n)).toThrow(BpfError);

      // a pin of the other kind is refused, not misread
      expect(() => BpfMap.fromPin(join(dir.path, 'prog'))).toThrow(/is a program, not a map/);
      expect(() => Program.fromPin(join(dir.path, 'map'))).toThrow(/is a map, not a program/);

      m2.unpin();
      expect(existsSync(join(dir.path, 'map'))).toBe(false);
      expect(fromLe(m2.get(3)!)).toBe(333n); // still open
      expect(() => m2.unpin()).toThrow(LoaderError);
    } finally {
      dir.cleanup();
    }
  });

  it('errors name the path: ENOENT on open, EEXIST on a second pin', () => {
    const dir = createPinDir('pinerr');
    try {
      const missing = join(dir.path, 'missing');
      let err: BpfError | undefined;
      try {
        BpfMap.fromPin(missing);
      } catch (e) {
        err = e as BpfError;
      }
      expect(err).toBeInstanceOf(BpfError);
      expect(err!.errno).toBe('ENOENT');
      expect(err!.command).toBe('BPF_OBJ_GET');
      expect(err!.path).toBe(missing);
      expect(err!.message).toContain(missing);

      using m = BpfMap.create({ type: 'ARRAY', name: 'twice', key: 4, value: 4, maxEntries: 1 });
      m.pin(join(dir.path, 'twice'));
      try {
        m.pin(join(dir.path, 'twice'));
        expect.unreachable();
      } catch (e) {
        expect((e as BpfError).errno).toBe('EEXIST');
        expect((e as BpfError).message).toContain(join(dir.path, 'twice'));
      }
    } finally {
      dir.cleanup();
    }
  });

  it('a map pinned by a child process survives its exit and is reopened by the parent', () => {
    const dir = createPinDir('child');
    const script = join(tmpdir(), `tsbpf-pin-child-${process.pid}.ts`);
    try {
      writeFileSync(
        script,
        [
          `import { BpfMap } from ${JSON.stringify(join(repo, 'loader/index.ts'))};`,
          `const m = BpfMap.create({ type: 'HASH', name: 'from_child', key: 4, value: 4, maxEntries: 8 });`,
          `m.set(1, 4242);`,
          `m.pin(process.argv[2]);`,
          `process.stdout.write(JSON.stringify({ id: m.info().id, pid: process.pid }));`,
        ].join('\n'),
      );
      const pinPath = join(dir.path, 'from_child');
      const child = spawnSync(process.execPath, ['--import', 'tsx', script, pinPath], { cwd: repo, encoding: 'utf8', timeout: 30_000 });
      expect(child.status, child.stderr).toBe(0);
      const { id, pid } = JSON.parse(child.stdout) as { id: number; pid: number };
      expect(pid).not.toBe(process.pid);
      using m = BpfMap.fromPin(pinPath);
      expect(m.info().id).toBe(id);
      expect(m.name).toBe('from_child');
      expect(fromLe(m.get(1)!)).toBe(4242n);
    } finally {
      rmSync(script, { force: true });
      dir.cleanup();
    }
  });

  it('checks a pinned map against a spec before reuse', () => {
    const dir = createPinDir('reuse');
    try {
      using m = BpfMap.create({ type: 'LRU_HASH', name: 'ct', key: 16, value: 32, maxEntries: 128 });
      m.pin(join(dir.path, 'ct'));
      using again = BpfMap.fromPin(join(dir.path, 'ct'));
      expect(again.mismatches({ type: 'LRU_HASH', key: 16, value: 32, maxEntries: 128 })).toEqual([]);
      expect(again.mismatches({ type: 'HASH', key: 16, value: 24, maxEntries: 256 })).toEqual([
        'type LRU_HASH ≠ HASH',
        'value size 32 ≠ 24',
        'max entries 128 ≠ 256',
      ]);
    } finally {
      dir.cleanup();
    }
  });

  it('openOrCreate: creates and pins, reuses a matching pin with its contents, refuses or replaces a mismatch', () => {
    const dir = createPinDir('reuse2');
    try {
      const path = join(dir.path, 'ct');
      const spec = { type: 'LRU_HASH', name: 'ct', key: 8, value: 8, maxEntries: 64 } as const;
      const first = BpfMap.openOrCreate(spec, path);
      expect(first).toMatchObject({ created: true, replaced: false });
      first.map.set(1n, 100n);
      const id = first.map.info().id;
      first.map.close();

      const second = BpfMap.openOrCreate(spec, path);
      expect(second).toMatchObject({ created: false, replaced: false, mismatches: [] });
      expect(second.map.info().id).toBe(id);
      expect(fromLe(second.map.get(1n)!)).toBe(100n);
      second.map.close();

      const bigger = { ...spec, maxEntries: 128 };
      expect(() => BpfMap.openOrCreate(bigger, path)).toThrow(/does not match map "ct": max entries 64 ≠ 128; remove the pin/);
      const third = BpfMap.openOrCreate(bigger, path, { onMismatch: 'replace' });
      expect(third).toMatchObject({ created: true, replaced: true, mismatches: ['max entries 64 ≠ 128'] });
      expect(third.map.info().id).not.toBe(id);
      expect(third.map.get(1n)).toBeUndefined();
      using reopened = BpfMap.fromPin(path);
      expect(reopened.info().id).toBe(third.map.info().id);
      third.map.close();
    } finally {
      dir.cleanup();
    }
  });
});

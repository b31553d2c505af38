/**
 * Reproducers of the robustness audit for pinning: `tsbpf load X.o --pin DIR`
 * (and `--pin-maps DIR`) outside bpffs is a clear "not on bpffs" error that
 * leaves no directory behind, and a pin outside bpffs through the library gets
 * that cause as its hint, not "run as root".
 */
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BpfError, BpfMap } from '../../loader/index.js';
import { BPF_FS_MAGIC, isOnBpffs } from '../../loader/sys/bpffs.js';
import { createPinDir } from '../support/bpffs.js';
import { need } from '../support/env.js';
import { expectOneLineError, fixtures, tsbpf } from './cli.js';

const dir = mkdtempSync(join(tmpdir(), 'tsbpf-robust-pin-'));
const object = join(dir, 'map-btf.o');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.skipIf(!need({ kernel: true }))('pinning outside bpffs', () => {
  beforeAll(() => {
    const r = tsbpf(['build', join(fixtures, 'map-btf.ts'), '-o', object, '--target', '6.6'], dir);
    expect(r.stderr).toBe('');
  });

  it('the statfs check tells bpffs (magic 0xcafe4a11) from other filesystems, also for paths not created yet', () => {
    expect(BPF_FS_MAGIC).toBe(0xcafe4a11);
    expect(isOnBpffs(dir)).toBe(false);
    using pins = createPinDir();
    expect(isOnBpffs(pins.path)).toBe(true);
    expect(isOnBpffs(join(pins.path, 'not', 'yet'))).toBe(true);
  });

  it('load --pin DIR outside bpffs: one line naming the cause, and DIR is not created', () => {
    const target = join(dir, 'pins', 'nested');
    const line = expectOneLineError(tsbpf(['load', object, '--pin', target]), /--pin .*nested: not on bpffs \(.* is on [\w ]+\)/);
    expect(line).not.toMatch(/run as root/);
    expect(existsSync(join(dir, 'pins'))).toBe(false);
  });

  it('load --pin-maps DIR outside bpffs behaves like --pin', () => {
    const target = join(dir, 'map-pins');
    expectOneLineError(tsbpf(['load', object, '--pin-maps', target]), /--pin-maps .*map-pins: not on bpffs/);
    expect(existsSync(target)).toBe(false);
  });

  it('load --pin into a new directory on bpffs pins programs and maps there', () => {
    using pins = createPinDir();
    const target = join(pins.path, 'a', 'b');
    const r = tsbpf(['load', object, '--pin', target, '--pin-maps', join(pins.path, 'by-name')]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(readdirSync(target).sort()).toEqual(['lb4_backends', 'touch_backends']);
  });

  it('a failed load removes the pin directories it created', () => {
    using pins = createPinDir();
    const target = join(pins.path, 'fresh');
    expectOneLineError(tsbpf(['load', join(fixtures, 'btf-typedef-cycle.btf'), '--pin', target]), /./);
    expect(existsSync(target)).toBe(false);
  });

  it('BpfMap.pin outside bpffs: EPERM with the real cause as the hint', () => {
    using m = BpfMap.create({ type: 'ARRAY', key: 4, value: 4, maxEntries: 1 });
    let err: unknown;
    try {
      m.pin(join(dir, 'map'));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(BpfError);
    expect((err as BpfError).errno).toBe('EPERM');
    expect((err as BpfError).message).toMatch(/is not on a BPF filesystem \([\w ]+\): pins can only live on bpffs/);
    expect((err as BpfError).message).not.toMatch(/run as root/);
  });
});

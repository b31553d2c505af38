/**
 * Pinned maps across processes: a child process loads an object whose map is
 * pinned by name, writes a value and exits; a second load in this process
 * reuses that map (same kernel id, value still there). A definition that no
 * longer matches the pin is refused with a typed error naming each field, or
 * replaced on request. A failed load removes the pins it created.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { writeObject } from '../../dsl/elf/index.js';
import { asm } from '../../dsl/isa/index.js';
import type { MapSpec, ObjectSpec } from '../../dsl/object/index.js';
import { u32, u64 } from '../../dsl/types/index.js';
import { VerifierError } from '../../loader/errors.js';
import { BpfMap } from '../../loader/maps/map.js';
import { PinnedMapMismatchError, loadObject } from '../../loader/object/index.js';
import { createPinDir } from '../support/bpffs.js';
import { runCli } from '../support/cli.js';
import { need } from '../support/env.js';
import { fromLe, le } from './helpers.js';
import { builderSpec } from './object-fixtures.js';

const ok = need({ kernel: true, tools: ['clang-19', 'bpftool'] });
const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '../..');
const LOADER = pathToFileURL(join(ROOT, 'loader/object/index.ts')).href;

/** An object with one map pinned by name (`conns`, a hash of u32 → u64). */
function pinnedSpec(maxEntries: number, extra: Partial<MapSpec> = {}): ObjectSpec {
  return builderSpec([{ name: 'conns', type: 'HASH', key: u32, value: u64, maxEntries, pinning: 'byName', ...extra }]);
}

/** Runs a child node process that loads `file` with `pinRoot`, writes conns[7] = 4242 and prints the map id. */
async function childLoadAndWrite(file: string, pinRoot: string): Promise<{ id: number; origin: string }> {
  const script = `
    const { tsImport } = await import('tsx/esm/api');
    const { loadObject } = await tsImport(${JSON.stringify(LOADER)}, import.meta.url);
    const obj = loadObject(${JSON.stringify(file)}, { pinRoot: ${JSON.stringify(pinRoot)} });
    const conns = obj.map('conns');
    const key = new Uint8Array([7, 0, 0, 0]);
    const value = new Uint8Array(8);
    new DataView(value.buffer).setBigUint64(0, 4242n, true);
    conns.set(key, value);
    process.stdout.write(JSON.stringify({ id: conns.info().id, origin: obj.mapOrigin('conns') }));
    obj.close();
  `;
  // Evaluated code resolves bare imports from the working directory: the repository root has tsx.
  const r = await run(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT, timeout: 60_000 });
  return JSON.parse(r.stdout) as { id: number; origin: string };
}

describe.skipIf(!ok)('loadObject: pinned maps', () => {
  it('a map pinned by a process that exited is reused by the next load; a mismatch is reported or replaced', async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'tsbpf-objpin-'));
    const pins = createPinDir();
    try {
      const file = join(tmp, 'pinned.o');
      writeFileSync(file, writeObject(pinnedSpec(1024)));
      const child = await childLoadAndWrite(file, pins.path);
      expect(child.origin).toBe('created');
      const path = join(pins.path, 'conns');
      expect(existsSync(path)).toBe(true);

      // Second load (this process): same kernel map, value kept.
      {
        using obj = loadObject(file, { pinRoot: pins.path });
        expect(obj.mapOrigin('conns')).toBe('reused');
        const conns = obj.map('conns');
        expect(conns.info().id).toBe(child.id);
        expect(conns.pinnedPath).toBe(path);
        expect(fromLe(conns.get(le(7, 4))!)).toBe(4242n);
        // Maps without pinning are new on every load.
        expect(obj.mapOrigin('counts')).toBe('created');
      }

      // A definition with another max_entries (and flags): a typed error naming each field; the pin is untouched.
      const bigger = pinnedSpec(2048, { flags: 1 /* NO_PREALLOC */ });
      let error: unknown;
      try {
        loadObject(bigger, { pinRoot: pins.path });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(PinnedMapMismatchError);
      const mismatch = error as PinnedMapMismatchError;
      expect(mismatch.code).toBe('LOADER_PIN_MISMATCH');
      expect(mismatch.mapName).toBe('conns');
      expect(mismatch.path).toBe(path);
      expect(mismatch.differences).toEqual([
        { field: 'max_entries', pinned: 1024, spec: 2048 },
        { field: 'map_flags', pinned: '0x0', spec: '0x1' },
      ]);
      expect(mismatch.message).toContain('max_entries pinned 1024 vs spec 2048');
      expect(mismatch.message).toContain(`map "conns" pinned at ${path}`);
      {
        using still = BpfMap.fromPin(path);
        expect(still.info().id).toBe(child.id);
      }

      // onMismatch 'replace': a new map is created and pinned in its place.
      {
        using obj = loadObject(bigger, { pinRoot: pins.path, onMismatch: 'replace' });
        expect(obj.mapOrigin('conns')).toBe('replaced');
        const conns = obj.map('conns');
        const info = conns.info();
        expect(info.id).not.toBe(child.id);
        expect(info.maxEntries).toBe(2048);
        expect(conns.get(le(7, 4))).toBeUndefined();
        using pinned = BpfMap.fromPin(path);
        expect(pinned.info().id).toBe(info.id);
      }
    } finally {
      pins.cleanup();
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  it('`tsbpf load --pin-maps` creates the pin, then reports the map as reused', async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'tsbpf-objpin-'));
    const pins = createPinDir();
    const cli = async () => {
      const r = await runCli(['load', file, '--pin-maps', pins.path, '--json']);
      return (JSON.parse(r.stdout) as { maps: { name: string; id: number; origin: string; pinnedPath?: string }[] }).maps.find((m) => m.name === 'conns')!;
    };
    const file = join(tmp, 'pinned.o');
    try {
      writeFileSync(file, writeObject(pinnedSpec(16)));
      const first = await cli();
      expect(first).toMatchObject({ origin: 'created', pinnedPath: join(pins.path, 'conns') });
      const second = await cli();
      expect(second).toMatchObject({ origin: 'reused', id: first.id, pinnedPath: join(pins.path, 'conns') });
    } finally {
      pins.cleanup();
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  it('a load that fails after pinning a new map removes that pin', () => {
    const pins = createPinDir();
    try {
      const spec = pinnedSpec(8);
      // Same object, but `entry` reads an uninitialised register: the verifier refuses it after the maps exist.
      const broken: ObjectSpec = {
        ...spec,
        programs: spec.programs.map((p) => (p.name === 'entry' ? { ...p, instructions: asm().mov64('r0', 'r5').exit().build() } : p)),
      };
      expect(() => loadObject(broken, { pinRoot: pins.path })).toThrow(VerifierError);
      expect(existsSync(join(pins.path, 'conns'))).toBe(false);
    } finally {
      pins.cleanup();
    }
  });
});

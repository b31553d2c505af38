/**
 * The probe's boot cache (loader/probe/boot-cache.ts): the first probe writes
 * its kernel sections, later ones take them from the file — proven by planting
 * a marker answer in the file and getting it back — `fresh` asks the kernel
 * again, another key or a broken, foreign or writable-by-others entry is never
 * read, the system section is always live, and the CLI's --fresh / --no-cache.
 */
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { need } from '../support/env.js';
import { bootCacheDir, clearProbeCache, probeKernel, type ProbeReport } from '../../loader/probe/index.js';

const ok = need({ kernel: true });
const MARKER = { status: 'unsupported', reason: 'planted in the boot cache by the test' };

let dir: string;
let saved: string | undefined;

beforeEach(() => {
  saved = process.env.TSBPF_PROBE_CACHE;
  dir = join(mkdtempSync(join(tmpdir(), 'tsbpf-bootcache-')), 'cache');
  process.env.TSBPF_PROBE_CACHE = dir;
  clearProbeCache();
});

afterEach(() => {
  if (saved === undefined) delete process.env.TSBPF_PROBE_CACHE;
  else process.env.TSBPF_PROBE_CACHE = saved;
  clearProbeCache();
  rmSync(join(dir, '..'), { recursive: true, force: true });
});

const entries = () => (existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.json')) : []);
const readEntry = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as { sections: Record<string, Record<string, unknown>>; probedAt: string };

/** Replaces the hash map answer in the entry with the marker. */
function plant(file: string): void {
  const e = readEntry(file);
  e.sections.map_types!.hash = MARKER;
  writeFileSync(file, JSON.stringify(e));
}

describe('the boot cache directory', () => {
  it('comes from $TSBPF_PROBE_CACHE, `off` disables it, root defaults to /run/tsbpf', () => {
    expect(bootCacheDir({ TSBPF_PROBE_CACHE: '/x/y' })).toBe('/x/y');
    expect(bootCacheDir({ TSBPF_PROBE_CACHE: 'off' })).toBeUndefined();
    if (process.getuid?.() === 0) expect(bootCacheDir({})).toBe('/run/tsbpf');
    else expect(bootCacheDir({ XDG_RUNTIME_DIR: '/run/user/5' })).toBe('/run/user/5/tsbpf');
  });
});

describe.skipIf(!ok)('the probe boot cache', () => {
  it('a miss probes and writes the kernel sections (0600 in a 0700 directory), a hit answers from the file', () => {
    const first = probeKernel({ sections: ['system', 'map_types'] });
    expect(first.cache?.hit).toBe(false);
    expect(first.map_types?.hash?.status).toBe('supported');
    const [name] = entries();
    const file = join(dir, name!);
    expect(first.cache?.file).toBe(file);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const stored = readEntry(file);
    expect(Object.keys(stored.sections)).toEqual(['map_types']); // the system section is never stored
    expect(stored.sections.map_types).toEqual(first.map_types);

    plant(file);
    clearProbeCache(); // a new process, as far as the prober knows
    const second = probeKernel({ sections: ['system', 'map_types'] });
    expect(second.cache).toEqual({ file, hit: true, probedAt: stored.probedAt });
    expect(second.map_types?.hash).toEqual(MARKER);
    expect(second.system?.kernel).toEqual(first.system?.kernel);
  });

  it('`fresh` asks the kernel again and rewrites the entry', () => {
    probeKernel({ sections: ['map_types'] });
    const file = join(dir, entries()[0]!);
    const before = readEntry(file).probedAt;
    plant(file);
    const again = probeKernel({ sections: ['map_types'], fresh: true });
    expect(again.cache?.hit).toBe(false);
    expect(again.map_types?.hash?.status).toBe('supported');
    expect(readEntry(file).sections.map_types!.hash).toEqual(again.map_types?.hash);
    expect(readEntry(file).probedAt >= before).toBe(true);
  });

  it('sections missing from the entry are probed and added to it', () => {
    probeKernel({ sections: ['map_types'] });
    clearProbeCache();
    const more = probeKernel({ sections: ['map_types', 'btf'] });
    expect(more.cache?.hit).toBe(false);
    expect(Object.keys(readEntry(join(dir, entries()[0]!)).sections).sort()).toEqual(['btf', 'map_types']);
  });

  it('other probe options are another key: the old entry is neither read nor kept', () => {
    probeKernel({ sections: ['map_types'] });
    const old = entries();
    plant(join(dir, old[0]!));
    clearProbeCache();
    const other = probeKernel({ sections: ['map_types'], helperStrategy: 'on-failure' });
    expect(other.cache?.hit).toBe(false);
    expect(other.map_types?.hash?.status).toBe('supported');
    expect(entries()).toHaveLength(1);
    expect(entries()[0]).not.toBe(old[0]);
  });

  it('a broken entry is ignored and replaced', () => {
    probeKernel({ sections: ['map_types'] });
    const file = join(dir, entries()[0]!);
    for (const broken of ['{"format":1', JSON.stringify({ ...readEntry(file), key: 'another' }), JSON.stringify({ ...readEntry(file), sections: { map_types: 7 } })]) {
      writeFileSync(file, broken);
      clearProbeCache();
      const r = probeKernel({ sections: ['map_types'] });
      expect(r.cache?.hit, broken.slice(0, 40)).toBe(false);
      expect(readEntry(file).sections.map_types).toEqual(r.map_types);
    }
  });

  it('a directory others can write to is not used at all', () => {
    probeKernel({ sections: ['map_types'] });
    const file = join(dir, entries()[0]!);
    plant(file);
    chmodSync(dir, 0o777);
    clearProbeCache();
    const r = probeKernel({ sections: ['map_types'] });
    expect(r.cache).toBeUndefined();
    expect(r.map_types?.hash?.status).toBe('supported');
    expect(readEntry(file).sections.map_types!.hash).toEqual(MARKER); // not rewritten either
  });

  it('bootCache: false neither reads nor writes', () => {
    const r = probeKernel({ sections: ['map_types'], bootCache: false });
    expect(r.cache).toBeUndefined();
    expect(entries()).toEqual([]);
  });

  it('the CLI: a second run hits, --fresh re-probes, --no-cache leaves no entry', async () => {
    const run = async (...args: string[]) => JSON.parse((await runCli(['probe', '--json', '--only', 'map_types', ...args])).stdout) as ProbeReport;
    expect((await run()).cache?.hit).toBe(false);
    clearProbeCache();
    expect((await run()).cache?.hit).toBe(true);
    clearProbeCache();
    expect((await run('--fresh')).cache?.hit).toBe(false);
    rmSync(dir, { recursive: true, force: true });
    clearProbeCache();
    const none = await run('--no-cache');
    expect(none.cache).toBeUndefined();
    expect(none.map_types?.hash?.status).toBe('supported');
    expect(existsSync(dir)).toBe(false);
  });
});

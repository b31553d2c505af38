/**
 * The two sides of the tc ns/packet benchmark, loaded side by side: the tsbpf
 * build of programs/tc/clusterip.ts and a clang-19 -O2 build of its C twin
 * (bench/tc/clusterip.c). Checks that the twin's maps have the tsbpf maps'
 * types and sizes, so one set of schema encodings fills both.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compile } from '../../dsl/compile/index.js';
import { loadObject, type LoadedObject } from '../../loader/object/index.js';
import { createPinDir, type LabPinDir } from '../../programs/lab/index.js';
import type { ObjectSpec } from '../../dsl/object/index.js';
import * as clusterip from '../../programs/tc/clusterip.js';
import { nodePortSpec } from '../../test/tc/nodeport-env.js';

/** The tsbpf profile the bench builds for (the newest; this kernel is newer). */
export const PROFILE = '6.6';
/** The C compiler command line of the twin (BTF from -g only). */
export const CLANG_ARGS = ['-O2', '-g', '-target', 'bpf', '-mcpu=v3', '-I/usr/include/x86_64-linux-gnu'];

/** Maps both ClusterIP sides must hold with the same shape. */
export const CLUSTERIP_MAPS = ['lb4_services', 'lb4_backends', 'lb4_reverse_nat', 'tc_ct4', 'tc_drop_reasons'] as const;
/** Maps both NodePort sides must hold with the same shape. */
export const NODEPORT_MAPS = [
  'lb4_services', 'lb4_backends', 'lb4_reverse_nat', 'np4_config', 'np4_local_eps', 'np4_flows', 'snat4_map', 'neigh4_map', 'snat_retries', 'np_drops', 'np_paths',
] as const;

/** One loaded side. */
export interface Side {
  readonly id: 'tsbpf' | 'clang';
  readonly obj: LoadedObject;
}

/** Both sides of a comparison. */
export interface Twins extends Disposable {
  readonly sides: readonly [Side, Side];
  close(): void;
}

/** Compiles bench/tc/<name>.c with clang-19 and returns the ELF bytes. */
export function clangObject(name: string): Uint8Array {
  const dir = mkdtempSync(join(tmpdir(), 'tsbpf-tcbench-'));
  try {
    const out = join(dir, `${name}.o`);
    execFileSync('clang-19', [...CLANG_ARGS, '-c', join(import.meta.dirname, `${name}.c`), '-o', out]);
    return new Uint8Array(readFileSync(out));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Throws unless every shared map has the same type, key/value size and capacity on both sides. */
export function checkSameMaps(a: LoadedObject, b: LoadedObject, names: readonly string[]): void {
  for (const name of names) {
    const x = a.map(name);
    const y = b.map(name);
    const shape = (m: typeof x) => `type ${m.type} key ${m.keySize} value ${m.valueSize} max ${m.maxEntries}`;
    if (shape(x) !== shape(y)) throw new Error(`twin map ${name} differs: tsbpf ${shape(x)}, clang ${shape(y)}`);
  }
}

/**
 * Loads a tsbpf object (maps pinned, if it pins, in a private bpffs) and the
 * clang build of bench/tc/<cName>.c, and checks their shared maps agree.
 */
export function loadTwins(ours: ObjectSpec, cName: string, shared: readonly string[]): Twins {
  const pins: LabPinDir = createPinDir('tcbench');
  const opened: LoadedObject[] = [];
  const close = () => {
    for (const o of opened.splice(0)) o.close();
    pins.cleanup();
  };
  try {
    const a = loadObject(ours, { pinRoot: pins.path });
    opened.push(a);
    const b = loadObject(clangObject(cName), {});
    opened.push(b);
    checkSameMaps(a, b, shared);
    return { sides: [{ id: 'tsbpf', obj: a }, { id: 'clang', obj: b }], close, [Symbol.dispose]: close };
  } catch (e) {
    close();
    throw e;
  }
}

/** The ClusterIP datapath (programs/tc/clusterip.ts) and its twin. */
export function loadClusterIpTwins(): Twins {
  return loadTwins(compile(clusterip, { target: PROFILE }).object, 'clusterip', CLUSTERIP_MAPS);
}

/** The NodePort datapath (programs/tc/nodeport.ts, IPv4 programs) and its twin. */
export function loadNodePortTwins(): Twins {
  return loadTwins(nodePortSpec(PROFILE), 'nodeport', NODEPORT_MAPS);
}

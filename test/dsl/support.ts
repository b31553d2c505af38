/**
 * Test helper: loads a DSL-built ObjectSpec into the kernel with loader/maps and
 * loader/programs (maps created from the spec, one ARRAY map per data section,
 * subprograms appended to each program), and closes everything afterwards.
 */
import { BpfMap, Program } from '../../loader/index.js';
import { mapTypeName } from '../../loader/sys/index.js';
import type { ObjectSpec } from '../../dsl/object/index.js';
import { typeSize } from '../../dsl/object/index.js';
import type { Instruction } from '../../dsl/isa/index.js';

export interface LoadedObject extends Disposable {
  readonly programs: Map<string, Program>;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly maps: Map<string, BpfMap<any, any>>;
  readonly sections: Map<string, BpfMap>;
  close(): void;
}

/** Loads every program of `spec` (log level 1 when `log` is set, so verifier stats are available). */
export function loadSpec(spec: ObjectSpec, opts: { log?: boolean; setup?: (maps: LoadedObject['maps']) => void } = {}): LoadedObject {
  const programs = new Map<string, Program>();
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const maps = new Map<string, BpfMap<any, any>>();
  const sections = new Map<string, BpfMap>();
  const close = () => {
    for (const p of programs.values()) p.close();
    for (const m of maps.values()) m.close();
    for (const m of sections.values()) m.close();
  };
  try {
    for (const m of spec.maps ?? []) {
      // The object's MapSpec is what BpfMap.create takes; fd maps keep their fd/id value codec.
      const type = typeof m.type === 'number' ? mapTypeName(m.type) : m.type;
      const fdMap = type === 'PROG_ARRAY' || type === 'PERF_EVENT_ARRAY';
      const def = { ...m, name: m.name.slice(0, 15), ...(fdMap && m.value !== undefined ? { value: typeSize(m.value, spec.btf, m.name) } : {}) };
      maps.set(m.name, BpfMap.create(def, spec.btf ? { objectBtf: spec.btf } : {}));
    }
    const globals: Record<string, { map: { fd: number }; offset: number }> = {};
    const bySection = new Map<string, { size: number; vars: typeof spec.globals }>();
    for (const g of spec.globals ?? []) {
      const s = bySection.get(g.section) ?? { size: 0, vars: [] };
      s.size = Math.max(s.size, (g.offset ?? 0) + typeSize(g.type, spec.btf, g.name));
      (s.vars as unknown[]).push(g);
      bySection.set(g.section, s);
    }
    for (const [section, s] of bySection) {
      const map = BpfMap.create({ type: 'ARRAY', name: section.slice(0, 15), key: 4, value: Math.max(8, s.size), maxEntries: 1 });
      sections.set(section, map as never);
      const bytes = new Uint8Array(Math.max(8, s.size));
      for (const g of s.vars ?? []) {
        if (g.init) bytes.set(g.init, g.offset ?? 0);
        globals[g.name] = { map, offset: g.offset ?? 0 };
      }
      const key = new Uint8Array(4);
      (map as unknown as BpfMap).update(key as never, bytes as never);
    }
    opts.setup?.(maps);
    const subs: Instruction[] = (spec.subprograms ?? []).flatMap((s) => s.instructions as Instruction[]);
    for (const p of spec.programs) {
      programs.set(
        p.name,
        Program.load(
          { ...p, instructions: [...p.instructions, ...subs] },
          { maps, globals, license: spec.license, ...(opts.log ? { logLevel: 1 } : {}) },
        ),
      );
    }
  } catch (e) {
    close();
    throw e;
  }
  return { programs, maps, sections, close, [Symbol.dispose]: close };
}

/** A minimal Ethernet+IPv4+UDP packet with `payload` (at offset 42). */
export function udpPacket(payload: Uint8Array): Uint8Array {
  const p = new Uint8Array(42 + payload.length);
  p.set([0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2, 0x08, 0x00], 0);
  p[14] = 0x45;
  const total = 28 + payload.length;
  p[16] = total >> 8;
  p[17] = total & 0xff;
  p[22] = 64;
  p[23] = 17;
  p.set([10, 0, 0, 1, 10, 0, 0, 2], 26);
  p[34] = 0x30;
  p[35] = 0x39;
  p[36] = 0x00;
  p[37] = 0x35;
  p[38] = (8 + payload.length) >> 8;
  p[39] = (8 + payload.length) & 0xff;
  p.set(payload, 42);
  return p;
}

/**
 * `LoadedObject`: the kernel objects one `loadObject` call created or reused —
 * maps and programs by name, the loaded BTF — owned together: `close()` (or
 * `using`) releases every fd. Pins and prog-array slots keep their objects
 * alive after that; everything else is freed by the kernel.
 */
import { join } from 'node:path';
import { LoaderError } from '../errors.js';
import type { AnyCodec } from '../maps/codec.js';
import type { BpfMap } from '../maps/map.js';
import type { Program } from '../programs/program.js';
import type { LoadedBtf } from '../sys/btf.js';
import { pinFileName } from './names.js';

/** How a map came to be: created now, reused from a pin, or created to replace a mismatching pin. */
export type MapOrigin = 'created' | 'reused' | 'replaced';

/** What `describe()` reports for one map. */
export interface LoadedMapReport {
  /** Name in the object (`.rodata` etc. for global data). */
  readonly name: string;
  /** Name the kernel stores (15 characters). */
  readonly kernelName: string;
  readonly type: string;
  readonly id: number;
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;
  readonly flags: number;
  readonly pinnedPath?: string;
  readonly origin: MapOrigin;
}

/** What `describe()` reports for one program. */
export interface LoadedProgramReport {
  readonly name: string;
  readonly section: string;
  readonly type: string;
  readonly expectedAttachType?: string;
  readonly id: number;
  /** Instruction slots loaded (entry plus appended subprograms). */
  readonly insns: number;
  /** The kernel's program tag (hex). */
  readonly tag: string;
  readonly pinnedPath?: string;
}

/** Parts a LoadedObject is made of (built by `loadObject`). */
export interface LoadedObjectParts {
  readonly name: string;
  readonly maps: ReadonlyMap<string, BpfMap<AnyCodec, AnyCodec>>;
  readonly mapOrigins: ReadonlyMap<string, MapOrigin>;
  readonly programs: ReadonlyMap<string, Program>;
  readonly sections: ReadonlyMap<string, string>;
  readonly btf: LoadedBtf | undefined;
  readonly warnings: readonly string[];
}

/** The maps and programs of a loaded object. */
export class LoadedObject implements Disposable {
  /** Object name (from the file name, or given). */
  readonly name: string;
  /** Maps by object name; global data as `.rodata`, `.data`, `.bss` (and `.data.*` …). */
  readonly maps: ReadonlyMap<string, BpfMap<AnyCodec, AnyCodec>>;
  /** Programs by function name. */
  readonly programs: ReadonlyMap<string, Program>;
  /** The object's BTF as loaded (undefined when loaded without BTF). */
  readonly btf: LoadedBtf | undefined;
  /** Things the loader worked around, e.g. the kernel refusing the BTF. */
  readonly warnings: readonly string[];
  readonly #origins: ReadonlyMap<string, MapOrigin>;
  readonly #sections: ReadonlyMap<string, string>;
  #closed = false;

  constructor(parts: LoadedObjectParts) {
    this.name = parts.name;
    this.maps = parts.maps;
    this.programs = parts.programs;
    this.btf = parts.btf;
    this.warnings = parts.warnings;
    this.#origins = parts.mapOrigins;
    this.#sections = parts.sections;
  }

  /** The map named `name`; throws a LoaderError listing the names there are. */
  map(name: string): BpfMap<AnyCodec, AnyCodec> {
    const m = this.maps.get(name);
    if (!m) throw new LoaderError('LOADER_NO_SUCH_MAP', `object "${this.name}" has no map '${name}' (maps: ${[...this.maps.keys()].join(', ') || 'none'})`);
    return m;
  }

  /** The program named `name`; throws a LoaderError listing the names there are. */
  program(name: string): Program {
    const p = this.programs.get(name);
    if (!p) throw new LoaderError('LOADER_NO_SUCH_PROGRAM', `object "${this.name}" has no program '${name}' (programs: ${[...this.programs.keys()].join(', ') || 'none'})`);
    return p;
  }

  /** Whether the map `name` was created now, reused from its pin, or replaced a mismatching pin. */
  mapOrigin(name: string): MapOrigin {
    this.map(name);
    return this.#origins.get(name) ?? 'created';
  }

  /**
   * Pins every program at `<dir>/<program name>` so it outlives this process
   * (and with it the maps it uses). Returns program name → path.
   */
  pinPrograms(dir: string): Map<string, string> {
    const out = new Map<string, string>();
    for (const [name, p] of this.programs) {
      const path = join(dir, name);
      p.pin(path);
      out.set(name, path);
    }
    return out;
  }

  /**
   * Pins every map not pinned yet at `<dir>/<name>` (global-data maps under
   * their kernel name with `.` → `_`, as libbpf does: `object_t_rodata`).
   * Needed for prog arrays to outlive this process: the kernel empties a prog
   * array when no fd or pin refers to it any more. Returns map name → path.
   */
  pinMaps(dir: string): Map<string, string> {
    const out = new Map<string, string>();
    for (const [name, m] of this.maps) {
      if (m.pinnedPath) continue;
      const path = join(dir, pinFileName(name.startsWith('.') ? m.info().name : name));
      m.pin(path);
      out.set(name, path);
    }
    return out;
  }

  /** What was loaded, as the kernel reports it (ids, tags, sizes, pins). */
  describe(): { programs: LoadedProgramReport[]; maps: LoadedMapReport[] } {
    const programs = [...this.programs].map(([name, p]): LoadedProgramReport => {
      const info = p.info();
      return {
        name,
        section: this.#sections.get(name) ?? '',
        type: p.type,
        ...(p.expectedAttachType ? { expectedAttachType: p.expectedAttachType } : {}),
        id: info.id,
        insns: p.insnCount,
        tag: info.tag,
        ...(p.pinnedPath ? { pinnedPath: p.pinnedPath } : {}),
      };
    });
    const maps = [...this.maps].map(([name, m]): LoadedMapReport => {
      const info = m.info();
      return {
        name,
        kernelName: info.name,
        type: info.typeName,
        id: info.id,
        keySize: info.keySize,
        valueSize: info.valueSize,
        maxEntries: info.maxEntries,
        flags: info.flags,
        ...(m.pinnedPath ? { pinnedPath: m.pinnedPath } : {}),
        origin: this.#origins.get(name) ?? 'created',
      };
    });
    return { programs, maps };
  }

  /** Whether `close()` was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Closes every program, map and BTF fd (idempotent). Pinned objects stay. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const p of this.programs.values()) p.close();
    for (const m of this.maps.values()) m.close();
    this.btf?.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/**
 * The full helper table: the generated UAPI facts (id, prototype, classified
 * arguments) joined with the hand-written availability (first kernel, program
 * types). What the DSL consults before emitting a `call`.
 */
import { UAPI_HELPERS } from './generated/uapi-helpers.js';
import type { UapiHelper } from './helper-types.js';
import { BpfFunc, type HelperName } from './enums.js';
import { COVERED_PROG_TYPES, HELPER_PROG_TYPES, HELPER_SINCE, type CoveredProgType } from './helper-availability.js';
import { HELPER_ADDITIONS } from './uapi-additions.js';
import { KernelDataError, type KernelVersion, type Since } from './version.js';

/** One helper with everything tsbpf knows about it. */
export interface HelperInfo extends UapiHelper {
  name: HelperName;
  /** First mainline kernel with the helper. */
  since: KernelVersion;
  /** Covered program types that may call it, with the first kernel each could. */
  progTypes: Partial<Record<CoveredProgType, Since>>;
}

/** Prototypes of helpers newer than the UAPI header (hand-written, same classification). */
const ADDED_PROTOTYPES: Record<keyof typeof HELPER_ADDITIONS, Omit<UapiHelper, 'id' | 'name'>> = {
  cgrp_storage_get: {
    signature: 'void *bpf_cgrp_storage_get(struct bpf_map *map, struct cgroup *cgroup, void *value, u64 flags)',
    ret: { kind: 'ptr', to: 'void', nullable: true, c: 'void *' },
    args: [
      { name: 'map', type: { kind: 'map', c: 'struct bpf_map *' } },
      { name: 'cgroup', type: { kind: 'ptr', to: 'struct cgroup', access: 'write', c: 'struct cgroup *' } },
      { name: 'value', type: { kind: 'mapValue', c: 'void *' } },
      { name: 'flags', type: { kind: 'scalar', bits: 64, signed: false, c: 'u64' } },
    ],
    summary: 'Get a bpf_local_storage from the *cgroup*.',
  },
  cgrp_storage_delete: {
    signature: 'long bpf_cgrp_storage_delete(struct bpf_map *map, struct cgroup *cgroup)',
    ret: { kind: 'scalar', bits: 64, signed: true, c: 'long' },
    args: [
      { name: 'map', type: { kind: 'map', c: 'struct bpf_map *' } },
      { name: 'cgroup', type: { kind: 'ptr', to: 'struct cgroup', access: 'write', c: 'struct cgroup *' } },
    ],
    summary: 'Delete a bpf_local_storage from a *cgroup*.',
  },
};

function build(): HelperInfo[] {
  const uapi = new Map(UAPI_HELPERS.map((h) => [h.name, h]));
  const out: HelperInfo[] = [];
  for (const [name, id] of Object.entries(BpfFunc) as [HelperName, number][]) {
    const base = uapi.get(name) ?? { id, name, ...ADDED_PROTOTYPES[name as keyof typeof ADDED_PROTOTYPES] };
    const progTypes: Partial<Record<CoveredProgType, Since>> = {};
    for (const t of COVERED_PROG_TYPES) {
      const s = HELPER_PROG_TYPES[t][name];
      if (s !== undefined) progTypes[t] = s;
    }
    out.push({ ...base, id, name, since: HELPER_SINCE[name], progTypes });
  }
  return out.sort((a, b) => a.id - b.id);
}

/** Every helper, in id order. */
export const HELPERS: readonly HelperInfo[] = Object.freeze(build());

const byName = new Map(HELPERS.map((h) => [h.name as string, h]));
const byId = new Map(HELPERS.map((h) => [h.id, h]));

/** A helper by name (without `bpf_`); throws KernelDataError for an unknown name. */
export function helperByName(name: string): HelperInfo {
  const h = byName.get(name.replace(/^bpf_/, ''));
  if (!h) throw new KernelDataError('UNKNOWN_HELPER', `unknown helper '${name}' (helper names are as in bpf.h without bpf_, e.g. map_lookup_elem)`);
  return h;
}

/** A helper by id; undefined if no helper has it. */
export function helperById(id: number): HelperInfo | undefined {
  return byId.get(id);
}

/**
 * Maps typed through dsl/types schemas, with BTF key/value types built from the
 * same schemas: `get` returns decoded objects, the kernel records the BTF ids,
 * bpftool formats entries with our BTF, and a map reopened from its pin
 * without schemas decodes through its own BTF.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BtfBuilder } from '../../dsl/btf/index.js';
import { be16, ipv4, pad, schemaToBtf, struct, u16, u32, u64, u8 } from '../../dsl/types/index.js';
import { BpfMap, LoadedBtf, LoaderError } from '../../loader/index.js';
import { createPinDir } from '../support/bpffs.js';
import { need } from '../support/env.js';

const kernel = need({ kernel: true });
const bpftool = kernel && need({ tools: ['bpftool'] });

const Lb4Key = struct('lb4_key', { address: ipv4, dport: be16, backend_slot: u16, proto: u8, scope: u8, _pad: pad(2) });
const Lb4Service = struct('lb4_service', { backend_id: u32, count: u16, flags: u8, _pad: pad(1) });
const Counters = struct('counters', { packets: u64, bytes: u64 });

function btfFor(...schemas: Parameters<typeof schemaToBtf>[1][]) {
  const b = new BtfBuilder();
  const ids = schemas.map((s) => schemaToBtf(b, s));
  return { blob: b.encode(), ids };
}

describe.skipIf(!kernel)('maps typed by schemas', () => {
  it('hash map with struct key/value: objects in, objects out, BTF ids recorded, bpftool agrees', () => {
    const { blob, ids } = btfFor(Lb4Key, Lb4Service);
    using btf = LoadedBtf.load(blob);
    using m = BpfMap.create({
      type: 'HASH',
      name: 'lb4_services',
      key: Lb4Key,
      value: Lb4Service,
      maxEntries: 16,
    }, { btf: { fd: btf, keyTypeId: ids[0]!, valueTypeId: ids[1]! } });
    const key = { address: '10.96.0.10', dport: 80, backend_slot: 0, proto: 6, scope: 0 };
    m.set(key, { backend_id: 0, count: 3, flags: 1 });
    m.set({ ...key, backend_slot: 1 }, { backend_id: 42, count: 0, flags: 0 });
    expect(m.get(key)).toEqual({ backend_id: 0, count: 3, flags: 1 });
    expect(m.get({ ...key, backend_slot: 1 })?.backend_id).toBe(42);
    expect(m.get({ ...key, dport: 443 })).toBeUndefined();
    const keys = [...m.keys()].map((k) => k.backend_slot).sort();
    expect(keys).toEqual([0, 1]);
    expect([...m.keys()][0]!.address).toBe('10.96.0.10');

    const info = m.info();
    expect(info.btfKeyTypeId).toBe(ids[0]);
    expect(info.btfValueTypeId).toBe(ids[1]);
    expect(info.btfId).toBe(btf.info().id);

    if (bpftool) {
      const dump = JSON.parse(execFileSync('bpftool', ['-j', 'map', 'dump', 'id', String(info.id)], { encoding: 'utf8' })) as {
        formatted: { key: Record<string, number>; value: Record<string, number> };
      }[];
      const svc = dump.map((e) => e.formatted).find((f) => f.key.backend_slot === 0)!;
      expect(svc.key).toMatchObject({ backend_slot: 0, proto: 6, scope: 0 });
      expect(svc.value).toMatchObject({ backend_id: 0, count: 3, flags: 1 });
    }
  });

  it('per-CPU values decode to one object per CPU; batch lookups decode too', () => {
    using m = BpfMap.create({ type: 'PERCPU_HASH', name: 'stats', key: u32, value: Counters, maxEntries: 8 });
    m.set(7, { packets: 10n, bytes: 1500n });
    const per = m.get(7)!;
    expect(per).toHaveLength(m.valuesPerKey);
    for (const c of per) expect(c).toEqual({ packets: 10n, bytes: 1500n });
    m.updateBatch([
      [1, { packets: 1n, bytes: 2n }],
      [2, { packets: 3n, bytes: 4n }],
    ]);
    const all = new Map(m.lookupBatch());
    expect([...all.keys()].sort()).toEqual([1, 2, 7]);
    expect(all.get(2)![0]).toEqual({ packets: 3n, bytes: 4n });
  });

  it('a schema whose size disagrees with the map is refused', () => {
    expect(() => BpfMap.create({ type: 'HASH', key: u32, value: 8, maxEntries: 1 }, { value: Counters })).toThrow(LoaderError);
    using m = BpfMap.create({ type: 'HASH', key: 4, value: 8, maxEntries: 1 });
    expect(() => BpfMap.fromId(m.info().id, { value: Counters })).toThrow(/value codec is 16 bytes/);
  });

  it('reopened from a pin without schemas, the map decodes through its own BTF', () => {
    const dir = createPinDir('typed');
    try {
      const { blob, ids } = btfFor(Lb4Key, Lb4Service);
      using btf = LoadedBtf.load(blob);
      using m = BpfMap.create({ type: 'HASH', name: 'svc', key: Lb4Key, value: Lb4Service, maxEntries: 4 }, { btf: { fd: btf, keyTypeId: ids[0]!, valueTypeId: ids[1]! } });
      m.set({ address: '192.168.1.2', dport: 8080, backend_slot: 2, proto: 17, scope: 1 }, { backend_id: 9, count: 0, flags: 2 });
      m.pin(join(dir.path, 'svc'));
      using again = BpfMap.fromPin(join(dir.path, 'svc'), { useBtf: true });
      const [[k, v]] = [...again.entries()];
      // __be16/__be32 typedefs decode in network order: 192.168.1.2 → 0xc0a80102
      expect(k).toEqual({ address: 0xc0a80102, dport: 8080, backend_slot: 2, proto: 17, scope: 1, _pad: [0, 0] });
      expect(v).toEqual({ backend_id: 9, count: 0, flags: 2, _pad: [0] });
      // and encodes from the same shape
      again.set({ address: 0x0a000001, dport: 53, backend_slot: 0, proto: 17, scope: 0 }, { backend_id: 1, count: 1, flags: 0 });
      expect(m.get({ address: '10.0.0.1', dport: 53, backend_slot: 0, proto: 17, scope: 0 })).toEqual({ backend_id: 1, count: 1, flags: 0 });
      expect(() => again.set({ address: 1, nope: 2 }, {})).toThrow(/no field 'nope'/);
    } finally {
      dir.cleanup();
    }
  });
});

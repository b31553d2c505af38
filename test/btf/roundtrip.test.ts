import { describe, expect, it } from 'vitest';
import { BtfBuilder, BtfError, decodeBtf, encodeBtf, BTF_KIND_NAMES } from '../../dsl/btf/index.js';
import type { BtfType } from '../../dsl/btf/index.js';
import { everyKind } from './every-kind.js';

describe('BTF encode/decode', () => {
  it('round-trips every kind and flag', () => {
    const b = everyKind();
    const built = b.build();
    const kinds = new Set(built.types.map((t) => t.kind));
    expect([...kinds].sort()).toEqual([...BTF_KIND_NAMES].sort());
    const bytes = b.encode();
    const back = decodeBtf(bytes);
    expect(back.types).toEqual(built.types);
    // and re-encoding the decoded graph reproduces the bytes
    expect(Buffer.from(encodeBtf(back)).equals(Buffer.from(bytes))).toBe(true);
  });

  it('writes the documented header and kind numbers', () => {
    const b = new BtfBuilder();
    const id = b.int('int', 4, 'signed');
    b.ptr(id);
    const bytes = b.encode();
    const dv = new DataView(bytes.buffer);
    expect(dv.getUint16(0, true)).toBe(0xeb9f);
    expect(bytes[2]).toBe(1);
    expect(dv.getUint32(4, true)).toBe(24);
    expect(dv.getUint32(8, true)).toBe(0); // type_off
    expect(dv.getUint32(12, true)).toBe(16 + 12); // INT (16) + PTR (12)
    expect(dv.getUint32(16, true)).toBe(28);
    // INT: name_off 1 ("int"), info kind 1, size 4, data SIGNED<<24 | 32 bits
    expect([...new Uint32Array(bytes.slice(24, 24 + 28).buffer)]).toEqual([1, 1 << 24, 4, (1 << 24) | 32, 0, 2 << 24, 1]);
    expect(Buffer.from(bytes.subarray(52)).toString('latin1')).toBe('\0int\0');
  });

  it('keeps member bitfields only with kind_flag', () => {
    const b = new BtfBuilder();
    const u = b.int('u32', 4);
    b.struct('plain', 8, [{ name: 'a', type: u, offset: 0 }, { name: 'b', type: u, offset: 4 }]);
    b.struct('bits', 4, [{ name: 'a', type: u, bitOffset: 0, bitfieldSize: 1 }, { name: 'b', type: u, bitOffset: 1, bitfieldSize: 31 }]);
    const bytes = b.encode();
    const dv = new DataView(bytes.buffer, 24);
    // [2] plain at 16; [3] bits after 12+24
    expect(dv.getUint32(16 + 4, true) >>> 31).toBe(0);
    expect(dv.getUint32(16 + 36 + 4, true) >>> 31).toBe(1);
    expect(dv.getUint32(16 + 36 + 12 + 12 + 8, true)).toBe((31 << 24) | 1);
  });
});

describe('BtfBuilder deduplication', () => {
  it('returns the same id for structurally identical types, also nested', () => {
    const b = new BtfBuilder();
    const mk = (): number => {
      const u16 = b.int('u16', 2);
      const inner = b.struct('inner', 4, [{ name: 'x', type: u16, offset: 0 }, { name: 'y', type: u16, offset: 2 }]);
      return b.struct('outer', 12, [{ name: 'i', type: inner, offset: 0 }, { name: 'arr', type: b.array(u16, 4), offset: 4 }]);
    };
    const a = mk();
    const count = b.build().types.length;
    expect(mk()).toBe(a);
    expect(b.build().types.length).toBe(count);
    // a differing field gives a new type
    const u16 = b.int('u16', 2);
    expect(b.struct('inner', 4, [{ name: 'x', type: u16, offset: 0 }, { name: 'z', type: u16, offset: 2 }])).not.toBe(b.findByName('inner'));
  });

  it('dedups strings in the table', () => {
    const b = new BtfBuilder();
    const u = b.int('val', 4);
    b.struct('val', 4, [{ name: 'val', type: u, offset: 0 }]);
    b.typedef('val', u);
    const bytes = b.encode();
    const strLen = new DataView(bytes.buffer).getUint32(20, true);
    expect(strLen).toBe(1 + 4); // "\0val\0"
  });

  it('handles recursive structs via reserve/define and via fwd', () => {
    const b = new BtfBuilder();
    const list = b.reserve();
    const p = b.ptr(list);
    b.define(list, { kind: 'struct', name: 'list', size: 8, members: [{ name: 'next', type: p, bitOffset: 0, bitfieldSize: 0 }] });
    // an identical definition added later is recognised
    expect(b.add({ kind: 'struct', name: 'list', size: 8, members: [{ name: 'next', type: p, bitOffset: 0, bitfieldSize: 0 }] })).toBe(list);
    const f1 = b.ptr(b.fwd('tree'));
    const t1 = b.struct('tree', 8, [{ name: 'up', type: f1, offset: 0 }]);
    const f2 = b.ptr(b.fwd('tree'));
    expect(b.struct('tree', 8, [{ name: 'up', type: f2, offset: 0 }])).toBe(t1);
    const g = decodeBtf(b.encode());
    expect(g.lookup('list', 'struct').id).toBe(list);
    expect(g.get(g.lookup('list', 'struct').type.members[0]!.type)).toEqual({ kind: 'ptr', name: '', type: list });
  });

  it('rejects misuse at the call', () => {
    const b = new BtfBuilder();
    expect(() => b.ptr(5)).toThrow(BtfError);
    expect(() => b.ptr(5)).toThrow(/type id 5/);
    const r = b.reserve();
    expect(() => b.build()).toThrow(/reserved but never defined/);
    expect(() => b.define(r + 1, { kind: 'float', name: 'f', size: 4 })).toThrow(/not reserved/);
    expect(() => b.int('x', 3)).toThrow(/inconsistent/);
    expect(() => b.add({ kind: 'nope' } as unknown as BtfType)).toThrow(BtfError);
  });
});

describe('BTF decoder rejects malformed blobs', () => {
  const good = (): Uint8Array => {
    const b = new BtfBuilder();
    b.struct('s', 4, [{ name: 'a', type: b.int('int', 4, 'signed'), offset: 0 }]);
    return b.encode();
  };
  it('bad magic / version / truncation / bad kinds', () => {
    const m = good();
    m[0] = 0;
    expect(() => decodeBtf(m)).toThrow(expect.objectContaining({ code: 'BTF_BAD_MAGIC' }));
    const v = good();
    v[2] = 2;
    expect(() => decodeBtf(v)).toThrow(expect.objectContaining({ code: 'BTF_BAD_VERSION' }));
    expect(() => decodeBtf(good().subarray(0, 30))).toThrow(expect.objectContaining({ code: 'BTF_TRUNCATED' }));
    const k = good();
    k[24 + 7] = 25; // INT's kind byte
    expect(() => decodeBtf(k)).toThrow(expect.objectContaining({ code: 'BTF_BAD_KIND' }));
    const vlen = good();
    new DataView(vlen.buffer).setUint16(24 + 16 + 4, 500, true); // struct vlen
    expect(() => decodeBtf(vlen)).toThrow(expect.objectContaining({ code: 'BTF_TRUNCATED' }));
    const ref = good();
    new DataView(ref.buffer).setUint32(24 + 16 + 12 + 4, 99, true); // member type
    expect(() => decodeBtf(ref)).toThrow(/missing type id 99/);
  });
});

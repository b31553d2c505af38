import { describe, expect, it } from 'vitest';
import {
  BtfBuilder, BtfError, decodeBtf, decodeBtfExt, encodeBtfWithExt, encodeKernelFuncInfo, encodeKernelLineInfo, hasCoreRelos,
  programFuncInfo, programLineInfo,
} from '../../dsl/btf/index.js';
import type { BtfExt } from '../../dsl/btf/index.js';

function sample(): { spec: ReturnType<BtfBuilder['build']>; ext: BtfExt; f: number; g: number } {
  const b = new BtfBuilder();
  const int = b.int('int', 4, 'signed');
  const proto = b.funcProto(int, [{ name: 'ctx', type: b.ptr(0) }]);
  const f = b.func('entry', proto);
  const g = b.func('sub', proto, 'static');
  const ext: BtfExt = {
    funcInfo: [
      { section: 'xdp', records: [{ insnOff: 0, typeId: f }] },
      { section: '.text', records: [{ insnOff: 0, typeId: g }, { insnOff: 64, typeId: g }] },
    ],
    lineInfo: [
      {
        section: 'xdp',
        records: [
          { insnOff: 0, fileName: 'prog.ts', line: "const x = b.local(u32, 'héllo ✓')", lineNum: 12, column: 7 },
          { insnOff: 16, fileName: 'prog.ts', line: 'b.return(1)', lineNum: 13, column: 3 },
        ],
      },
      { section: '.text', records: [{ insnOff: 8, fileName: 'lib.ts', line: 'x', lineNum: 4_000_000, column: 1023 }] },
    ],
    coreRelos: [],
  };
  return { spec: b.build(), ext, f, g };
}

describe('.BTF.ext', () => {
  it('round-trips func_info and line_info with UTF-8 source text and extreme line/column', () => {
    const { spec, ext } = sample();
    const out = encodeBtfWithExt(spec, ext);
    const btf = decodeBtf(out.btf);
    const back = decodeBtfExt(out.ext, btf);
    expect(back.funcInfo).toEqual(ext.funcInfo);
    expect(back.lineInfo).toEqual(ext.lineInfo);
    expect(hasCoreRelos(back)).toBe(false);
    // header: magic, version, hdr_len 32, func_info at 0, line_info right after it
    const dv = new DataView(out.ext.buffer);
    expect(dv.getUint16(0, true)).toBe(0xeb9f);
    expect(dv.getUint32(4, true)).toBe(32);
    expect(dv.getUint32(8, true)).toBe(0);
    expect(dv.getUint32(12, true)).toBe(4 + (8 + 8) + (8 + 16));
    expect(dv.getUint32(16, true)).toBe(dv.getUint32(12, true));
    expect(dv.getUint32(32, true)).toBe(8); // func_info rec_size
  });

  it('rejects line/column that do not fit, and records past the end', () => {
    const { spec, ext } = sample();
    const bad: BtfExt = { ...ext, lineInfo: [{ section: 'xdp', records: [{ insnOff: 0, fileName: 'a', line: 'b', lineNum: 1 << 22, column: 0 }] }] };
    expect(() => encodeBtfWithExt(spec, bad)).toThrow(/22 bits/);
    const out = encodeBtfWithExt(spec, ext);
    const btf = decodeBtf(out.btf);
    const cut = out.ext.slice(0, out.ext.length - 4);
    expect(() => decodeBtfExt(cut, btf)).toThrow(BtfError);
    const badType = new Uint8Array(out.ext);
    new DataView(badType.buffer).setUint32(32 + 4 + 8 + 4, 999, true); // first func_info type_id
    expect(() => decodeBtfExt(badType, btf)).toThrow(/missing type id 999/);
  });

  it('reads the older 24-byte header (no core_relo fields) and writes it back', () => {
    const { spec, ext } = sample();
    const out = encodeBtfWithExt(spec, { ...ext, hdrLen: 24 });
    expect(new DataView(out.ext.buffer).getUint32(4, true)).toBe(24);
    const back = decodeBtfExt(out.ext, decodeBtf(out.btf));
    expect(back.hdrLen).toBe(24);
    expect(back.lineInfo).toEqual(ext.lineInfo);
  });

  it('builds the kernel arrays for one program with an appended subprogram', () => {
    const { spec, ext, f, g } = sample();
    const out = encodeBtfWithExt(spec, ext);
    const btf = decodeBtf(out.btf);
    // xdp is 4 insns; .text's second function (byte 64) is appended after it
    const slices = [
      { section: 'xdp', byteOffset: 0, byteLength: 32 },
      { section: '.text', byteOffset: 64, byteLength: 16, insnBase: 4 },
    ];
    const fi = programFuncInfo(ext, slices);
    expect(fi).toEqual([{ insnOff: 0, typeId: f }, { insnOff: 4, typeId: g }]);
    const li = programLineInfo(ext, slices);
    expect(li.map((l) => l.insnOff)).toEqual([0, 2]);
    const fBytes = encodeKernelFuncInfo(fi);
    expect([...new Uint32Array(fBytes.buffer)]).toEqual([0, f, 4, g]);
    const lBytes = encodeKernelLineInfo(li, (s) => btf.stringReader!.find(s));
    const words = new Uint32Array(lBytes.buffer);
    expect(words.length).toBe(8);
    expect(btf.stringReader!.at(words[1]!)).toBe('prog.ts');
    expect(btf.stringReader!.at(words[2]!)).toBe("const x = b.local(u32, 'héllo ✓')");
    expect(words[3]).toBe((12 << 10) | 7);
    expect(() => encodeKernelLineInfo(li, () => undefined)).toThrow(/not in the BTF string table/);
    expect(() => programFuncInfo(ext, [{ section: 'xdp', byteOffset: 4, byteLength: 8 }])).toThrow(/instruction-aligned/);
  });
});

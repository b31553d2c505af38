import { describe, expect, it } from 'vitest';
import { need } from '../support/env.js';
import { btfLoad, progLoad } from '../../loader/sys/bpf.js';
import { closeFd } from '../../loader/sys/ffi.js';
import {
  decodeBtf, decodeBtfExt, encodeBtf, encodeKernelFuncInfo, encodeKernelLineInfo, programFuncInfo, programLineInfo,
} from '../../dsl/btf/index.js';
import { compileBpf, fixture, section } from './helpers.js';

const ok = need({ tools: ['clang-19'], kernel: true });
const XDP = 6;

describe.skipIf(!ok)('func_info / line_info at BPF_PROG_LOAD', () => {
  it('the kernel accepts our per-program arrays and the verifier log shows our source lines', () => {
    const obj = compileBpf(fixture('lineinfo.bpf.c'));
    let btfFd = -1;
    let progFd = -1;
    try {
      const code = section(obj.bytes, 'xdp');
      // Re-encode the BTF through our encoder: the kernel gets our bytes, not clang's.
      const g = decodeBtf(section(obj.bytes, '.BTF'));
      const ext = decodeBtfExt(section(obj.bytes, '.BTF.ext'), g);
      const btf = encodeBtf(g);
      const loaded = btfLoad(btf);
      expect(loaded.ok).toBe(true);
      if (!loaded.ok) return;
      btfFd = loaded.ret;
      const slices = [{ section: 'xdp', byteOffset: 0, byteLength: code.length }];
      const funcs = programFuncInfo(ext, slices);
      const lines = programLineInfo(ext, slices);
      expect(funcs).toHaveLength(1);
      expect(lines.length).toBeGreaterThan(2);
      const reread = decodeBtf(btf);
      const funcInfo = encodeKernelFuncInfo(funcs);
      const lineInfo = encodeKernelLineInfo(lines, (s) => reread.stringReader!.find(s));
      const log = new Uint8Array(1 << 20);
      const r = progLoad({
        prog_type: XDP,
        insn_cnt: code.length / 8,
        insns: code,
        license: new TextEncoder().encode('GPL\0'),
        log_level: 2,
        log_size: log.length,
        log_buf: log,
        prog_btf_fd: btfFd,
        func_info_rec_size: 8,
        func_info: funcInfo,
        func_info_cnt: funcs.length,
        line_info_rec_size: 16,
        line_info: lineInfo,
        line_info_cnt: lines.length,
      });
      const text = Buffer.from(log).toString('utf8').replace(/\0[\s\S]*$/, '');
      expect(r.ok ? '' : `errno ${r.errno}\n${text.slice(-1500)}`).toBe('');
      if (r.ok) progFd = r.ret;
      // The verifier annotates instructions with the line_info source text.
      const lenLine = lines.find((l) => l.line.includes('int len ='))!;
      expect(text).toContain(`; int len = ctx->data_end - ctx->data; @ lineinfo.bpf.c:${lenLine.lineNum}`);
    } finally {
      if (progFd >= 0) closeFd(progFd);
      if (btfFd >= 0) closeFd(btfFd);
      obj.cleanup();
    }
  });

  it('a func_info pointing at a non-FUNC type is rejected by the kernel (so the positive test means something)', () => {
    const obj = compileBpf(fixture('lineinfo.bpf.c'));
    let btfFd = -1;
    try {
      const code = section(obj.bytes, 'xdp');
      const g = decodeBtf(section(obj.bytes, '.BTF'));
      const loaded = btfLoad(encodeBtf(g));
      if (!loaded.ok) throw new Error(`BTF load failed: ${loaded.errno}`);
      btfFd = loaded.ret;
      const notFunc = g.types.findIndex((t) => t.kind === 'int') + 1;
      const r = progLoad({
        prog_type: XDP, insn_cnt: code.length / 8, insns: code, license: new TextEncoder().encode('GPL\0'),
        prog_btf_fd: btfFd, func_info_rec_size: 8, func_info: encodeKernelFuncInfo([{ insnOff: 0, typeId: notFunc }]), func_info_cnt: 1,
      });
      expect(r.ok).toBe(false);
      if (r.ok) closeFd(r.ret);
    } finally {
      if (btfFd >= 0) closeFd(btfFd);
      obj.cleanup();
    }
  });
});

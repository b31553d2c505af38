import { describe, expect, it } from 'vitest';
import { need } from '../support/env.js';
import { btfLoad } from '../../loader/sys/bpf.js';
import { closeFd } from '../../loader/sys/ffi.js';
import { BtfBuilder } from '../../dsl/btf/index.js';
import { everyKind } from './every-kind.js';

const ok = need({ kernel: true });

/** BPF_BTF_LOAD; returns the kernel log on failure so a failing test says why. */
function kernelAccepts(bytes: Uint8Array): { ok: boolean; log: string } {
  const buf = new Uint8Array(1 << 20);
  const r = btfLoad(bytes, { buf, level: 1 });
  if (r.ok) {
    closeFd(r.ret);
    return { ok: true, log: '' };
  }
  const log = Buffer.from(buf).toString('utf8').replace(/\0[\s\S]*$/, '');
  return { ok: false, log: `errno ${r.errno}: ${log.slice(-2000)}` };
}

describe.skipIf(!ok)('the kernel accepts our BTF (BPF_BTF_LOAD)', () => {
  it('every kind and flag (without externs, which only libbpf resolves)', () => {
    const r = kernelAccepts(everyKind({ externs: false }).encode());
    expect(r.log).toBe('');
    expect(r.ok).toBe(true);
  });

  it('rejects what it should: an extern FUNC is not loadable, and the log says so', () => {
    const r = kernelAccepts(everyKind().encode());
    expect(r.ok).toBe(false);
    expect(r.log).toMatch(/Invalid func linkage/);
  });

  it('a map-value style struct with a datasec', () => {
    const b = new BtfBuilder();
    const u32 = b.typedef('__u32', b.int('unsigned int', 4));
    const u64 = b.typedef('__u64', b.int('unsigned long long', 8));
    const val = b.struct('flow', 24, [
      { name: 'packets', type: u64, offset: 0 },
      { name: 'bytes', type: u64, offset: 8 },
      { name: 'ifindex', type: u32, offset: 16 },
      { name: 'addr', type: b.array(b.int('unsigned char', 1), 4), offset: 20 },
    ]);
    const v = b.variable('flows', val);
    const c = b.variable('count', u32);
    b.datasec('.bss', 32, [{ type: c, offset: 24, size: 4 }, { type: v, offset: 0, size: 24 }]);
    const r = kernelAccepts(b.encode());
    expect(r.log).toBe('');
  });
});

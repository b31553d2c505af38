/**
 * The connect4 sketch from DESIGN.md written in the DSL: built to an ELF object,
 * loaded by the object loader (BTF and line info included), attached to a cgroup
 * this test creates, and shown to rewrite a real connect() of a child process in
 * that cgroup from a service address to its backend. Also built for 4.19 and 5.4.
 */
import { describe, expect, it } from 'vitest';
import { buildObject, hashMap, program } from '../../dsl/program/index.js';
import { writeObject } from '../../dsl/elf/index.js';
import { be16, be32, pad, struct, u8, u16, u32 } from '../../dsl/types/index.js';
import { loadObject } from '../../loader/index.js';
import { attachCgroup, BpfLink } from '../../loader/links/index.js';
import { need } from '../support/env.js';
import { connectProbe, createTestCgroup } from '../support/cgroup.js';
import { createNetns, deleteNetns } from '../support/netns.js';

export const Lb4Key = struct('lb4_key', { address: be32, dport: be16, backendSlot: u16, proto: u8, scope: u8, _pad: pad(2) });
export const Lb4Service = struct('lb4_service', { backendId: u32, count: u16, revNat: u16 });
export const Lb4Backend = struct('lb4_backend', { address: be32, port: be16, proto: u8, flags: u8 });
export const services = hashMap('lb4_services', Lb4Key, Lb4Service, { maxEntries: 65536 });
export const backends = hashMap('lb4_backends', u32, Lb4Backend, { maxEntries: 65536 });

export const connect4 = program('cgroup/connect4', 'sock4_connect', (b, ctx) => {
  const key = b.local(Lb4Key, { address: ctx.user_ip4, dport: ctx.user_port });
  const svc = b.lookup(services, key).orReturn(1);
  b.if(svc.count.eq(0), () => b.return(1));
  key.backendSlot.set(b.prandom().mod(svc.count.to(u32)).add(1).to(u16));
  const slot = b.lookup(services, key).orReturn(1);
  const be = b.lookup(backends, slot.backendId).orReturn(1);
  ctx.user_ip4.set(be.address);
  ctx.user_port.set(be.port);
  b.return(1);
});

const ip4 = (s: string) => s.split('.').reduce((a, o) => a * 256 + Number(o), 0);
const SERVICE = { ip: '10.200.0.77', port: 80 };
const BACKEND = { ip: '127.0.0.1', port: 7241 };

describe('connect4 from DESIGN.md', () => {
  it('builds for 4.19, 5.4 and 6.6 within the old limits', () => {
    for (const target of ['4.19', '5.4', '6.6']) {
      const spec = buildObject({ connect4 }, { target });
      expect(spec.programs[0]!.instructions.length).toBeLessThan(100);
      expect(spec.maps?.map((m) => m.name)).toEqual(['lb4_services', 'lb4_backends']);
    }
  });

  it.skipIf(!need({ kernel: true }))('rewrites a real connect() in a test cgroup', async () => {
    const bytes = writeObject(buildObject({ connect4 }, { target: '6.6' }));
    const cg = createTestCgroup('dslc4');
    const ns = createNetns('dslc4');
    const obj = loadObject(bytes, { objectName: 'dslc4' });
    try {
      const svcMap = obj.map('lb4_services');
      const key = { address: ip4(SERVICE.ip), dport: SERVICE.port, backendSlot: 0, proto: 0, scope: 0 };
      svcMap.set(Lb4Key.encode(key) as never, Lb4Service.encode({ backendId: 0, count: 2, revNat: 0 }) as never);
      for (const slot of [1, 2]) svcMap.set(Lb4Key.encode({ ...key, backendSlot: slot }) as never, Lb4Service.encode({ backendId: 10 + slot, count: 0, revNat: 0 }) as never);
      for (const id of [11, 12])
        obj.map('lb4_backends').set(u32.encode(id) as never, Lb4Backend.encode({ address: ip4(BACKEND.ip), port: BACKEND.port, proto: 6, flags: 0 }) as never);

      expect(await connectProbe(cg.path, ns, BACKEND.port, SERVICE.ip, SERVICE.port)).toMatchObject({ ok: false });
      const att = attachCgroup(obj.program('sock4_connect'), { hook: 'connect4', cgroup: cg.path });
      try {
        for (let k = 0; k < 3; k++) {
          expect(await connectProbe(cg.path, ns, BACKEND.port, SERVICE.ip, SERVICE.port)).toMatchObject({ ok: true, data: `listener-${BACKEND.port}` });
        }
        // Addresses that are not services pass through untouched.
        expect(await connectProbe(cg.path, ns, BACKEND.port, BACKEND.ip, BACKEND.port)).toMatchObject({ ok: true });
      } finally {
        if (att instanceof BpfLink) att.close();
        else att.detach();
      }
    } finally {
      obj.close();
      deleteNetns(ns);
      cg.cleanup();
    }
  });
});

describe('connect6 in the DSL', () => {
  const Svc6 = struct('svc6_key', { a0: be32, a1: be32, a2: be32, a3: be32, port: be16, _pad: pad(2) });
  const Backend6 = struct('backend6', { a0: be32, a1: be32, a2: be32, a3: be32, port: be16, _pad: pad(2) });
  const svc6 = hashMap('svc6', Svc6, Backend6, { maxEntries: 16 });
  const connect6 = program('cgroup/connect6', 'sock6_connect', (b, ctx) => {
    const ip = ctx.user_ip6;
    const be = b.lookup(svc6, { a0: ip.at(0), a1: ip.at(1), a2: ip.at(2), a3: ip.at(3), port: ctx.user_port }).orReturn(1);
    ip.at(0).set(be.a0);
    ip.at(1).set(be.a1);
    ip.at(2).set(be.a2);
    ip.at(3).set(be.a3);
    ctx.user_port.set(be.port);
    b.return(1);
  });

  it.skipIf(!need({ kernel: true }))('rewrites a real IPv6 connect() ([fd00::77]:80 → [::1]:7243)', async () => {
    const cg = createTestCgroup('dslc6');
    const ns = createNetns('dslc6');
    const obj = loadObject(writeObject(buildObject({ connect6 }, { target: '6.6' })), { objectName: 'dslc6' });
    try {
      const words = (last: number, first = 0) => ({ a0: first, a1: 0, a2: 0, a3: last });
      obj.map('svc6').set(Svc6.encode({ ...words(0x77, 0xfd000000), port: 80 }) as never, Backend6.encode({ ...words(1), port: 7243 }) as never);
      expect(await connectProbe(cg.path, ns, 7243, 'fd00::77', 80, '::1')).toMatchObject({ ok: false });
      const att = attachCgroup(obj.program('sock6_connect'), { hook: 'connect6', cgroup: cg.path });
      try {
        expect(await connectProbe(cg.path, ns, 7243, 'fd00::77', 80, '::1')).toMatchObject({ ok: true, data: 'listener-7243' });
      } finally {
        if (att instanceof BpfLink) att.close();
        else att.detach();
      }
    } finally {
      obj.close();
      deleteNetns(ns);
      cg.cleanup();
    }
  });
});

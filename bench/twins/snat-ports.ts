/**
 * SNAT port search, the DSL twin of `snat_ports` in bench/dsl-vs-clang.c: for a
 * TCP packet, try up to 16 candidate source ports (from a random start) and
 * claim the first free one by inserting it into a hash map with BPF_NOEXIST;
 * returns TC_ACT_OK when a port was claimed, TC_ACT_SHOT when all were taken.
 */
import { hashMap, program } from '../../dsl/program/index.js';
import { be16, be32, pad, struct, u16, u8 } from '../../dsl/types/index.js';
import { Eth, Ip4, Tcp } from './tc-dnat.js';

/** A claimed NAT address:port. */
export const SnatKey = struct('snat_key', { addr: be32, port: be16, proto: u8, _pad: pad(1) });
/** Who owns it: the original source. */
export const SnatValue = struct('snat_value', { addr: be32, port: be16, _pad: pad(2) });

/** NAT ports in use. */
export const snat = hashMap('snat_ports_map', SnatKey, SnatValue, { maxEntries: 65536 });

/** The NAT address, 192.168.0.1 (host-order number; `be32` fields take host order). */
export const NAT_ADDR = 0xc0a80001;
/** Candidate ports: 32768 + (start + i) mod 16384, for i < 16. */
export const TRIES = 16;

const OK = 0;
const SHOT = 2;

export const snatPorts = program('tc', 'snat_ports', (b) => {
  const eth = b.parse(Eth, 0).orReturn(OK);
  b.if(eth.proto.ne(0x0800), () => b.return(OK));
  const ip = b.parse(Ip4, 14).orReturn(OK);
  b.if(ip.proto.ne(6), () => b.return(OK));
  const tcp = b.parse(Tcp, 34).orReturn(OK);
  const owner = b.local(SnatValue, { addr: ip.saddr, port: tcp.sport });
  const key = b.local(SnatKey, { addr: NAT_ADDR, proto: 6 });
  const start = b.prandom();
  b.loop(TRIES, (i) => {
    const port = start.add(i).and(0x3fff).add(32768).to(u16);
    key.port.set(port.to(be16));
    b.if(b.update(snat, key, owner, 'noexist').eq(0), () => b.return(OK));
  });
  b.return(SHOT);
});

/**
 * Packet counter (XDP): counts IPv4 packets per IP protocol in an array map and
 * passes every packet. The smallest useful datapath program: bounds-checked
 * packet parsing, a map lookup that must be checked for NULL, an atomic add.
 *
 *   tsbpf build examples/packet-counter.ts --target 4.19 --explain
 */
import { arrayMap, program } from '../dsl/program/index.js';
import { be16, struct, u32, u64, u8, array, pad } from '../dsl/types/index.js';

/** Ethernet header followed by the first fields of IPv4, up to the protocol byte. */
export const EthIp = struct('eth_ip', {
  dst: array(u8, 6),
  src: array(u8, 6),
  proto: be16,
  verIhl: u8,
  tos: u8,
  _ipHead: pad(7),
  ipProto: u8,
});

/** Packets seen per IP protocol number. */
export const counters = arrayMap('pkt_counters', u64, { maxEntries: 256 });

/** XDP_PASS */
const PASS = 2;

export const countPackets = program('xdp', 'count_packets', (b) => {
  const h = b.parse(EthIp, 0).orReturn(PASS);
  b.if(h.proto.ne(0x0800), () => b.return(PASS));
  const slot = b.lookup(counters, h.ipProto.to(u32)).orReturn(PASS);
  slot.atomicAdd(1);
  b.return(PASS);
});

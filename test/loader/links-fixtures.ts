/**
 * Small hand-assembled programs for the attach tests, loaded straight through
 * loader/sys (program-type specific contexts; counters in an array map).
 */
import { asm, assemble, encode, type Asm } from '../../dsl/isa/index.js';
import { mapCreate, mapLookupElem, progLoad } from '../../loader/sys/bpf.js';
import { AttachType, MapType, ProgType, type AttachTypeName, type ProgTypeName } from '../../loader/sys/constants.js';
import { Fd } from '../../loader/sys/fd.js';

const HELPER_MAP_LOOKUP_ELEM = 1;

/** Loads instructions as a program; throws with the verifier log on failure. */
export function loadProgram(type: ProgTypeName, code: Asm, options: { attachType?: AttachTypeName; name?: string } = {}): Fd {
  const insns = encode(assemble(code.build()));
  const license = new TextEncoder().encode('GPL\0');
  const first = progLoad({
    prog_type: ProgType[type],
    insn_cnt: insns.length / 8,
    insns,
    license,
    prog_name: options.name ?? 'tsbpf_test',
    expected_attach_type: options.attachType === undefined ? 0 : AttachType[options.attachType],
  });
  if (first.ok) return new Fd(first.ret, `program ${options.name ?? type}`);
  const log = new Uint8Array(1 << 20);
  const second = progLoad({
    prog_type: ProgType[type],
    insn_cnt: insns.length / 8,
    insns,
    license,
    log_level: 1,
    log_size: log.length,
    log_buf: log,
    prog_name: options.name ?? 'tsbpf_test',
    expected_attach_type: options.attachType === undefined ? 0 : AttachType[options.attachType],
  });
  if (second.ok) return new Fd(second.ret, `program ${options.name ?? type}`);
  const text = new TextDecoder().decode(log.subarray(0, log.indexOf(0)));
  throw new Error(`program ${type} failed to load (errno ${second.errno}):\n${text}`);
}

/** A one-slot array map holding a u64 counter. */
export function createCounter(name = 'counter'): Fd {
  return new Fd(mapCreate({ map_type: MapType.ARRAY, key_size: 4, value_size: 8, max_entries: 1, map_name: name }), `map ${name}`);
}

/** Reads the counter. */
export function readCounter(map: Fd): bigint {
  const value = new Uint8Array(8);
  if (!mapLookupElem(map.value, new Uint8Array(4), value)) throw new Error('counter slot missing');
  return new DataView(value.buffer).getBigUint64(0, true);
}

/** Emits `counter += 1` (r1–r5 and r0 clobbered). */
function countOne(a: Asm, counter: Fd, label: string): Asm {
  return a
    .ldMapFd('r1', counter.value)
    .mov64('r2', 'r10')
    .add64('r2', -4)
    .stw('r10', -4, 0)
    .call(HELPER_MAP_LOOKUP_ELEM)
    .jeq('r0', 0, label)
    .mov64('r1', 1)
    .atomicAdd64('r0', 0, 'r1')
    .label(label);
}

/** htons as the little-endian u16 a `ldxh` of a network-order field yields. */
export function beU16(port: number): number {
  return ((port & 0xff) << 8) | (port >> 8);
}

/**
 * Matches IPv4/UDP to `port` in the packet pointers r7 = data, r8 = data_end
 * (Ethernet + 20-byte IPv4 header, payload byte at 42); jumps to `miss` otherwise.
 */
function matchUdp(a: Asm, port: number, miss: string): Asm {
  return a
    .mov64('r4', 'r7')
    .add64('r4', 43)
    .jgt('r4', 'r8', miss)
    .ldxh('r4', 'r7', 12)
    .jne('r4', 0x0008, miss) // ETH_P_IP in network order
    .ldxb('r4', 'r7', 23)
    .jne('r4', 17, miss) // IPPROTO_UDP
    .ldxh('r4', 'r7', 36)
    .jne('r4', beU16(port), miss);
}

/**
 * tc (sched_cls) program: for IPv4/UDP to `port`, counts the packet and either
 * rewrites the first payload byte to `rewrite` (and passes) or drops it.
 */
export function tcProgram(counter: Fd, port: number, action: { rewrite: string } | 'drop'): Fd {
  const a = asm()
    .ldxw('r7', 'r1', 76) // __sk_buff.data
    .ldxw('r8', 'r1', 80); // __sk_buff.data_end
  matchUdp(a, port, 'pass');
  countOne(a, counter, 'counted');
  if (action === 'drop') a.mov64('r0', 2).exit(); // TC_ACT_SHOT
  else a.stb('r7', 42, action.rewrite.charCodeAt(0));
  a.label('pass').mov64('r0', 0).exit(); // TC_ACT_OK
  return loadProgram('SCHED_CLS', a, { name: 'tsbpf_tc' });
}

/** XDP program: counts IPv4/UDP to `port` and drops it (`drop`) or passes it. */
export function xdpProgram(counter: Fd, port: number, verdict: 'drop' | 'pass'): Fd {
  const a = asm()
    .ldxw('r7', 'r1', 0) // xdp_md.data
    .ldxw('r8', 'r1', 4); // xdp_md.data_end
  matchUdp(a, port, 'pass');
  countOne(a, counter, 'counted');
  a.mov64('r0', verdict === 'drop' ? 1 : 2).exit(); // XDP_DROP / XDP_PASS
  a.label('pass').mov64('r0', 2).exit();
  return loadProgram('XDP', a, { name: 'tsbpf_xdp' });
}

function ipv4Le(addr: string): number {
  const [a, b, c, d] = addr.split('.').map(Number) as [number, number, number, number];
  // The u32 a little-endian load of the network-order address yields.
  return ((d << 24) | (c << 16) | (b << 8) | a) >>> 0;
}

/**
 * cgroup sock_addr program for `attachType`: when the address in the context is
 * `from` (ip:port) it becomes `to`; counts rewrites. Always returns 1 (allow).
 * connect4/sendmsg4 see the destination, getpeername4/recvmsg4 the peer/source.
 */
export function rewriteProgram(
  counter: Fd,
  attachType: AttachTypeName,
  from: { ip: string; port: number },
  to: { ip: string; port: number },
): Fd {
  const a = asm()
    .mov64('r6', 'r1')
    .ldxw('r2', 'r6', 4) // bpf_sock_addr.user_ip4
    .jne32('r2', ipv4Le(from.ip) | 0, 'out') // 32-bit compare: a 64-bit one would sign-extend the immediate
    .ldxw('r2', 'r6', 24) // bpf_sock_addr.user_port (network order in the low 16 bits)
    .jne('r2', beU16(from.port), 'out')
    .mov32('r2', ipv4Le(to.ip) | 0)
    .stxw('r6', 4, 'r2')
    .mov32('r2', beU16(to.port))
    .stxw('r6', 24, 'r2');
  countOne(a, counter, 'counted');
  a.label('out').mov64('r0', 1).exit();
  return loadProgram('CGROUP_SOCK_ADDR', a, { attachType, name: 'tsbpf_rewrite' });
}

/** connect4 rewrite (see `rewriteProgram`). */
export function connect4Program(counter: Fd, from: { ip: string; port: number }, to: { ip: string; port: number }): Fd {
  return rewriteProgram(counter, 'CGROUP_INET4_CONNECT', from, to);
}

/** `r0 = 1; exit` for any program type (allow-everything cgroup programs). */
export function allowProgram(type: ProgTypeName, attachType?: AttachTypeName): Fd {
  return loadProgram(type, asm().mov64('r0', 1).exit(), { attachType, name: 'tsbpf_allow' });
}

function ipv6Words(addr: string): number[] {
  // Expand `::` and read the 16 bytes as four little-endian u32 loads would see them.
  const [head, tail] = addr.includes('::') ? addr.split('::') : [addr, undefined];
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const groups = [...h, ...Array(8 - h.length - t.length).fill('0'), ...t].map((g) => parseInt(g, 16));
  const bytes = groups.flatMap((g) => [g >> 8, g & 0xff]);
  return [0, 4, 8, 12].map((o) => (bytes[o]! | (bytes[o + 1]! << 8) | (bytes[o + 2]! << 16) | (bytes[o + 3]! << 24)) | 0);
}

/** connect6 program: a connect() to `from` ([ip6]:port) is redirected to `to`; counts rewrites. */
export function connect6Program(counter: Fd, from: { ip: string; port: number }, to: { ip: string; port: number }): Fd {
  const fromWords = ipv6Words(from.ip);
  const toWords = ipv6Words(to.ip);
  const a = asm().mov64('r6', 'r1');
  fromWords.forEach((w, i) => a.ldxw('r2', 'r6', 8 + 4 * i).jne32('r2', w, 'out')); // bpf_sock_addr.user_ip6[i]
  a.ldxw('r2', 'r6', 24).jne('r2', beU16(from.port), 'out');
  toWords.forEach((w, i) => a.mov32('r2', w).stxw('r6', 8 + 4 * i, 'r2'));
  a.mov32('r2', beU16(to.port)).stxw('r6', 24, 'r2');
  countOne(a, counter, 'counted');
  a.label('out').mov64('r0', 1).exit();
  return loadProgram('CGROUP_SOCK_ADDR', a, { attachType: 'CGROUP_INET6_CONNECT', name: 'tsbpf_conn6' });
}

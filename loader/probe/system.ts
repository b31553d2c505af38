/** The system section: facts read from /proc and /sys, plus whether bpf() answers at all. */
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { machine, release, version } from 'node:os';
import { gunzipSync } from 'node:zlib';
import { bpfSyscall } from '../sys/ffi.js';
import { Cmd } from '../sys/constants.js';
import { errnoName } from '../sys/errno.js';
import { inconclusive, supported, unsupported, type Feature, type SystemInfo } from './result.js';

/** Kernel config options that matter for BPF (the set bpftool reports, plus a few datapath ones). */
export const BPF_CONFIG_OPTIONS = [
  'CONFIG_BPF',
  'CONFIG_BPF_SYSCALL',
  'CONFIG_HAVE_EBPF_JIT',
  'CONFIG_BPF_JIT',
  'CONFIG_BPF_JIT_ALWAYS_ON',
  'CONFIG_DEBUG_INFO_BTF',
  'CONFIG_DEBUG_INFO_BTF_MODULES',
  'CONFIG_CGROUPS',
  'CONFIG_CGROUP_BPF',
  'CONFIG_CGROUP_NET_CLASSID',
  'CONFIG_SOCK_CGROUP_DATA',
  'CONFIG_BPF_EVENTS',
  'CONFIG_KPROBE_EVENTS',
  'CONFIG_UPROBE_EVENTS',
  'CONFIG_TRACING',
  'CONFIG_FTRACE_SYSCALLS',
  'CONFIG_FUNCTION_ERROR_INJECTION',
  'CONFIG_BPF_KPROBE_OVERRIDE',
  'CONFIG_NET',
  'CONFIG_XDP_SOCKETS',
  'CONFIG_LWTUNNEL_BPF',
  'CONFIG_NET_ACT_BPF',
  'CONFIG_NET_CLS_BPF',
  'CONFIG_NET_CLS_ACT',
  'CONFIG_NET_SCH_INGRESS',
  'CONFIG_XFRM',
  'CONFIG_IP_ROUTE_CLASSID',
  'CONFIG_IPV6_SEG6_BPF',
  'CONFIG_BPF_LIRC_MODE2',
  'CONFIG_BPF_STREAM_PARSER',
  'CONFIG_NETFILTER_XT_MATCH_BPF',
  'CONFIG_BPFILTER',
  'CONFIG_BPFILTER_UMH',
  'CONFIG_TEST_BPF',
  'CONFIG_HZ',
  'CONFIG_BPF_LSM',
  'CONFIG_NETKIT',
  'CONFIG_NF_CONNTRACK',
  'CONFIG_NF_NAT',
  'CONFIG_FPROBE',
  'CONFIG_DYNAMIC_FTRACE_WITH_DIRECT_CALLS',
] as const;

function readNumber(path: string): number | null {
  try {
    const n = Number(readFileSync(path, 'utf8').trim());
    return Number.isFinite(n) ? n : null;
  } catch {
    return null;
  }
}

/** Parses `KEY=value` lines of a kernel config; `# KEY is not set` counts as absent. */
export function parseKernelConfig(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq <= 0 || line.startsWith('#')) continue;
    out.set(line.slice(0, eq), line.slice(eq + 1).replace(/^"(.*)"$/, '$1'));
  }
  return out;
}

/** Reads the kernel config from /proc/config.gz or /boot/config-<release>; null when neither exists. */
export function readKernelConfig(rel: string = release()): { source: string; entries: Map<string, string> } | null {
  try {
    if (existsSync('/proc/config.gz')) return { source: '/proc/config.gz', entries: parseKernelConfig(gunzipSync(readFileSync('/proc/config.gz')).toString('utf8')) };
  } catch {
    /* fall through to /boot */
  }
  const boot = `/boot/config-${rel}`;
  try {
    if (existsSync(boot)) return { source: boot, entries: parseKernelConfig(readFileSync(boot, 'utf8')) };
  } catch {
    /* not readable */
  }
  return null;
}

/**
 * Whether bpf() answers: an empty BPF_PROG_LOAD attr must fail with E2BIG
 * (no instructions) or EINVAL — the syscall exists and we may call it; ENOSYS
 * means no bpf(), EPERM means not allowed.
 */
export function probeBpfSyscall(): Feature {
  let errno: number;
  try {
    errno = bpfSyscall(Cmd.PROG_LOAD, new Uint8Array(144)).errno;
  } catch (err) {
    return inconclusive(`cannot call bpf(): ${(err as Error).message}`);
  }
  const name = errnoName(errno);
  if (name === 'EINVAL' || name === 'E2BIG') return supported();
  if (name === 'ENOSYS') return unsupported({ reason: 'bpf() returned ENOSYS (kernel built without CONFIG_BPF_SYSCALL)' });
  if (name === 'EPERM') return unsupported({ reason: 'bpf() returned EPERM: not permitted for this user (needs root or CAP_BPF, or unprivileged BPF is disabled)' });
  return inconclusive(`bpf() returned ${name}`);
}

/** Whether we may load privileged program types: effective CAP_SYS_ADMIN or CAP_BPF (from /proc/self/status). */
export function hasBpfCapability(): boolean {
  try {
    const m = /^CapEff:\s*([0-9a-f]+)/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (!m) return false;
    const caps = BigInt(`0x${m[1]}`);
    const CAP_SYS_ADMIN = 21n;
    const CAP_BPF = 39n;
    return ((caps >> CAP_SYS_ADMIN) & 1n) === 1n || ((caps >> CAP_BPF) & 1n) === 1n;
  } catch {
    return process.getuid?.() === 0;
  }
}

/** The system section. */
export function probeSystem(): SystemInfo {
  const cfg = readKernelConfig();
  const options: Record<string, string | null> = {};
  for (const o of BPF_CONFIG_OPTIONS) options[o] = cfg ? (cfg.entries.get(o) ?? null) : null;
  let btf: Feature;
  try {
    closeSync(openSync('/sys/kernel/btf/vmlinux', 'r'));
    btf = supported({ reason: '/sys/kernel/btf/vmlinux' });
  } catch (err) {
    btf = existsSync('/sys/kernel/btf/vmlinux')
      ? inconclusive(`/sys/kernel/btf/vmlinux exists but is not readable (${(err as NodeJS.ErrnoException).code ?? 'error'})`)
      : unsupported({ reason: '/sys/kernel/btf/vmlinux not found (CONFIG_DEBUG_INFO_BTF off?)' });
  }
  return {
    kernel: { release: release(), version: version(), machine: machine() },
    bpfSyscall: probeBpfSyscall(),
    privileged: hasBpfCapability(),
    unprivilegedBpfDisabled: readNumber('/proc/sys/kernel/unprivileged_bpf_disabled'),
    jit: {
      enable: readNumber('/proc/sys/net/core/bpf_jit_enable'),
      harden: readNumber('/proc/sys/net/core/bpf_jit_harden'),
      kallsyms: readNumber('/proc/sys/net/core/bpf_jit_kallsyms'),
      limit: readNumber('/proc/sys/net/core/bpf_jit_limit'),
    },
    config: { source: cfg?.source ?? null, options },
    vmlinuxBtf: btf,
  };
}

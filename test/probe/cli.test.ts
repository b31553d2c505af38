/**
 * `tsbpf probe` as a user runs it: JSON schema, TypeScript module, target
 * profile, text, bad options, and an unprivileged run (setpriv) that explains
 * what it could not probe instead of crashing. The full probe runs once here
 * (--json); --ts/--profile/text reuse the in-process report.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { need } from '../support/env.js';
import { runProbe, parseSections } from '../../cli/commands/probe.js';
import { formatText, formatTs } from '../../loader/probe/format.js';
import { loadHostProfile, toTargetProfile, ProfileError } from '../../loader/probe/profile.js';
import { profileFromJson, profileForKernel, profileAllowsHelper } from '../../dsl/kernel/profiles.js';
import { BpfFunc } from '../../dsl/kernel/enums.js';
import { SECTIONS, type Feature, type ProbeReport } from '../../loader/probe/index.js';
import { fullReport } from './shared.js';

const root = join(import.meta.dirname, '..', '..');
const bin = join(root, 'bin', 'tsbpf.js');
const ok = need({ kernel: true });

function assertFeature(f: unknown, where: string): void {
  expect(typeof f, where).toBe('object');
  const x = f as Feature;
  expect(['supported', 'unsupported', 'inconclusive'], where).toContain(x.status);
  if (x.status === 'inconclusive') expect(typeof x.reason, `${where}: inconclusive needs a reason`).toBe('string');
  for (const k of Object.keys(x)) expect(['status', 'reason', 'since', 'value'], `${where}.${k}`).toContain(k);
}

describe.skipIf(!ok)('tsbpf probe (CLI)', () => {
  it('--json: the documented schema, every result {status, reason?, since?, value?}', async () => {
    const { stdout: out } = await runCli(['probe', '--json']);
    const r = JSON.parse(out) as ProbeReport;
    expect(r.schema).toBe('tsbpf-probe/1');
    for (const s of SECTIONS) expect(r[s], `section ${s}`).toBeDefined();
    expect(r.system!.kernel.release).toBe(execFileSync('uname', ['-r'], { encoding: 'utf8' }).trim());
    expect(r.system!.bpfSyscall.status).toBe('supported');
    for (const s of ['program_types', 'map_types', 'map_flags', 'attach_types', 'link_types', 'misc', 'btf', 'kfuncs'] as const)
      for (const [n, f] of Object.entries(r[s]!)) assertFeature(f, `${s}.${n}`);
    for (const [pt, hs] of Object.entries(r.helpers!)) for (const [h, f] of Object.entries(hs)) assertFeature(f, `helpers.${pt}.${h}`);
    // Every cgroup sock_addr hook, tcx and the XDP link are covered.
    for (const a of ['cgroup_inet4_connect', 'cgroup_inet6_connect', 'cgroup_udp4_sendmsg', 'cgroup_udp6_recvmsg', 'cgroup_inet4_getpeername', 'cgroup_inet6_getsockname', 'cgroup_unix_connect', 'tcx_ingress', 'tcx_egress', 'netkit_primary', 'xdp'])
      expect(r.attach_types![a], a).toBeDefined();
    // The raw reason of a refused helper is kept.
    const refused = Object.values(r.helpers!.xdp!).find((f) => f.status === 'unsupported');
    expect(refused?.reason).toMatch(/invalid func |unknown func |program of this type cannot use helper /);
  }, 60_000);

  it('--profile: a dsl/kernel TargetProfile that profileFromJson accepts and that matches the report', async () => {
    const { text } = await runProbe({ profile: true }, { stdout: false, stderr: false });
    const prof = profileFromJson(text);
    const r = fullReport();
    expect(prof.name).toBe('host');
    expect(prof.source).toBe('probe');
    expect(prof.boundedLoops).toBe(r.misc!.bounded_loops!.status === 'supported');
    expect(prof.maxProcessedInsns).toBe(r.misc!.processed_insn_limit!.value);
    expect(prof.isa).toBe(r.misc!.isa_v4!.status === 'supported' ? 'v4' : 'v3');
    expect(prof.progTypes).toContain('XDP');
    expect(prof.attachTypes).toContain('CGROUP_INET4_CONNECT');
    expect(prof.btfKinds).toEqual(expect.arrayContaining(['INT', 'FUNC', 'DATASEC']));
    expect(profileAllowsHelper(prof, 'XDP', 'redirect')).toBe(true);
    // Refused for XDP by the kernel (bpftool 7.1 claims otherwise).
    expect(profileAllowsHelper(prof, 'XDP', 'probe_read')).toBe(false);
    expect(prof.helpersByProgType.XDP).not.toContain(BpfFunc.probe_read);
    // On this kernel the measured profile must not claim less than the timeline's
    // own profile for the same version on the scalar features.
    const timeline = profileForKernel(prof.kernel, 'timeline');
    for (const k of ['boundedLoops', 'bpfToBpfCalls', 'globalData', 'funcInfo', 'lineInfo', 'tcx', 'xdpLink', 'linkCreate'] as const)
      if (timeline[k]) expect(prof[k], k).toBe(true);
    // Written to a file, loadHostProfile reads it back through profileFromJson.
    const dir = mkdtempSync(join(tmpdir(), 'tsbpf-probe-'));
    try {
      const path = join(dir, 'host.json');
      writeFileSync(path, text);
      expect(loadHostProfile(path)).toEqual(prof);
      writeFileSync(path, JSON.stringify({ ...prof, isa: 'v9' }));
      expect(() => loadHostProfile(path)).toThrow(/field 'isa'/);
      expect(() => loadHostProfile(join(dir, 'missing.json'))).toThrow(ProfileError);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('--ts: a TypeScript module that type-checks and exports the answers', async () => {
    const { text } = await runProbe({ ts: true }, { stdout: false, stderr: false });
    expect(text).toContain('export const HAVE_BOUNDED_LOOPS = true;');
    expect(text).toMatch(/export const HAVE_PROG_TYPE_XDP = true;/);
    const dir = mkdtempSync(join(root, '.probe-ts-'));
    try {
      writeFileSync(join(dir, 'features.ts'), text);
      const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
      // Only the ES library: the module must not depend on anything else.
      const config = { compilerOptions: { strict: true, noEmit: true, target: 'es2022', lib: ['es2022'], types: [], module: 'esnext' }, files: ['features.ts'] };
      writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify(config));
      const res = spawnSync(process.execPath, [tsc, '-p', dir], { encoding: 'utf8' });
      expect(res.stdout + res.stderr).toBe('');
      expect(res.status).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('text: aligned sections, no colour when not a TTY, --full lists helpers with reasons', () => {
    const r = fullReport();
    const text = formatText(r);
    for (const title of ['System', 'Program types', 'Map types', 'Map flags', 'Attach types', 'Link types', 'Helpers per program type', 'Miscellaneous', 'BTF kinds accepted', 'kfuncs'])
      expect(text).toContain(title);
    expect(text).not.toContain('\x1b[');
    expect(formatText(r, { color: true })).toContain('\x1b[32m');
    const full = formatText(r, { full: true });
    expect(full).toMatch(/bpf_probe_read +no — (program of this type cannot use helper|unknown func)/);
    // Columns line up inside a section.
    const section = text.split('Map types')[1]!.split('\n\n')[1]!.split('\n');
    const cols = new Set(section.filter((l) => /^ {2}\S/.test(l)).map((l) => l.search(/ (yes|no|inconclusive)\b/)));
    expect(cols.size).toBe(1);
  });

  it('--only limits the sections; bad options are typed errors', async () => {
    const { text } = await runProbe({ json: true, only: ['misc,btf'] }, { stdout: false, stderr: false });
    const r = JSON.parse(text) as ProbeReport;
    // `cache` says which boot cache entry the answers came from or went to (the test run has one).
    expect(Object.keys(r).sort()).toEqual(['btf', 'cache', 'misc', 'schema']);
    expect(Object.keys(r.cache!).sort()).toEqual(['file', 'hit', 'probedAt']);
    expect(() => parseSections(['nope'])).toThrow(/unknown section 'nope'/);
    await expect(runProbe({ json: true, ts: true }, { stdout: false, stderr: false })).rejects.toThrow(/choose one of/);
    const bad = await runCli(['probe', 'moon']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("unknown probe target 'moon'");
    expect(bad.stderr).not.toMatch(/\n\s+at /);
  }, 60_000);

  // A real process: setpriv drops root and capabilities for the whole process.
  it.skipIf(!need({ tools: ['setpriv'] }))('unprivileged: a clear message about what was not probed, no stack trace', () => {
    const args = ['--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all', '--bounding-set=-all', process.execPath, bin, 'probe'];
    const text = spawnSync('setpriv', args, { encoding: 'utf8', env: { ...process.env, HOME: '/tmp' } });
    expect(text.status, text.stderr).toBe(0);
    expect(text.stdout).toContain('Not probed: program_types, map_types');
    expect(text.stdout).toMatch(/EPERM|CAP_BPF/);
    expect(text.stdout).toContain('System');
    expect(text.stderr).not.toMatch(/\n\s+at /);
    const json = spawnSync('setpriv', [...args, '--json'], { encoding: 'utf8', env: { ...process.env, HOME: '/tmp' } });
    const r = JSON.parse(json.stdout) as ProbeReport;
    expect(r.system!.privileged).toBe(false);
    expect(r.program_types).toBeUndefined();
    expect(r.notes?.join(' ')).toContain('Not probed');
    expect(json.stderr).toContain('tsbpf probe: Not probed');
    const prof = spawnSync('setpriv', [...args, '--profile'], { encoding: 'utf8', env: { ...process.env, HOME: '/tmp' } });
    expect(prof.status).toBe(1);
    expect(prof.stderr).toMatch(/^tsbpf: cannot build a target profile: sections .* were not probed/);
    expect(prof.stderr).not.toMatch(/\n\s+at /);
  }, 60_000);
});

describe('probe pure parts', () => {
  it('toTargetProfile refuses a partial report, naming the missing sections', () => {
    expect(() => toTargetProfile({ schema: 'tsbpf-probe/1', misc: {} })).toThrow(/sections program_types, map_types, attach_types, link_types, helpers, btf were not probed/);
  });

  it('formatTs of a tiny report', () => {
    const ts = formatTs({ schema: 'tsbpf-probe/1', misc: { bounded_loops: { status: 'unsupported' } }, helpers: { xdp: { bpf_redirect: { status: 'supported' }, bpf_probe_read: { status: 'unsupported' } } } });
    expect(ts).toContain('export const HAVE_BOUNDED_LOOPS = false;');
    expect(ts).toContain('xdp: new Set(["bpf_redirect"]),');
  });
});

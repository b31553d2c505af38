/**
 * Resolving a target given as text: a named profile, `host`, or a profile JSON
 * file. Building never probes the kernel: `host` means the profile file the
 * prober wrote (`tsbpf probe --profile > tsbpf-host-profile.json`) when present,
 * else a profile derived from `uname -r`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { hostProfile, profileByName, profileFromJson, profileNames, type TargetProfile } from '../kernel/index.js';
import { BuildError } from './errors.js';

/** File `host` reads when present in the working directory (what `tsbpf probe --profile > FILE` writes). */
export const HOST_PROFILE_PATH = 'tsbpf-host-profile.json';

/** A profile from a target value: a profile (returned as is), a profile name, `host`, or a profile JSON file (relative to `cwd`). */
export function resolveTarget(target: string | TargetProfile, cwd: string = process.cwd()): TargetProfile {
  if (typeof target !== 'string') return target;
  if (target === 'host') {
    const file = resolve(cwd, HOST_PROFILE_PATH);
    return existsSync(file) ? profileFromJson(readFileSync(file, 'utf8')) : hostProfile();
  }
  if (profileNames().includes(target)) return profileByName(target);
  if (target.endsWith('.json') || existsSync(resolve(cwd, target))) {
    let text: string;
    try {
      text = readFileSync(resolve(cwd, target), 'utf8');
    } catch (e) {
      throw new BuildError('BUILD_TARGET', `cannot read target profile ${target}: ${(e as Error).message}`);
    }
    return profileFromJson(text);
  }
  throw new BuildError('BUILD_TARGET', `unknown target '${target}'; use one of ${profileNames().join(', ')}, host, or a profile JSON file`);
}

/**
 * ns/packet of one scenario on both sides with BPF_PROG_TEST_RUN, interleaved
 * round by round (the order alternating), after checking that both sides give
 * the same return code, the same output frame and the same conntrack state —
 * what makes the C program a fair twin. A mismatch throws (the bench fails).
 *
 * Every path is timed as single runs (repeat 1), each on the original frame:
 * with `repeat` > 1 the kernel runs the program again on the frame the previous
 * run rewrote, so every run after the first would time the path a translated
 * packet takes (for a DNATed request or a reverse-NATed reply: no match, pass)
 * instead of the path itself. A single run's duration includes the test-run
 * timer's own cost, the same on both sides (`timerFloorNs` measures it on an
 * empty program), which pulls ratios towards 1.
 */
import type { LoadedObject } from '../../loader/object/index.js';
import type { RunResult } from '../../loader/programs/index.js';
import type { Side } from './twins.js';

/** Runs a program on a frame (inside whatever namespace the scenario needs). */
export type RunOn = (obj: LoadedObject, program: string, packet: Uint8Array, repeat?: number) => RunResult;

/** A benchmarked path. */
export interface Scenario {
  readonly id: string;
  readonly what: string;
  /** The program that runs the packet (same name on both sides). */
  readonly program: string;
  readonly packet: Uint8Array;
  /** The flow's state is deleted before every run (ns/packet of a new flow). */
  readonly fresh: boolean;
  /** Deletes the flow's state (every entry the path creates). */
  clear(obj: LoadedObject): void;
  /** The flow's state with clock-dependent bytes zeroed, for comparing sides. */
  state(obj: LoadedObject): string;
  /** Brings a side into the state the path needs (after `clear`). */
  setup(obj: LoadedObject, run: RunOn): void;
}

/** Settings of a measurement. */
export interface MeasureSettings {
  /** Interleaved rounds per scenario. */
  readonly rounds: number;
  /** Single runs per round and side (for new-flow paths the state is deleted before each). */
  readonly runs: number;
}

/** What one side did on a scenario. */
export interface SideResult {
  /** Interquartile mean over rounds of the kernel's mean ns per run. */
  readonly nsPerPacket: number;
  /** Every round's mean ns per run. */
  readonly roundsNs: number[];
  /** Packets the side ran in the timed rounds. */
  readonly packets: number;
  readonly retval: number;
}

/** One scenario's comparison. */
export interface ScenarioResult {
  readonly id: string;
  readonly what: string;
  readonly tsbpf: SideResult;
  readonly clang: SideResult;
  /** tsbpf / clang, of the interquartile means. */
  readonly ratio: number;
  /** Both sides produced byte-identical output frames and the same return code and conntrack state. */
  readonly identical: true;
  /** The output frame differs from the input (the path rewrote it). */
  readonly rewritten: boolean;
  readonly retval: number;
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
/**
 * Interquartile mean: the mean of the middle half of the rounds. Robust to a
 * round disturbed by other load like a median, but finer than the kernel's
 * whole-nanosecond per-round means.
 */
export function interquartileMean(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const q = Math.floor(s.length / 4);
  const mid = s.slice(q, s.length - q);
  return mid.reduce((a, b) => a + b, 0) / mid.length;
}

/** Brings a side into the scenario's state. */
function prepare(side: Side, s: Scenario, run: RunOn): void {
  s.clear(side.obj);
  s.setup(side.obj, run);
}

/** Throws unless the two outputs agree. */
function same(s: Scenario, what: string, a: { retval: number; data: Uint8Array }, b: { retval: number; data: Uint8Array }, sa: string, sb: string): void {
  if (a.retval !== b.retval || hex(a.data) !== hex(b.data) || sa !== sb) {
    throw new Error(`${s.id} (${what}): the C twin is not a twin — tsbpf retval ${a.retval} frame ${hex(a.data)} ct ${sa}; clang retval ${b.retval} frame ${hex(b.data)} ct ${sb}`);
  }
}

/** Checks then times scenario `s` on both sides. */
export function measureScenario(sides: readonly [Side, Side], s: Scenario, settings: MeasureSettings, run: RunOn): ScenarioResult {
  const outs = sides.map((side) => {
    prepare(side, s, run);
    const r = run(side.obj, s.program, s.packet);
    return { retval: r.retval, data: r.data, state: s.state(side.obj) };
  });
  same(s, 'first run', outs[0]!, outs[1]!, outs[0]!.state, outs[1]!.state);
  for (const side of sides) prepare(side, s, run);

  const rounds: [number[], number[]] = [[], []];
  const packets = [0, 0];
  for (let round = 0; round < settings.rounds; round++) {
    const order = round % 2 === 0 ? [0, 1] : [1, 0];
    const last: ({ retval: number; data: Uint8Array } | undefined)[] = [undefined, undefined];
    for (const i of order) {
      const side = sides[i]!;
      let total = 0;
      for (let k = 0; k < settings.runs; k++) {
        if (s.fresh) s.clear(side.obj);
        const r = run(side.obj, s.program, s.packet, 1);
        total += r.duration;
        last[i] = r;
      }
      rounds[i]!.push(total / settings.runs);
      packets[i]! += settings.runs;
    }
    same(s, `round ${round}`, last[0]!, last[1]!, '', '');
    // Every timed run must have taken the path the first run checked (same verdict, same frame).
    if (last[0]!.retval !== outs[0]!.retval || hex(last[0]!.data) !== hex(outs[0]!.data))
      throw new Error(`${s.id} (round ${round}): the timed runs took another path than the checked one — retval ${last[0]!.retval} frame ${hex(last[0]!.data)}, first run retval ${outs[0]!.retval} frame ${hex(outs[0]!.data)}`);
  }
  const result = (i: 0 | 1): SideResult => ({ nsPerPacket: interquartileMean(rounds[i]), roundsNs: rounds[i], packets: packets[i]!, retval: outs[i]!.retval });
  const tsbpf = result(0);
  const clang = result(1);
  return {
    id: s.id,
    what: s.what,
    tsbpf,
    clang,
    ratio: tsbpf.nsPerPacket / clang.nsPerPacket,
    identical: true,
    rewritten: hex(outs[0]!.data) !== hex(s.packet),
    retval: outs[0]!.retval,
  };
}

/**
 * The test-run timer's own cost in a single run: the interquartile mean over
 * `rounds` of `runs` single runs of `program` (an empty one), ns.
 */
export function timerFloorNs(run: () => RunResult, settings: MeasureSettings): number {
  const rounds: number[] = [];
  for (let round = 0; round < settings.rounds; round++) {
    let total = 0;
    for (let k = 0; k < settings.runs; k++) total += run().duration;
    rounds.push(total / settings.runs);
  }
  return interquartileMean(rounds);
}

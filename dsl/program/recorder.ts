/**
 * The state behind a builder while one function body runs: the IR blocks being
 * filled, the open scopes (a value used after its scope closed is a build error
 * naming both lines), virtual registers, the stack frame, and what the body
 * referenced (maps, globals, subfunctions).
 */
import { callerLocation, type SourceLocation } from '../isa/index.js';
import { DslError, formatLocation } from '../ir/errors.js';
import { FIRST_VREG, type AluKind, type FrameObject, type Node, type Operand, type VReg, type Width } from '../ir/index.js';
import { MAX_STACK_BYTES, type AttachTypeName, type ProgTypeName, type TargetProfile } from '../kernel/index.js';
import { ScalarImpl, type ScalarInfo } from './scalar.js';

/** A lexical scope of the body (a branch, a loop body, an `ifPresent` callback). */
export class Scope {
  closed = false;
  constructor(readonly parent: Scope | undefined) {}
}

/** Something the object needs besides code (declared in program.ts / maps.ts). */
export interface Referenced {
  readonly name: string;
  readonly src?: SourceLocation | undefined;
}

/** Per-function recording state. */
export class Recorder {
  private nextVReg = FIRST_VREG;
  private readonly blocks: Node[][] = [[]];
  scope: Scope = new Scope(undefined);
  private readonly loopStack: number[] = [];
  private loopNo = 0;
  /** Bytes of stack the frame needs: the most ever reserved at once. */
  frameSize = 0;
  /**
   * Bytes reserved now. A scope's locals cannot be used after it closes (their
   * views are scope-checked), so closing a scope hands its bytes back and a later
   * sibling scope reuses them, as a C compiler shares the slots of disjoint blocks.
   */
  private frameTop = 0;
  readonly objects: FrameObject[] = [];
  /** Maps, globals and subfunctions referenced, by name, in first-use order. */
  readonly maps = new Map<string, Referenced>();
  readonly globals = new Map<string, Referenced>();
  readonly fns = new Map<string, Referenced>();
  usedTailCall = false;
  /** Packet generation: helpers that may move packet data start a new one, invalidating packet pointers. */
  packetEpoch = 0;
  packetInvalidatedBy: string | undefined;
  /** Packet generations started so far (epochs are never reused, see packet-flow.ts). */
  packetGenerations = 0;
  /** Packet-pointer uses while a loop body is recorded (see packet-flow.ts). */
  packetUses: { readonly epoch: number | undefined; readonly scope: Scope | undefined; readonly src: SourceLocation | undefined }[] | undefined;
  usedCallFn = false;
  /**
   * Kernel references (sockets from sk_lookup) held by the enclosing scopes,
   * innermost last: every exit releases them; `loops` is the loop depth at acquisition.
   */
  readonly held: { readonly what: string; readonly loops: number; release(): void }[] = [];

  constructor(
    readonly profile: TargetProfile,
    readonly progType: ProgTypeName,
    readonly attachType: AttachTypeName | undefined,
    readonly kind: 'program' | 'subprogram',
    readonly inlineCalls: boolean,
  ) {}

  vreg(): VReg {
    return this.nextVReg++;
  }

  get nextFree(): number {
    return this.nextVReg;
  }

  /** Appends a node to the open block, with the user's source location. */
  emit(node: Node): void {
    const src = node.src ?? callerLocation();
    this.blocks[this.blocks.length - 1]!.push(src ? ({ ...node, src } as Node) : node);
  }

  /** The top-level block (after the body ran). */
  get body(): readonly Node[] {
    return this.blocks[0]!;
  }

  /**
   * Runs `fn` in a new scope and returns the nodes it recorded. Its stack locals
   * are released when it closes, unless `keepStack` (nodes that run later than
   * they are recorded, such as the lazy side of a condition, whose locals must not
   * overlap locals the enclosing scope reserves meanwhile).
   */
  block(fn: () => void, keepStack = false): Node[] {
    const scope = new Scope(this.scope);
    const top = this.frameTop;
    this.blocks.push([]);
    this.scope = scope;
    try {
      fn();
    } finally {
      scope.closed = true;
      this.scope = scope.parent!;
      if (!keepStack) this.frameTop = top;
    }
    return this.blocks.pop()!;
  }

  /** Runs a loop body with break/continue allowed; returns the loop id and nodes. */
  loop(fn: () => void): { id: number; body: Node[] } {
    const id = this.loopNo++;
    this.loopStack.push(id);
    try {
      return { id, body: this.block(fn) };
    } finally {
      this.loopStack.pop();
    }
  }

  /** How many loops are open around the code being recorded. */
  get loopDepth(): number {
    return this.loopStack.length;
  }

  /** The innermost open loop, or a build error for break/continue outside loops. */
  currentLoop(what: string): number {
    const id = this.loopStack[this.loopStack.length - 1];
    if (id === undefined) throw new DslError('DSL_SCOPE', `${what}() outside a loop`, callerLocation());
    return id;
  }

  /** Throws when a value from a closed scope is used. */
  checkScope(scope: Scope | undefined, producedAt: SourceLocation | undefined, what: string): void {
    if (scope?.closed)
      throw new DslError('DSL_SCOPE', `${what} produced at ${formatLocation(producedAt)} is used outside the scope that produced it`, callerLocation());
  }

  /** A value of type `info` held in `op`. */
  value(info: ScalarInfo, op: Operand): ScalarImpl {
    return new ScalarImpl(this, info, () => op, typeof op === 'bigint' ? undefined : this.scope, callerLocation());
  }

  alu(alu: AluKind, a: Operand, b: Operand, width: Width): VReg {
    const dst = this.vreg();
    this.emit({ op: 'alu', alu, dst, a, b, width });
    return dst;
  }

  mov(a: Operand, width: Width): VReg {
    const dst = this.vreg();
    this.emit({ op: 'mov', dst, a, width });
    return dst;
  }

  sext(a: Operand, from: 8 | 16 | 32): VReg {
    const r = typeof a === 'bigint' ? this.mov(a, 64) : a;
    const dst = this.vreg();
    this.emit({ op: 'sext', dst, a: r, from });
    return dst;
  }

  swap(a: VReg, bits: 16 | 32 | 64): VReg {
    const dst = this.vreg();
    this.emit({ op: 'swap', dst, a, bits });
    return dst;
  }

  /** Reserves `size` bytes of stack (aligned to 8); returns the (negative) offset from r10. */
  alloc(size: number): number {
    const src = callerLocation();
    const rounded = Math.max(8, Math.ceil(size / 8) * 8);
    this.frameTop += rounded;
    this.frameSize = Math.max(this.frameSize, this.frameTop);
    const off = -this.frameTop;
    // The real size: bytes of the alignment tail are nobody's (their zero-fill may be dropped).
    this.objects.push({ off, size, src });
    if (this.frameTop > MAX_STACK_BYTES) throw new DslError('DSL_STACK_OVERFLOW', `stack frame exceeds ${MAX_STACK_BYTES} bytes: this local needs ${this.frameTop} bytes in all`, src);
    return off;
  }
}

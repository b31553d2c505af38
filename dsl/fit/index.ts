/**
 * Fitting programs to a target kernel at the instruction level: the checker
 * (`checkAgainstProfile`), automatic tail-call splitting (`splitProgram`) and the
 * whole-object pipeline `fitObject` used by `tsbpf build`.
 */
export { FitError } from './errors.js';
export { buildFlow, type Flow } from './flow.js';
export { analyze, uninitialisedReads, type Analysis, type State, type UninitRead, STACK_BYTES, TAIL_CALL_HELPER } from './analysis.js';
export { type Kind, describeKind } from './kinds.js';
export { resumePoint, describeCarried, type Carried, type ResumePoint } from './carry.js';
export { checkAgainstProfile, assertFitsProfile, sectionTypes, type FitProblem, type CheckedProgram, type CheckOptions } from './check.js';
export { splitProgram, defaultReturnFor, type SplitOptions, type SplitReport, type SplitPiece, type SplitCut, type SplitResult } from './split.js';
export { fitObject, formatFitReports, type ProgramFitReport, type FitOptions } from './object.js';
export { tighten } from './tighten.js';
export { tightenObject } from './object.js';

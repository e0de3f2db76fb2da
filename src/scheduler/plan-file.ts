/**
 * Reading a plan file: YAML or JSON (JSON is YAML), validated by the same
 * `parsePlan` as a plan that arrives any other way. Errors name the line and
 * the field, so an operator finds the mistake in their file, not in ours.
 */
import { readFileSync } from 'node:fs';
import { isMap, isSeq, LineCounter, parseDocument, type Node } from 'yaml';
import { ErrorCode, HashgridError, isHashgridError } from '../core/errors.js';
import type { SchedulerPlan } from '../bus/schemas.js';
import { parsePlan } from './scheduler.js';

/** Fields the command line may set over the file's. */
export interface PlanOverrides {
  mode?: 'sequential' | 'parallel';
}

export function readPlanFile(path: string, overrides: PlanOverrides = {}): SchedulerPlan {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new HashgridError(ErrorCode.INVALID_ARGUMENT, `plan: cannot read ${path}: ${(e as Error).message}`);
  }
  return parsePlanText(text, path, overrides);
}

/** Parses and validates plan text; `name` is what errors call the file. */
export function parsePlanText(text: string, name: string, overrides: PlanOverrides = {}): SchedulerPlan {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const syntax = doc.errors[0];
  if (syntax) {
    const at = lines.linePos(syntax.pos[0]);
    throw new HashgridError(ErrorCode.INVALID_ARGUMENT, `plan: ${name}:${at.line}:${at.col}: ${syntax.message.split('\n')[0]}`, { line: at.line });
  }
  const data: unknown = doc.toJS();
  const merged = data && typeof data === 'object' && !Array.isArray(data) ? { ...(data as object), ...overrides } : data;
  try {
    return parsePlan(merged);
  } catch (e) {
    if (!isHashgridError(e)) throw e;
    // Point at the deepest node of the failing path that exists in the file (a missing field: its parent).
    const path = String(e.data.path ?? '');
    const range = nodeAt(doc.contents as Node | null, path ? path.split('.') : [])?.range;
    if (!range || (overrides.mode && path === 'mode')) throw e;
    const line = lines.linePos(range[0]).line;
    throw new HashgridError(ErrorCode.INVALID_ARGUMENT, e.message.replace(/^plan: /, `plan: ${name}:${line}: `), { ...e.data, line });
  }
}

function nodeAt(node: Node | null, path: string[]): Node | null {
  let here = node;
  for (const key of path) {
    const next = isMap(here) ? (here.get(key, true) as Node | undefined) : isSeq(here) ? (here.get(Number(key), true) as Node | undefined) : undefined;
    if (!next) return here;
    here = next;
  }
  return here;
}

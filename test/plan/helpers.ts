import { vi } from 'vitest';
import { parseRunbook } from '../../src/plan/runbook.js';
import type { Op } from '../../src/plan/ops.js';
import { ConfigError } from '../../src/model/errors.js';

export const io = { readFile: vi.fn((p: string): string => `*filter\nCOMMIT\n# ${p}\n`) };

/** Parses `text` as host h1's runbook in file rb.yaml starting at line 1. */
export function run(text: string, firstLine = 1): Op[] {
  return parseRunbook({ host: 'h1', file: 'rb.yaml', text, firstLine, baseDir: 'models' }, io);
}

/** The single Op of a one-command runbook, without host/origin noise. */
export function one(text: string): Record<string, unknown> {
  const ops = run(text);
  if (ops.length !== 1) throw new Error(`expected one op, got ${ops.length}: ${JSON.stringify(ops)}`);
  const { host: _h, origin: _o, ...rest } = ops[0]!;
  return rest;
}

/** The ConfigError thrown by a runbook (fails the test when none is thrown). */
export function err(text: string, firstLine = 1): ConfigError {
  try {
    run(text, firstLine);
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error(`no ConfigError for: ${text}`);
}

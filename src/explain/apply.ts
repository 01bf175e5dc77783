/**
 * Proven fixes written into a model file: each failing probe's first proven fix, appended to the
 * runbook of the host it belongs to (or to `services:`), the rest of the YAML left as written.
 *
 * Fixes are chosen one probe at a time on the world the earlier fixes made, so a later fix never
 * undoes an earlier one (the probes fixed so far are protected like the ones that passed), and
 * the file written is parsed and simulated again: every fixed probe must give the result its fix
 * promised, or it is a bug.
 */
import { isMap, isScalar, isSeq, parseDocument, Scalar, type Node } from 'yaml';
import { loadModel, nodeIo, parseModel, type ModelIo, type ProbeResult } from '../plan/model.js';
import { buildWorld, type Built } from '../world/build.js';
import type { World } from '../world/types.js';
import { explainRun, modelRuns, resultOf, runbookLineFor, wantedOf, withLine, withService, type Explanation, type ProvenFix } from './search.js';
import { simulate } from '../engine/probe.js';

export interface ProbeFixed {
  readonly probe: string;
  readonly wanted: ProbeResult;
  /** the fix written, or undefined when no single change was proven */
  readonly fix?: ProvenFix;
  /** the probe already gave the wanted result after an earlier fix */
  readonly byEarlier?: boolean;
  readonly explanation?: Explanation;
}

export interface FixedModel {
  readonly text: string;
  readonly probes: readonly ProbeFixed[];
}

/** Chooses the first proven fix of each failing probe (or of the one named) and writes them into `text`. */
export function fixModel(built: Built, text: string, opts: { probe?: string; io?: ModelIo } = {}): FixedModel {
  const io = opts.io ?? nodeIo;
  const first = modelRuns(built);
  const wanted = first.map((r) => wantedOf(r));
  const passed = first.map((r, i) => (r.ok ? i : -1)).filter((i) => i >= 0);
  let world: World = built.world;
  let runs = first;
  const fixedSoFar: number[] = [];
  const out: ProbeFixed[] = [];
  let edited = text;
  for (const [i, run] of first.entries()) {
    const want = wanted[i];
    if (want === undefined || (opts.probe !== undefined && run.name !== opts.probe)) continue;
    if (runs[i]!.traces.every((t) => t.result === want)) {
      out.push({ probe: run.name, wanted: want, byEarlier: true });
      fixedSoFar.push(i);
      continue;
    }
    const ex = explainRun(built, world, runs, i, { wanted: want, alsoProtect: [...fixedSoFar], io, protectPassed: passed });
    const fix = ex?.fixes[0];
    if (!ex || !fix) {
      out.push({ probe: run.name, wanted: want, ...(ex ? { explanation: ex } : {}) });
      continue;
    }
    world = fix.section === 'services' && fix.service ? withService(world, fix.ns, fix.service.proto, fix.service.port) : withLine(built, world, fix.host, fix.command, io);
    edited = fix.section === 'services' && fix.service ? appendService(edited, fix.service.at, `${fix.service.proto}/${fix.service.port}`) : appendRunbookLine(edited, built.model.file, fix.host, runbookLineFor(built, fix.host, fix.command), io);
    runs = modelRuns(built, world);
    fixedSoFar.push(i);
    out.push({ probe: run.name, wanted: want, fix, explanation: ex });
  }
  // the file as written must do what the fixes promised
  const again = buildWorld(parseModel(edited, built.model.file, io), io);
  for (const p of out) {
    if (!p.fix) continue;
    const idx = built.model.probes.findIndex((q) => q.name === p.probe);
    const run = modelRuns(again)[idx];
    if (!run || !run.traces.every((t) => t.result === p.wanted))
      throw new Error(`fix for "${p.probe}" promised ${p.wanted}, the rewritten model gives ${run ? resultOf(run.traces) : 'nothing'}`);
  }
  return { text: edited, probes: out };
}

function lineStarts(text: string): number[] {
  const out = [0];
  for (let i = 0; i < text.length; i++) if (text[i] === '\n') out.push(i + 1);
  return out;
}

/** The host's `run:` block gets one more line; other forms are rewritten through the YAML library. */
export function appendRunbookLine(text: string, file: string, host: string, command: string, io: ModelIo = nodeIo): string {
  const doc = parseDocument(text, { merge: true });
  const hosts = doc.get('hosts', true) as Node | undefined;
  const hostNode = isMap(hosts) ? (hosts.get(host, true) as Node | undefined) : undefined;
  const run = isMap(hostNode) ? hostNode.get('run', true) : undefined;
  if (isScalar(run) && run.type === Scalar.BLOCK_LITERAL && run.range && !isAliased(text, run.range[0])) {
    // insert after the block's last non-blank line, with the block's indentation
    const starts = lineStarts(text);
    const [from, , end] = run.range;
    const lines = starts.filter((s) => s > from && s < end);
    const content = lines.filter((s) => text.slice(s, text.indexOf('\n', s) < 0 ? text.length : text.indexOf('\n', s)).trim() !== '');
    const firstLine = content[0];
    const lastLine = content[content.length - 1];
    if (firstLine !== undefined && lastLine !== undefined) {
      const indent = /^[ \t]*/.exec(text.slice(firstLine))![0];
      const eol = text.indexOf('\n', lastLine);
      const at = eol < 0 ? text.length : eol;
      return `${text.slice(0, at)}\n${indent}${command}${text.slice(at)}`;
    }
  }
  // no literal block of its own (none yet, script:, a quoted or folded scalar, an alias): set run: to the whole runbook
  const model = parseModel(text, file, io);
  const h = model.hosts.find((x) => x.name === host);
  const before = h?.runbook ? h.runbook.text.replace(/\n*$/, '\n') : '';
  const node = doc.createNode(`${before}${command}\n`) as Scalar;
  node.type = Scalar.BLOCK_LITERAL;
  if (isMap(hostNode)) {
    hostNode.delete('script');
    hostNode.set('run', node);
  } else if (isMap(hosts)) hosts.set(host, doc.createNode({ run: node }));
  return doc.toString();
}

/** True when the node at `offset` is reached through an anchor other hosts may share. */
function isAliased(text: string, offset: number): boolean {
  const lineStart = text.lastIndexOf('\n', offset) + 1;
  return /&[\w-]+/.test(text.slice(lineStart, offset));
}

/** `services:` gets one more entry. */
export function appendService(text: string, at: string, listen: string): string {
  const entry = `{at: ${at}, listen: ${listen}}`;
  const doc = parseDocument(text, { merge: true });
  const services = doc.get('services', true) as Node | undefined;
  if (isSeq(services) && !services.flow && services.range && services.items.length > 0) {
    const first = services.items[0] as Node;
    const starts = lineStarts(text);
    const firstStart = first.range ? starts.filter((s) => s <= first.range![0]).pop() ?? 0 : 0;
    const indent = /^[ \t]*/.exec(text.slice(firstStart))![0];
    const last = services.items[services.items.length - 1] as Node;
    const lastEnd = last.range ? last.range[1] : services.range[1];
    const eol = text.indexOf('\n', Math.max(lastEnd - 1, 0));
    const at2 = eol < 0 ? text.length : eol;
    return `${text.slice(0, at2)}\n${indent}- ${entry}${text.slice(at2)}`;
  }
  if (services === undefined || services === null) return `${text.replace(/\n*$/, '\n')}services:\n  - ${entry}\n`;
  if (isSeq(services)) services.add(doc.createNode({ at, listen }));
  else doc.set('services', doc.createNode([{ at, listen }]));
  return doc.toString();
}

/** `netpath fix` on a file path. */
export function fixModelFile(path: string, opts: { probe?: string } = {}): FixedModel {
  const text = nodeIo.readFile(path);
  return fixModel(buildWorld(loadModel(path)), text, opts);
}

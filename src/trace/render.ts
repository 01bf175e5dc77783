/** Traces as text for people and as JSON for tools. */
import { formatOrigin } from '../model/origin.js';
import type { World } from '../world/types.js';
import { displayNs } from '../world/build.js';
import { dropText, pktText, stepText } from './text.js';
import type { ProbeTrace, Step } from './types.js';

export function renderTrace(world: World, tr: ProbeTrace, opts: { verbose?: boolean } = {}): string {
  const out: string[] = [];
  const name = (id: string): string => displayNs(world, id);
  const head = `${tr.proto} ${name(tr.from)} -> ${tr.to}: ${tr.result}${tr.errno !== 'ok' && tr.errno !== 'timeout' ? ` (${tr.errno})` : ''}`;
  out.push(tr.probability < 1 ? `${head}   [branch probability ${fmtP(tr.probability)}]` : head);
  let lastNs = '';
  // without --verbose: the story up to the client's answer (and its reply), not the whole exchange
  const cut = opts.verbose ? tr.steps.length : storyEnd(tr);
  for (const [i, s] of tr.steps.entries()) {
    if (i >= cut) {
      out.push(`  ... ${tr.steps.length - cut} more steps (the rest of the exchange; --verbose shows them)`);
      break;
    }
    if (!opts.verbose && (s.kind === 'xmit' || s.kind === 'conntrack')) continue;
    if (s.ns !== lastNs) {
      out.push(`  ${name(s.ns)}:`);
      lastNs = s.ns;
    }
    out.push(`    ${stepLine(s)}`);
  }
  for (const n of tr.notes) out.push(`  note: ${n}`);
  if (tr.why) {
    out.push('  why:');
    out.push(`    ${tr.why.summary}`);
    if (tr.why.fixes.length) {
      out.push('  fixes (any one):');
      for (const f of tr.why.fixes) out.push(`    - ${f}`);
    }
  }
  return out.join('\n') + '\n';
}

/** Index after the step where the client learnt its result (connect done, reply, error). */
function storyEnd(tr: ProbeTrace): number {
  const i = tr.steps.findIndex((s) => s.kind === 'socket' && s.ns === tr.from && (s.event === 'connect-ok' || s.event === 'connect-refused' || s.event === 'client-error'));
  if (i >= 0) return i + 1;
  if (tr.result === 'reachable') {
    const d = tr.steps.findIndex((s) => s.kind === 'deliver' && s.ns === tr.from && s.dir === 'reply');
    if (d >= 0) return d + 1;
  }
  return tr.steps.length;
}

function stepLine(s: Step): string {
  const t = `${(s.t / 1000).toFixed(3).padStart(8)}ms`;
  const dir = s.dir === 'reply' ? '<-' : '->';
  const origin = s.origin && s.origin.line > 0 ? `   [${formatOrigin(s.origin)}]` : '';
  return `${t} ${dir} ${(s.kind === 'nat-bind' ? 'nat' : s.kind).padEnd(9)} ${stepText(s)}${origin}`;
}

function fmtP(p: number): string {
  return p.toFixed(6).replace(/0+$/, '').replace(/\.$/, '');
}

/** The JSON form of a trace (frames of captures are left to --pcap). */
export function traceJson(world: World, tr: ProbeTrace): unknown {
  return {
    from: displayNs(world, tr.from),
    to: tr.to,
    proto: tr.proto,
    result: tr.result,
    errno: tr.errno,
    probability: tr.probability,
    steps: tr.steps.map((s) => ({
      t: s.t,
      ns: displayNs(world, s.ns),
      ...(s.dev !== undefined ? { dev: s.dev } : {}),
      kind: s.kind === 'nat-bind' ? 'nat' : s.kind,
      detail: stepText(s),
      ...(s.dir ? { dir: s.dir } : {}),
      ...(s.packet ? { packet: pktText(s.packet) } : {}),
      ...(s.kind === 'nat' ? { before: pktText(s.before) } : {}),
      ...(s.kind === 'nf' ? { nf: s.nf } : {}),
      step: stepJson(s),
      ...(s.origin && s.origin.line > 0 ? { origin: { file: s.origin.file, line: s.origin.line, text: s.origin.text } } : {}),
    })),
    drops: tr.drops.map((d) => ({
      ns: displayNs(world, d.ns),
      ...(d.dev !== undefined ? { dev: d.dev } : {}),
      code: d.code,
      stage: d.stage,
      ...(d.counter !== undefined ? { counter: d.counter } : {}),
      detail: dropText(d),
      reason: d.reason,
      dir: d.dir,
      packet: pktText(d.packet),
      ...(d.origin && d.origin.line > 0 ? { origin: { file: d.origin.file, line: d.origin.line, text: d.origin.text } } : {}),
    })),
    notes: tr.notes,
    ...(tr.why ? { why: { ...tr.why, ns: displayNs(world, tr.why.ns) } } : {}),
  };
}

/** The typed fields of a step, as JSON (addresses and packets as text, no frames). */
function stepJson(s: Step): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(s)) {
    if (k === 't' || k === 'ns' || k === 'dev' || k === 'dir' || k === 'packet' || k === 'before' || k === 'origin' || k === 'nf' || k === 'drop') continue;
    out[k] = v;
  }
  if (s.kind === 'drop') out['code'] = s.drop.code;
  return out;
}

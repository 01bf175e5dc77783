/**
 * `netpath verify MODEL [--json]`: every invariant of the model decided for all flows of its set
 * (src/verify, docs/verify.md); exit 1 when one fails, 2 on bad input.
 */
import { formatOrigin } from '../model/origin.js';
import type { NsId } from '../model/link.js';
import type { ProbeProto } from '../plan/model.js';
import { loadModel, nodeIo } from '../plan/model.js';
import { parseInvariants, resolveInvariants } from '../prop/invariants.js';
import type { Flow } from '../engine/probe.js';
import { formatIpv4 } from '../wire/ipv4.js';
import { buildWorld, displayNs, resolveNsRef } from '../world/build.js';
import { KERNEL } from '../model/origin.js';
import { parseCidr } from '../wire/ipv4.js';
import { readFileSync } from 'node:fs';
import { ConfigError } from '../model/errors.js';
import { parseIpsetSave, type Ipsets } from '../netfilter/ipset.js';
import type { RulesOutcome, RulesTraceInput } from '../netfilter/trace.js';
import { parsePorts } from '../prop/flowset.js';
import { outcomeKey, serviceMatrix, type MatrixInput, type MatrixRow } from '../verify/matrix.js';
import { rulesDiff } from '../verify/rulesdiff.js';
import { flagNames, flagsText, ifaceText, SYN, type IfaceClasses } from '../verify/dims.js';
import type { Interval } from '../verify/space.js';
import { optAddressList, optIfname, optionError, optProto } from './options.js';
import { loadDump, outcomeFields } from './rules.js';
import { diffWorlds } from '../verify/diff.js';
import type { World } from '../world/types.js';
import type { Row } from '../verify/atoms.js';
import { addrRangeText, intervalPrefixes, mergeIntervals, prefixInterval, prefixText, rangesText } from '../verify/space.js';
import type { Prefix } from '../wire/ipv4.js';
import { verifyInvariant, type InvariantVerdict, type ViolationRow } from '../verify/verify.js';
import type { Io } from './main.js';

export interface VerifyCliOptions {
  readonly json?: boolean;
}

export function cmdVerify(path: string, opts: VerifyCliOptions, io: Io): number {
  const built = buildWorld(loadModel(path));
  const invariants = resolveInvariants(built, parseInvariants(nodeIo.readFile(path), path));
  const { world } = built;
  const verdicts = invariants.map((inv) => verifyInvariant(world, inv));
  const failed = verdicts.some((v) => !v.holds);
  if (opts.json) {
    io.out(JSON.stringify({ invariants: verdicts.map((v) => verdictJson(world, v, path)) }, null, 2) + '\n');
    return failed ? 1 : 0;
  }
  if (invariants.length === 0) {
    io.out(`${path}: no invariants (add an invariants: list; see docs/properties.md)\n`);
    return 0;
  }
  io.out(table([['invariant', 'form', 'classes', 'holds'], ...verdicts.map((v) => [v.name, v.form, String(v.atoms), v.holds ? 'ok' : 'FAIL'])]));
  for (const v of verdicts) {
    if (v.holds) continue;
    io.out(`\nFAIL ${v.name}   [${formatOrigin(v.origin)}]\n`);
    io.out(indent(table([['from', 'src', 'dst', 'proto', 'dport', 'sport', 'result'], ...v.violations.map((r) => rowCells(world, r))])));
    for (const r of v.violations) io.out(`  witness: ${witnessCommand(world, path, r.from, r.witness)}   (${r.violation})\n`);
  }
  const labels = [...new Set(verdicts.flatMap((v) => v.labels))];
  for (const l of labels) io.out(`note: ${l}\n`);
  if (failed) io.out(`\n${verdicts.filter((v) => !v.holds).length} of ${verdicts.length} invariants fail, for the flows listed (every other flow of their sets keeps them)\n`);
  return failed ? 1 : 0;
}

export function table(rows: readonly (readonly string[])[]): string {
  const n = Math.max(...rows.map((r) => r.length));
  const w = Array.from({ length: n }, (_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(w[i]!)).join('  ').trimEnd()).join('\n') + '\n';
}

function indent(s: string): string {
  return s.trimEnd().split('\n').map((l) => `  ${l}`).join('\n') + '\n';
}

function rowCells(world: World, r: ViolationRow): string[] {
  return [
    displayNs(world, r.from),
    r.src !== undefined ? formatIpv4(r.src) : '-',
    prefixText(r.row.dst),
    r.proto,
    r.row.dport ? rangesText(r.row.dport) : '-',
    r.row.sport ? rangesText(r.row.sport) : '-',
    r.probability !== undefined ? `${r.result} (p=${r.probability})` : r.result,
  ];
}

/** The `netpath trace` command that shows one witness flow. */
export function witnessCommand(world: World, path: string, from: NsId, f: Flow): string {
  const to = f.port !== undefined ? `${formatIpv4(f.to)}:${f.port}` : formatIpv4(f.to);
  return `netpath trace ${path} --from ${displayNs(world, from)} --to ${to} --proto ${f.proto}${f.sport !== undefined ? ` --sport ${f.sport}` : ''}`;
}

/** The row fields shared by verify and diff: where from, which packets. */
export function rowJson(world: World, from: NsId, proto: ProbeProto, row: Row, src: number | undefined): Record<string, unknown> {
  return {
    from: displayNs(world, from),
    src: src !== undefined ? formatIpv4(src) : null,
    dst: prefixText(row.dst),
    proto,
    ...(row.sport ? { sport: rangesText(row.sport) } : {}),
    ...(row.dport ? { dport: rangesText(row.dport) } : {}),
  };
}

export function witnessJson(world: World, path: string, from: NsId, f: Flow, src: number | undefined): Record<string, unknown> {
  return {
    from: displayNs(world, from),
    src: src !== undefined ? formatIpv4(src) : null,
    dst: formatIpv4(f.to),
    proto: f.proto,
    ...(f.sport !== undefined ? { sport: f.sport } : {}),
    ...(f.port !== undefined ? { dport: f.port } : {}),
    command: witnessCommand(world, path, from, f),
  };
}

function verdictJson(world: World, v: InvariantVerdict, path: string): unknown {
  return {
    name: v.name,
    form: v.form,
    holds: v.holds,
    classes: v.atoms,
    origin: { file: v.origin.file, line: v.origin.line },
    ...(v.labels.length > 0 ? { labels: v.labels } : {}),
    ...(v.holds
      ? {}
      : {
          violations: v.violations.map((r) => ({
            ...rowJson(world, r.from, r.proto, r.row, r.src),
            result: r.result,
            ...(r.probability !== undefined ? { probability: r.probability } : {}),
            violation: r.violation,
            witness: { ...witnessJson(world, path, r.from, r.witness, r.src), result: r.result, ...(r.trace.why ? { why: r.trace.why.summary } : {}) },
          })),
        }),
  };
}

// --- netpath diff OLD NEW ------------------------------------------------------------------------

export interface DiffCliOptions {
  readonly from?: string;
  readonly to?: string;
  readonly proto?: string;
  readonly json?: boolean;
}

/** `netpath diff OLD NEW [--from NS,...] [--to CIDR,...] [--proto P,...] [--json]`: exit 1 when something changes. */
export function cmdDiff(oldPath: string, newPath: string, opts: DiffCliOptions, io: Io): number {
  const a = buildWorld(loadModel(oldPath)).world;
  const b = buildWorld(loadModel(newPath)).world;
  const list = (s: string | undefined): string[] | undefined => (s === undefined ? undefined : s.split(',').map((x) => x.trim()).filter((x) => x !== ''));
  const fromRefs = list(opts.from);
  const from = fromRefs?.map((r) => {
    const ia = resolveNsRef(a, r, { ...KERNEL, file: '--from' });
    const ib = resolveNsRef(b, r, { ...KERNEL, file: '--from' });
    if (ia !== ib) throw optionError('--from', `"${r}" names different namespaces in the two models`);
    return ia;
  });
  const to = list(opts.to)?.map((t) => {
    const c = parseCidr(t);
    if (!c) throw optionError('--to', `"${t}" is not an IPv4 address or CIDR`);
    return prefixInterval(c.prefix);
  });
  const proto = list(opts.proto)?.map((p) => optProto(p, ['tcp', 'udp', 'icmp'] as const));
  const res = diffWorlds(a, b, { ...(from ? { from } : {}), ...(to ? { to } : {}), ...(proto ? { proto } : {}) });
  const changed = res.changes.length > 0;
  if (opts.json) {
    const changes = res.changes.map((c) => ({
      ...rowJson(b, c.from, c.proto, c.row, c.src),
      before: c.before,
      after: c.after,
      witness: { ...witnessJson(b, newPath, c.from, c.witness, c.src), before: c.before, after: c.after },
    }));
    io.out(JSON.stringify({ changes, classes: res.atoms, ...(res.labels.length > 0 ? { labels: res.labels } : {}) }, null, 2) + '\n');
    return changed ? 1 : 0;
  }
  if (!changed) {
    io.out(`no flow from ${res.from.map((f) => displayNs(b, f)).join(', ')} changes its result (${res.atoms} classes compared)\n`);
    return 0;
  }
  io.out(
    table([
      ['from', 'src', 'dst', 'proto', 'dport', 'sport', 'before', 'after'],
      ...res.changes.map((c) => [
        displayNs(b, c.from),
        c.src !== undefined ? formatIpv4(c.src) : '-',
        prefixText(c.row.dst),
        c.proto,
        c.row.dport ? rangesText(c.row.dport) : '-',
        c.row.sport ? rangesText(c.row.sport) : '-',
        c.before,
        c.after,
      ]),
    ]),
  );
  io.out('\nwitnesses (one flow of each row, in the new plan):\n');
  for (const c of res.changes) io.out(`  ${witnessCommand(b, newPath, c.from, c.witness)}\n`);
  for (const l of res.labels) io.out(`note: ${l}\n`);
  io.out(`\n${res.changes.length} rows of changed flows (${res.atoms} classes compared)\n`);
  return 1;
}

// --- netpath rules matrix FILE -------------------------------------------------------------------

export interface RulesMatrixOptions {
  readonly iif?: string;
  readonly oif?: string;
  readonly proto?: string;
  readonly dport?: string;
  readonly local?: string;
  readonly ipset?: string[];
  /** `syn` (default) or `all`: the TCP flags of the first packets */
  readonly flags?: string;
  readonly json?: boolean;
}

/** The options `rules matrix` and `rules diff` share, checked. */
function matrixOptions(opts: RulesMatrixOptions): Omit<MatrixInput, 'nf'> {
  const protos = (opts.proto ?? 'tcp,udp,icmp').split(',').map((p) => optProto(p.trim(), ['tcp', 'udp', 'sctp', 'icmp'] as const));
  const dport = opts.dport === undefined ? undefined : parsePorts(opts.dport, (d) => { throw optionError('--dport', d); }).map((r) => ({ lo: r.min, hi: r.max }));
  const iif = opts.iif !== undefined ? optIfname(opts.iif, '--iif') : undefined;
  const oif = opts.oif !== undefined ? optIfname(opts.oif, '--oif') : undefined;
  const local = optAddressList(opts.local ?? '', '--local');
  let ipsets: Ipsets | undefined;
  for (const f of opts.ipset ?? []) {
    let text: string;
    try {
      text = readFileSync(f, 'utf8');
    } catch (e) {
      throw new ConfigError('file', f, 0, `cannot read the ipset save file: ${(e as Error).message}`);
    }
    ipsets = new Map([...(ipsets ?? []), ...parseIpsetSave(text, f)]);
  }
  if (opts.flags !== undefined && opts.flags !== 'syn' && opts.flags !== 'all') throw optionError('--flags', `"${opts.flags}" must be syn or all`);
  return { local, protos, ...(opts.flags === 'all' ? { flags: 'all' as const } : {}), ...(iif !== undefined ? { iif } : {}), ...(oif !== undefined ? { oif } : {}), ...(dport ? { dport } : {}), ...(ipsets ? { ipsets } : {}) };
}

/** `netpath rules matrix FILE [--iif IF] [--flags syn|all] [--proto P,...] [--dport PORTS] [--local IPS] [--json]`. */
export function cmdRulesMatrix(file: string, opts: RulesMatrixOptions, io: Io): number {
  const base = matrixOptions(opts);
  const nf = loadDump(file);
  const m = serviceMatrix({ ...base, nf });
  const outcomes = (r: MatrixRow): string => outcomeKey(r.outcomes);
  if (opts.json) {
    const rows = m.rows.map((r) => ({
      src: r.src.map(prefixText).join(','),
      dst: r.dst.map(prefixText).join(','),
      proto: r.proto,
      ...(r.dport ? { dport: rangesText(r.dport) } : {}),
      ...(r.sport ? { sport: rangesText(r.sport) } : {}),
      iif: ifaceText(m.interfaces, r.iif),
      ...(r.flags ? { flags: flagsText(r.flags) } : {}),
      result: outcomes(r),
      outcomes: r.outcomes.map(outcomeFields),
      witness: matrixWitnessJson(file, r.witness, opts),
    }));
    io.out(JSON.stringify({ rows, classes: m.classes, interfaces: m.interfaces.labels, ...(m.labels.length > 0 ? { labels: m.labels } : {}) }, null, 2) + '\n');
    return 0;
  }
  const dims = extraColumns(m.interfaces, opts);
  io.out(
    table([
      ['src', 'dst', 'proto', 'dport', 'sport', ...dims.head, 'result'],
      ...m.rows.map((r) => [addrsText(r.src), addrsText(r.dst), r.proto, r.dport ? rangesText(r.dport) : '-', r.sport ? rangesText(r.sport) : '-', ...dims.cells(r), outcomes(r)]),
    ]),
  );
  for (const l of m.labels) io.out(`note: ${l}\n`);
  io.out(`\n${m.rows.length} rows, ${m.classes} classes\n`);
  return 0;
}

/**
 * The columns of the dimensions a table shows beyond the classic ones: `iif` when the dump tells
 * input interfaces apart (no --iif), `flags` with --flags all.
 */
function extraColumns(ifs: IfaceClasses, opts: RulesMatrixOptions): { head: string[]; cells: (r: { iif: readonly Interval[]; flags?: readonly Interval[] }) => string[] } {
  const showIif = opts.iif === undefined && ifs.labels.length > 1;
  const showFlags = opts.flags === 'all';
  return {
    head: [...(showIif ? ['iif'] : []), ...(showFlags ? ['flags'] : [])],
    cells: (r) => [...(showIif ? [ifaceText(ifs, r.iif)] : []), ...(showFlags ? [r.flags ? flagsText(r.flags) : '-'] : [])],
  };
}

function matrixWitnessCommand(file: string, w: RulesTraceInput, opts: RulesMatrixOptions): string {
  const ep = (a: number, p: number | undefined): string => (p === undefined ? formatIpv4(a) : `${formatIpv4(a)}:${p}`);
  return [
    `netpath rules trace ${file} --src ${ep(w.src, w.sport)} --dst ${ep(w.dst, w.dport)} --proto ${w.proto}`,
    ...(w.iif !== undefined ? [`--iif ${w.iif}`] : []),
    ...(w.tcpFlags !== undefined ? [`--flags ${flagNames(w.tcpFlags)}`] : []),
    ...(opts.oif !== undefined ? [`--oif ${opts.oif}`] : []),
    ...(opts.local ? [`--local ${opts.local}`] : []),
    ...(opts.ipset ?? []).map((f) => `--ipset ${f}`),
  ].join(' ');
}

function matrixWitnessJson(file: string, w: RulesTraceInput, opts: RulesMatrixOptions): Record<string, unknown> {
  return {
    src: formatIpv4(w.src),
    dst: formatIpv4(w.dst),
    proto: w.proto,
    ...(w.sport !== undefined ? { sport: w.sport } : {}),
    ...(w.dport !== undefined ? { dport: w.dport } : {}),
    ...(w.iif !== undefined ? { iif: w.iif } : {}),
    ...(w.proto === 'tcp' ? { flags: flagNames(w.tcpFlags ?? SYN) } : {}),
    command: matrixWitnessCommand(file, w, opts),
  };
}

/** `netpath rules diff OLD NEW [matrix options] [--json]`: exit 1 when a first packet's fate changes. */
export function cmdRulesDiff(oldFile: string, newFile: string, opts: RulesMatrixOptions, io: Io): number {
  const base = matrixOptions(opts);
  const d = rulesDiff({ ...base, before: loadDump(oldFile), after: loadDump(newFile) });
  const cells = (c: (typeof d.changes)[number]): Record<string, string> => ({
    src: c.src.map(prefixText).join(','),
    dst: c.dst.map(prefixText).join(','),
    proto: c.proto,
    ...(c.dport ? { dport: rangesText(c.dport) } : {}),
    ...(c.sport ? { sport: rangesText(c.sport) } : {}),
    iif: ifaceText(d.interfaces, c.iif),
    ...(c.flags ? { flags: flagsText(c.flags) } : {}),
    before: outcomeKey(c.before),
    after: outcomeKey(c.after),
  });
  if (opts.json) {
    const changes = d.changes.map((c) => ({ ...cells(c), witness: { ...matrixWitnessJson(newFile, c.witness, opts), before: outcomeKey(c.before), after: outcomeKey(c.after) } }));
    io.out(JSON.stringify({ changes, classes: d.classes, interfaces: d.interfaces.labels, scope: d.scope.map((b) => `${addrRangeText(b.dst)} ${rangesText([b.dport])}`) }, null, 2) + '\n');
    return d.changes.length > 0 ? 1 : 0;
  }
  if (d.changes.length === 0) {
    io.out(`no first packet changes its fate (${d.classes} classes compared, where the dumps differ)\n`);
    return 0;
  }
  const dims = extraColumns(d.interfaces, opts);
  io.out(table([['src', 'dst', 'proto', 'dport', 'sport', ...dims.head, 'before', 'after'], ...d.changes.map((c) => { const x = cells(c); return [addrsText(c.src), addrsText(c.dst), x['proto']!, x['dport'] ?? '-', x['sport'] ?? '-', ...dims.cells(c), x['before']!, x['after']!]; })]));
  io.out(`\n${d.changes.length} rows of changed packets (${d.classes} classes compared, where the dumps differ)\n`);
  return 1;
}

/** An address set for a table cell: each range as a CIDR when it is one, else `a-b` (JSON keeps CIDR lists). */
function addrsText(ps: readonly Prefix[]): string {
  return mergeIntervals(ps.map(prefixInterval)).map(addrRangeText).join(',');
}

/**
 * The `invariants:` section of a model file (docs/properties.md). The model loader keeps the
 * section untouched; this module reads it again from the file's text so that every error names
 * the file and the line of the offending key, in the loader's style (ConfigError 'model').
 *
 * Parsing is in two stages: `parseInvariants` checks the shape of the YAML (no world needed);
 * `resolveInvariants` checks it against the built world (namespaces exist) and builds the other
 * side of each `equivalent`.
 */
import { resolve } from 'node:path';
import { LineCounter, isMap, isScalar, isSeq, parseDocument, type Node, type YAMLMap } from 'yaml';
import { ConfigError } from '../model/errors.js';
import type { Origin } from '../model/origin.js';
import { PROBE_RESULTS, loadModel, nodeIo, type ModelIo, type ProbeProto, type ProbeResult } from '../plan/model.js';
import { parseRunbook } from '../plan/runbook.js';
import { applyOps } from '../world/apply.js';
import { buildWorld, type Built } from '../world/build.js';
import type { World } from '../world/types.js';
import { resolveFlowSet, type FlowSet, type FlowSetInput } from './flowset.js';

export const FORMS = ['reach', 'isolate', 'return', 'equivalent', 'nat-reversible'] as const;
export type FormName = (typeof FORMS)[number];

/** The other rule set of an `equivalent`: a whole model, or this model with one host changed. */
export type SideSpec =
  | { readonly kind: 'self'; readonly origin: Origin }
  | { readonly kind: 'model'; readonly path: string; readonly origin: Origin }
  /** the host's runbook replaced by a file, relative to the model file */
  | { readonly kind: 'script'; readonly host: string; readonly path: string; readonly origin: Origin }
  /** the host's runbook replaced by inline text */
  | { readonly kind: 'run'; readonly host: string; readonly file: string; readonly text: string; readonly firstLine: number; readonly origin: Origin }
  /** the host's runbook, then `iptables-restore FILE` (a dump replaces the tables it names) */
  | { readonly kind: 'restore'; readonly host: string; readonly path: string; readonly origin: Origin };

export type FormSpec =
  | { readonly kind: 'reach'; readonly expect: ProbeResult }
  | { readonly kind: 'isolate'; readonly strict: boolean }
  | { readonly kind: 'return' }
  | { readonly kind: 'nat-reversible' }
  | { readonly kind: 'equivalent'; readonly a: SideSpec; readonly b: SideSpec };

export interface InvariantSpec {
  /** as written, or undefined (a name is made from the flow set) */
  readonly name?: string;
  readonly form: FormSpec;
  readonly flows: FlowSetInput;
  /** where each flow-set key was written */
  readonly flowOrigins: Readonly<Partial<Record<keyof FlowSetInput, Origin>>>;
  readonly runs?: number;
  readonly origin: Origin;
}

const FLOW_KEYS = ['from', 'to', 'proto', 'ports', 'sports'] as const;
const FORM_KEYS: Readonly<Record<FormName, readonly string[]>> = {
  reach: ['expect'],
  isolate: ['strict'],
  return: [],
  'nat-reversible': [],
  equivalent: ['a', 'b'],
};

/** Reads the invariants of a model file from its text; [] when there are none. */
export function parseInvariants(text: string, file: string): InvariantSpec[] {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  const lines = text.split('\n');
  const origin = (n: Node | null | undefined): Origin => {
    const line = n?.range ? lc.linePos(n.range[0]).line : 1;
    return { file, line, text: (lines[line - 1] ?? '').trim() };
  };
  const fail = (n: Node | null | undefined, detail: string): never => {
    throw ConfigError.at(origin(n), 'model', detail);
  };
  if (doc.errors.length > 0 || !isMap(doc.contents)) return []; // the model loader reports these
  const sec = doc.contents.get('invariants', true) as Node | undefined;
  if (sec === undefined || (isScalar(sec) && sec.value === null)) return [];
  if (!isSeq(sec)) return fail(sec, 'invariants: expected a list (- reach: {...}, - isolate: {...}, ...)');

  const out: InvariantSpec[] = [];
  for (const [i, item] of sec.items.entries()) {
    const n = item as Node;
    const what = `invariants[${i}]`;
    if (!isMap(n)) return fail(n, `${what}: expected a mapping with one of ${FORMS.join(', ')}`);
    let form: FormName | undefined;
    let name: string | undefined;
    let runs: number | undefined;
    for (const it of n.items) {
      const k = keyText(it.key, fail);
      const v = it.value as Node | null;
      if (k === 'name') name = scalarText(v, `${what}.name`, fail);
      else if (k === 'runs') {
        const r = Number(scalarText(v, `${what}.runs`, fail));
        if (!Number.isInteger(r) || r < 1) fail(v, `${what}.runs: a whole number of runs, 1 or more`);
        runs = r;
      } else if ((FORMS as readonly string[]).includes(k)) {
        if (form !== undefined) fail(it.key as Node, `${what}: one form per invariant (${form} and ${k}); write two invariants`);
        form = k as FormName;
      } else fail(it.key as Node, `${what}: unknown key "${k}" (expected name, runs, or one of ${FORMS.join(', ')})`);
    }
    if (form === undefined) return fail(n, `${what}: give one of ${FORMS.join(', ')}`);
    const body = n.get(form, true) as Node | null;
    if (!isMap(body)) return fail(body ?? n, `${what}.${form}: expected a mapping {from, to, proto, ports}`);
    const allowed = [...FLOW_KEYS, ...FORM_KEYS[form]];
    for (const it of body.items) {
      const k = keyText(it.key, fail);
      if (!allowed.includes(k)) fail(it.key as Node, `${what}.${form}: unknown key "${k}" (expected ${allowed.join(', ')})`);
    }
    const { flows, flowOrigins } = flowSet(body, `${what}.${form}`, origin, fail);
    out.push({
      ...(name !== undefined ? { name } : {}),
      form: formSpec(form, body, `${what}.${form}`, file, origin, fail),
      flows,
      flowOrigins,
      ...(runs !== undefined ? { runs } : {}),
      origin: origin(n),
    });
  }
  return out;
}

type Fail = (n: Node | null | undefined, detail: string) => never;

function keyText(k: unknown, fail: Fail): string {
  if (isScalar(k) && (typeof k.value === 'string' || typeof k.value === 'number')) return String(k.value);
  return fail(k as Node, 'keys must be plain strings');
}

function scalarText(v: Node | null, what: string, fail: Fail): string {
  if (!isScalar(v) || (typeof v.value !== 'string' && typeof v.value !== 'number')) return fail(v, `${what} must be text`);
  return String(v.value);
}

/** A scalar or a list of scalars, as text. */
function textList(v: Node | null, what: string, fail: Fail): string[] {
  if (isSeq(v)) return v.items.map((x) => scalarText(x as Node, what, fail));
  return [scalarText(v, what, fail)];
}

function flowSet(body: YAMLMap, what: string, origin: (n: Node | null | undefined) => Origin, fail: Fail): { flows: FlowSetInput; flowOrigins: Partial<Record<keyof FlowSetInput, Origin>> } {
  const node = (k: string): Node | null | undefined => body.get(k, true) as Node | null | undefined;
  const flowOrigins: Partial<Record<keyof FlowSetInput, Origin>> = {};
  for (const k of FLOW_KEYS) if (body.has(k)) flowOrigins[k] = origin(node(k));
  for (const k of ['from', 'to'] as const) if (!body.has(k)) fail(body, `${what}: "${k}" is required`);
  const proto = body.has('proto') ? textList(node('proto') ?? null, `${what}.proto`, fail) : undefined;
  const ports = body.has('ports') ? textList(node('ports') ?? null, `${what}.ports`, fail) : undefined;
  const sports = body.has('sports') ? textList(node('sports') ?? null, `${what}.sports`, fail) : undefined;
  const flows: FlowSetInput = {
    from: textList(node('from') ?? null, `${what}.from`, fail),
    to: textList(node('to') ?? null, `${what}.to`, fail),
    ...(proto ? { proto: proto as ProbeProto[] } : {}),
    ...(ports ? { ports } : {}),
    ...(sports ? { sports } : {}),
  };
  return { flows, flowOrigins };
}

function formSpec(form: FormName, body: YAMLMap, what: string, file: string, origin: (n: Node | null | undefined) => Origin, fail: Fail): FormSpec {
  const node = (k: string): Node | null => (body.get(k, true) as Node | null | undefined) ?? null;
  switch (form) {
    case 'reach': {
      const e = body.has('expect') ? scalarText(node('expect'), `${what}.expect`, fail) : 'reachable';
      if (!(PROBE_RESULTS as readonly string[]).includes(e)) fail(node('expect'), `${what}.expect: "${e}" must be one of ${PROBE_RESULTS.join(', ')}`);
      return { kind: 'reach', expect: e as ProbeResult };
    }
    case 'isolate': {
      const s = node('strict');
      if (s !== null && !(isScalar(s) && typeof s.value === 'boolean')) fail(s, `${what}.strict: true or false`);
      return { kind: 'isolate', strict: s !== null && (s as { value: unknown }).value === true };
    }
    case 'return':
      return { kind: 'return' };
    case 'nat-reversible':
      return { kind: 'nat-reversible' };
    case 'equivalent': {
      if (!body.has('b')) fail(body, `${what}: "b" (the other rule set) is required`);
      const a = body.has('a') ? side(node('a'), `${what}.a`, file, origin, fail) : { kind: 'self' as const, origin: origin(body) };
      return { kind: 'equivalent', a, b: side(node('b'), `${what}.b`, file, origin, fail) };
    }
  }
}

const SIDE_HINT = 'a model file, self, or {host, script | run | restore}';

function side(n: Node | null, what: string, file: string, origin: (n: Node | null | undefined) => Origin, fail: Fail): SideSpec {
  if (isScalar(n)) {
    const v = scalarText(n, what, fail);
    return v === 'self' ? { kind: 'self', origin: origin(n) } : { kind: 'model', path: v, origin: origin(n) };
  }
  if (!isMap(n)) return fail(n, `${what}: expected ${SIDE_HINT}`);
  const keys = n.items.map((it) => keyText(it.key, fail));
  for (const [i, k] of keys.entries())
    if (!['model', 'host', 'script', 'run', 'restore'].includes(k)) fail(n.items[i]!.key as Node, `${what}: unknown key "${k}" (expected ${SIDE_HINT})`);
  const get = (k: string): Node | null => (n.get(k, true) as Node | null | undefined) ?? null;
  if (n.has('model')) {
    if (keys.length > 1) fail(n, `${what}: model stands alone (the whole other model is the rule set)`);
    return { kind: 'model', path: scalarText(get('model'), `${what}.model`, fail), origin: origin(get('model')) };
  }
  if (!n.has('host')) return fail(n, `${what}: "host" is required with script, run or restore`);
  const host = scalarText(get('host'), `${what}.host`, fail);
  const how = keys.filter((k) => k !== 'host');
  if (how.length !== 1) return fail(n, `${what}: give one of script, run or restore`);
  const k = how[0]!;
  const v = get(k);
  if (k === 'restore') return { kind: 'restore', host, path: scalarText(v, `${what}.restore`, fail), origin: origin(v) };
  if (k === 'script') return { kind: 'script', host, path: scalarText(v, `${what}.script`, fail), origin: origin(v) };
  const text = scalarText(v, `${what}.run`, fail);
  const o = origin(v);
  const literal = isScalar(v) && v.type === 'BLOCK_LITERAL';
  return { kind: 'run', host, file, text, firstLine: literal ? o.line + 1 : o.line, origin: o };
}

// --- against the world ---------------------------------------------------------------------------

export type Form =
  | { readonly kind: 'reach'; readonly expect: ProbeResult }
  | { readonly kind: 'isolate'; readonly strict: boolean }
  | { readonly kind: 'return' }
  | { readonly kind: 'nat-reversible' }
  /** `a` and `b` are the two worlds compared; labels say where each came from */
  | { readonly kind: 'equivalent'; readonly a: World; readonly b: World; readonly aLabel: string; readonly bLabel: string };

export interface Invariant {
  readonly name: string;
  readonly form: Form;
  readonly flows: FlowSet;
  readonly runs?: number;
  readonly origin: Origin;
}

/** Checks each spec against the built model and builds the worlds `equivalent` compares. */
export function resolveInvariants(built: Built, specs: readonly InvariantSpec[], io: ModelIo = nodeIo): Invariant[] {
  return specs.map((s) => {
    const originOf = (k: keyof FlowSetInput): Origin => s.flowOrigins[k] ?? s.origin;
    const flows = resolveFlowSet(built.world, s.flows, originOf);
    const form: Form =
      s.form.kind === 'equivalent'
        ? { kind: 'equivalent', a: sideWorld(built, s.form.a, io), b: sideWorld(built, s.form.b, io), aLabel: sideLabel(s.form.a), bLabel: sideLabel(s.form.b) }
        : s.form;
    const name = s.name ?? `${s.form.kind} ${[s.flows.from].flat().join(',')} -> ${[s.flows.to].flat().join(',')} ${[s.flows.proto ?? 'tcp'].flat().join(',')}${s.flows.ports !== undefined ? ` ${[s.flows.ports].flat().join(',')}` : ''}`;
    return { name, form, flows, ...(s.runs !== undefined ? { runs: s.runs } : {}), origin: s.origin };
  });
}

export function sideLabel(s: SideSpec): string {
  switch (s.kind) {
    case 'self':
      return 'this model';
    case 'model':
      return s.path;
    case 'script':
      return `${s.host} running ${s.path}`;
    case 'run':
      return `${s.host} running the runbook at ${s.origin.file}:${s.origin.line}`;
    case 'restore':
      return `${s.host} after iptables-restore ${s.path}`;
  }
}

function sideWorld(built: Built, s: SideSpec, io: ModelIo): World {
  const { model } = built;
  const knownHost = (host: string): void => {
    if (!model.hosts.some((h) => h.name === host)) throw ConfigError.at(s.origin, 'model', `unknown host "${host}" (hosts: ${model.hosts.map((h) => h.name).join(', ')})`);
  };
  switch (s.kind) {
    case 'self':
      return built.world;
    case 'model':
      return buildWorld(loadModel(resolve(model.dir, s.path), io), io).world;
    case 'script':
    case 'run': {
      knownHost(s.host);
      let runbook = { file: '', text: '', firstLine: 1 };
      if (s.kind === 'run') runbook = { file: s.file, text: s.text, firstLine: s.firstLine };
      else {
        const p = resolve(model.dir, s.path);
        try {
          runbook = { file: p, text: io.readFile(p), firstLine: 1 };
        } catch (e) {
          throw ConfigError.at(s.origin, 'file', `cannot read ${p}: ${(e as Error).message}`);
        }
      }
      return buildWorld({ ...model, hosts: model.hosts.map((h) => (h.name === s.host ? { ...h, runbook } : h)) }, io).world;
    }
    case 'restore': {
      knownHost(s.host);
      const ops = parseRunbook({ host: s.host, file: s.origin.file, text: `iptables-restore ${s.path}`, firstLine: s.origin.line, baseDir: model.dir }, io);
      return applyOps(built.world, ops);
    }
  }
}

/**
 * Model files (YAML): hosts with their runbooks, LANs, services and probes.
 * See docs/model-format.md. The keys documented there are a contract: extend, never rename.
 *
 * Every value keeps its file:line so errors and traces can point at the user's text.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { LineCounter, Scalar, YAMLMap, YAMLSeq, isAlias, isMap, isScalar, isSeq, parseDocument, type Document, type Node } from 'yaml';
import { valueLines, type ScalarAt } from './yamllines.js';
import { ConfigError } from '../model/errors.js';
import type { Origin } from '../model/origin.js';
import type { Ipv4 } from '../wire/ipv4.js';
import { parseAddressLen, parseEndpoint, parsePort, protoPortProblem, validIfname } from '../model/notation.js';
import { nameProblem } from '../model/text.js';

export type ProbeProto = 'tcp' | 'udp' | 'icmp';
export type ProbeResult = 'reachable' | 'refused' | 'no-route' | 'timeout';
export const PROBE_RESULTS: readonly ProbeResult[] = ['reachable', 'refused', 'no-route', 'timeout'];

export interface HostSpec {
  readonly name: string;
  /** the runbook text, the file it lives in, the file line of its first line, and (for a YAML
   *  scalar that is not a literal block) the file line of each of its lines */
  readonly runbook: { readonly file: string; readonly text: string; readonly firstLine: number; readonly lines?: readonly number[] } | null;
  /** the host's own files the runbook reads (sysctl -p, rt_tables, ip -batch): absolute path -> text */
  readonly files?: Readonly<Record<string, string>>;
  readonly origin: Origin;
}

export interface LanMember {
  readonly host: string;
  readonly ifname: string;
  readonly addr: { readonly local: Ipv4; readonly prefixLen: number } | null;
  readonly origin: Origin;
}

export interface LanSpec {
  readonly name: string;
  readonly members: readonly LanMember[];
  readonly origin: Origin;
}

export interface ServiceSpec {
  /** host, runbook netns, or host/netns, as written */
  readonly at: string;
  readonly proto: 'tcp' | 'udp';
  readonly port: number;
  readonly origin: Origin;
}

export interface ProbeSpec {
  readonly name: string;
  readonly from: string;
  readonly to: Ipv4;
  readonly port?: number;
  readonly proto: ProbeProto;
  /** the client's source address, bound before connect()/send (like `curl --interface ADDR`, `ping -I ADDR`) */
  readonly src?: Ipv4;
  readonly expect?: ProbeResult;
  readonly origin: Origin;
}

export interface ModelFile {
  readonly file: string;
  readonly dir: string;
  readonly name?: string;
  readonly hosts: readonly HostSpec[];
  readonly lans: readonly LanSpec[];
  readonly services: readonly ServiceSpec[];
  readonly probes: readonly ProbeSpec[];
  /** keys this version does not interpret but keeps (future sections such as invariants) */
  readonly extra: Readonly<Record<string, unknown>>;
}

export interface ModelIo {
  readFile(path: string): string;
}

export const nodeIo: ModelIo = { readFile: (p) => readFileSync(p, 'utf8') };

const TOP_KEYS = new Set(['name', 'hosts', 'lans', 'services', 'probes']);
/** sections owned by other commands (netpath prop); parsed there, kept here untouched */
const PASS_THROUGH = new Set(['invariants']);

export function loadModel(path: string, io: ModelIo = nodeIo): ModelFile {
  let text: string;
  try {
    text = io.readFile(path);
  } catch (e) {
    throw new ConfigError('file', path, 0, `cannot read model file: ${(e as Error).message}`);
  }
  return parseModel(text, path, io);
}

export function parseModel(text: string, file: string, io: ModelIo = nodeIo): ModelFile {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true, merge: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const line = e.linePos?.[0]?.line ?? lc.linePos(e.pos[0]).line;
    throw new ConfigError('yaml', file, line, `invalid YAML: ${e.message.split('\n')[0]}`);
  }
  const lineOf = (n: Node | null | undefined): number => (n?.range ? lc.linePos(n.range[0]).line : 1);
  // a line's text from the line starts the parse found (not a split of a file of many lines)
  const textOfLine = (line: number): string => {
    const start = lc.lineStarts[line - 1];
    if (start === undefined) return '';
    const end = text.indexOf('\n', start);
    return text.slice(start, end < 0 ? text.length : end).trim();
  };
  const origin = (n: Node | null | undefined): Origin => {
    const line = lineOf(n);
    return { file, line, text: textOfLine(line) };
  };
  const fail = (n: Node | null | undefined, detail: string): never => {
    const o = origin(n);
    throw new ConfigError('model', file, o.line, detail, o.text);
  };

  const y = new Yaml(doc, fail);
  const root = y.deref(doc.contents);
  if (!isMap(root)) return fail(root, 'a model file is a mapping with hosts, lans, services and probes');
  const extra: Record<string, unknown> = {};
  let js: Record<string, unknown> | undefined;
  for (const item of y.pairs(root)) {
    const k = keyOf(item.key, fail);
    if (k.startsWith('x-')) continue; // extension keys: a place for anchors, ignored (as in compose files)
    if (!TOP_KEYS.has(k) && !PASS_THROUGH.has(k))
      fail(item.key, `unknown key "${k}" (expected one of: ${[...TOP_KEYS, ...PASS_THROUGH].join(', ')})`);
    if (PASS_THROUGH.has(k)) {
      js ??= doc.toJS({ maxAliasCount: -1 }) as Record<string, unknown>;
      extra[k] = js[k] ?? null;
    }
  }
  const dir = dirname(resolve(file));

  // name
  const nameNode = y.get(root, 'name');
  let name: string | undefined;
  if (nameNode !== undefined) {
    if (!isScalar(nameNode) || typeof nameNode.value !== 'string') fail(nameNode, 'name must be a string');
    name = (nameNode as Scalar).value as string;
    const np = nameProblem('model', name);
    if (np !== undefined) fail(nameNode, np);
  }

  // hosts
  const hostsNode = y.get(root, 'hosts');
  if (!hostsNode || !isMap(hostsNode)) return fail(hostsNode ?? root, 'hosts: a mapping of host name to {run | script} is required');
  const hosts: HostSpec[] = [];
  // run: scalars of every host, mapped to file lines together (one parse for all styles)
  const runs: { host: number; node: Scalar }[] = [];
  for (const item of y.pairs(hostsNode)) {
    const hname = keyOf(item.key, fail);
    const hp = nameProblem('host', hname);
    if (hp !== undefined) fail(item.key, hp);
    const v = item.value;
    if (v === null || (isScalar(v) && v.value === null)) {
      hosts.push({ name: hname, runbook: null, origin: origin(item.key) });
      continue;
    }
    if (!isMap(v)) return fail(v, `hosts.${hname}: expected a mapping with run: or script:`);
    for (const hi of y.pairs(v)) {
      const hk = keyOf(hi.key, fail);
      if (hk !== 'run' && hk !== 'script' && hk !== 'files') fail(hi.key, `hosts.${hname}: unknown key "${hk}" (expected run, script or files)`);
    }
    const filesNode = y.get(v, 'files');
    let files: Record<string, string> | undefined;
    if (filesNode !== undefined && !(isScalar(filesNode) && filesNode.value === null)) {
      if (!isMap(filesNode)) return fail(filesNode, `hosts.${hname}.files: a mapping of absolute path to the file's text`);
      files = {};
      for (const fi of y.pairs(filesNode)) {
        const fp = keyOf(fi.key, fail);
        if (!fp.startsWith('/')) fail(fi.key, `hosts.${hname}.files: "${fp}" must be an absolute path on the host`);
        if (!isScalar(fi.value) || typeof fi.value.value !== 'string') return fail(fi.value ?? fi.key, `hosts.${hname}.files.${fp}: the file's text`);
        files[fp] = fi.value.value;
      }
    }
    const run = y.get(v, 'run');
    const script = y.get(v, 'script');
    if (run && script) fail(script, `hosts.${hname}: give either run or script, not both`);
    let runbook: HostSpec['runbook'] = null;
    if (run) {
      if (!isScalar(run) || typeof run.value !== 'string') return fail(run, `hosts.${hname}.run must be text`);
      runs.push({ host: hosts.length, node: run });
      runbook = { file, text: run.value as string, firstLine: lineOf(run) };
    } else if (script) {
      if (!isScalar(script) || typeof script.value !== 'string') return fail(script, `hosts.${hname}.script must be a file name`);
      const p = resolve(dir, script.value as string);
      let t: string;
      try {
        t = io.readFile(p);
      } catch (e) {
        return fail(script, `hosts.${hname}.script: cannot read ${p}: ${(e as Error).message}`);
      }
      runbook = { file: p, text: t, firstLine: 1 };
    }
    hosts.push({ name: hname, runbook, ...(files ? { files } : {}), origin: origin(item.key as Node) });
  }
  const at: ScalarAt[] = runs.map(({ node }) => ({ start: node.range![0], end: node.range![1], type: node.type, value: node.value as string }));
  valueLines(text, lc, at).forEach((lines, k) => {
    const h = hosts[runs[k]!.host]!;
    const rb = h.runbook!;
    hosts[runs[k]!.host] = { ...h, runbook: lines === 'consecutive' ? { ...rb, firstLine: rb.firstLine + 1 } : { ...rb, firstLine: lines[0] ?? rb.firstLine, lines } };
  });
  const hostNames = new Set(hosts.map((h) => h.name));

  // lans
  const lans: LanSpec[] = [];
  const lansNode = y.get(root, 'lans');
  const seenNic = new Map<string, string>();
  if (lansNode !== undefined && !(isScalar(lansNode) && lansNode.value === null)) {
    if (!isMap(lansNode)) fail(lansNode, 'lans: a mapping of LAN name to {host/ifname: address/len}');
    for (const item of y.pairs(lansNode as YAMLMap)) {
      const lname = keyOf(item.key, fail);
      const lp = nameProblem('LAN', lname);
      if (lp !== undefined) fail(item.key, lp);
      const v = item.value;
      if (!v || !isMap(v)) return fail((v ?? item.key) as Node, `lans.${lname}: expected a mapping of host/ifname to address/len (or null)`);
      const members: LanMember[] = [];
      for (const mi of y.pairs(v)) {
        const mk = keyOf(mi.key, fail);
        const m = /^([^/\s]+)\/([^/\s]+)$/.exec(mk);
        if (!m) return fail(mi.key as Node, `lans.${lname}: "${mk}" must be host/ifname, e.g. web1/eth0`);
        const [, host, ifname] = m as unknown as [string, string, string];
        if (!hostNames.has(host)) fail(mi.key as Node, `lans.${lname}: unknown host "${host}" (hosts: ${[...hostNames].join(', ')})`);
        if (!validIfname(ifname) || ifname === 'lo') fail(mi.key as Node, `lans.${lname}: invalid interface name "${ifname}"`);
        const prev = seenNic.get(mk);
        if (prev !== undefined) fail(mi.key as Node, `${mk} is already on LAN ${prev}`);
        seenNic.set(mk, lname);
        const av = mi.value;
        let addr: LanMember['addr'] = null;
        if (av !== null && !(isScalar(av) && av.value === null)) {
          if (!isScalar(av) || typeof av.value !== 'string') return fail(av, `lans.${lname}.${mk}: expected address/len, e.g. 172.31.0.3/24`);
          const c = parseAddressLen(av.value as string);
          if (!c.ok) return fail(av, `lans.${lname}.${mk}: ${c.problem}`);
          addr = c.value;
        }
        members.push({ host, ifname, addr, origin: origin(mi.key as Node) });
      }
      lans.push({ name: lname, members, origin: origin(item.key as Node) });
    }
  }

  // services
  const services: ServiceSpec[] = [];
  for (const [n, i] of seqItems(y, y.get(root, 'services'), 'services', fail)) {
    if (!isMap(n)) return fail(n, `services[${i}]: expected {at, listen}`);
    checkKeys(y, n, ['at', 'listen'], `services[${i}]`, fail);
    const at = str(y, n, 'at', `services[${i}]`, fail, true)!;
    const listen = str(y, n, 'listen', `services[${i}]`, fail, true)!;
    const lm = /^(tcp|udp)\/(.*)$/.exec(listen);
    const lport = lm ? parsePort(lm[2]!) : undefined;
    if (!lm || !lport?.ok) return fail(y.get(n, 'listen'), `services[${i}].listen: "${listen}" must be tcp/PORT or udp/PORT (PORT 1-65535)`);
    services.push({ at, proto: lm[1] as 'tcp' | 'udp', port: lport.value, origin: origin(n) });
  }

  // probes
  const probes: ProbeSpec[] = [];
  for (const [n, i] of seqItems(y, y.get(root, 'probes'), 'probes', fail)) {
    if (!isMap(n)) return fail(n, `probes[${i}]: expected {from, to, proto}`);
    checkKeys(y, n, ['name', 'from', 'to', 'proto', 'src', 'expect'], `probes[${i}]`, fail);
    const from = str(y, n, 'from', `probes[${i}]`, fail, true)!;
    const toText = str(y, n, 'to', `probes[${i}]`, fail, true)!;
    const protoText = str(y, n, 'proto', `probes[${i}]`, fail, false) ?? 'tcp';
    if (protoText !== 'tcp' && protoText !== 'udp' && protoText !== 'icmp')
      fail(n.get('proto', true) as Node, `probes[${i}].proto: "${protoText}" must be tcp, udp or icmp`);
    const proto = protoText as ProbeProto;
    const ep = parseEndpoint(toText);
    if (!ep.ok) return fail(n.get('to', true) as Node, `probes[${i}].to: ${ep.problem}`);
    const { ip: to, port } = ep.value;
    const pp = protoPortProblem(proto, port);
    if (pp !== undefined) fail(n.get('to', true) as Node, `probes[${i}].to: ${pp}`);
    const srcText = str(y, n, 'src', `probes[${i}]`, fail, false);
    let src: Ipv4 | undefined;
    if (srcText !== undefined) {
      const sp = parseEndpoint(srcText);
      if (!sp.ok || sp.value.port !== undefined)
        return fail(n.get('src', true) as Node, `probes[${i}].src: "${srcText}" must be an IPv4 address (the address the client binds to)`);
      src = sp.value.ip;
    }
    const expectText = str(y, n, 'expect', `probes[${i}]`, fail, false);
    if (expectText !== undefined && !(PROBE_RESULTS as readonly string[]).includes(expectText))
      fail(n.get('expect', true) as Node, `probes[${i}].expect: "${expectText}" must be one of ${PROBE_RESULTS.join(', ')}`);
    const pname = str(y, n, 'name', `probes[${i}]`, fail, false) ?? `${from} -> ${toText} ${proto}`;
    const pnp = nameProblem('probe', pname);
    if (pnp !== undefined) fail(n.get('name', true) as Node, `probes[${i}]: ${pnp}`);
    probes.push({
      name: pname,
      from,
      to,
      ...(port !== undefined ? { port } : {}),
      proto,
      ...(src !== undefined ? { src } : {}),
      ...(expectText !== undefined ? { expect: expectText as ProbeResult } : {}),
      origin: origin(n),
    });
  }

  return { file, dir, ...(name !== undefined ? { name } : {}), hosts, lans, services, probes, extra };
}

type Fail = (n: Node | null | undefined, detail: string) => never;

function keyOf(k: unknown, fail: Fail): string {
  if (isScalar(k) && (typeof k.value === 'string' || typeof k.value === 'number')) return String(k.value);
  return fail(k as Node, 'keys must be plain strings');
}

function seqItems(y: Yaml, n: Node | undefined, what: string, fail: Fail): [Node, number][] {
  if (n === undefined || (isScalar(n) && n.value === null)) return [];
  if (!isSeq(n)) return fail(n, `${what}: expected a list (- ...)`);
  return (n as YAMLSeq).items.map((x, i) => [y.deref(x) as Node, i]);
}

function checkKeys(y: Yaml, n: YAMLMap, allowed: readonly string[], what: string, fail: Fail): void {
  for (const it of y.pairs(n)) {
    const k = keyOf(it.key, fail);
    if (!allowed.includes(k)) fail(it.key, `${what}: unknown key "${k}" (expected ${allowed.join(', ')})`);
  }
}

function str(y: Yaml, n: YAMLMap, key: string, what: string, fail: Fail, required: boolean): string | undefined {
  const v = y.get(n, key);
  if (v === undefined || (isScalar(v) && v.value === null)) {
    if (required) return fail(n, `${what}: "${key}" is required`);
    return undefined;
  }
  if (!isScalar(v) || (typeof v.value !== 'string' && typeof v.value !== 'number')) return fail(v, `${what}.${key} must be text`);
  return String(v.value);
}

interface Entry {
  readonly key: Node;
  readonly value: Node | null;
}

/**
 * The document as plain YAML means it: aliases resolved to their anchored node, and `<<` merge
 * keys expanded (the mapping's own keys first, then each merged mapping's keys not seen yet, in
 * the order written), so every key a reader sees is checked and every value keeps its file line.
 */
class Yaml {
  constructor(
    readonly doc: Document,
    readonly fail: Fail,
  ) {}
  deref(n: unknown): Node | null {
    let x = n;
    for (let hops = 0; isAlias(x); hops++) {
      if (hops > 100) return this.fail(x, 'alias loop');
      const r = x.resolve(this.doc);
      if (r === undefined) return this.fail(x, `unknown alias *${x.source}`);
      x = r;
    }
    return (x ?? null) as Node | null;
  }
  pairs(map: YAMLMap, depth = 0): Entry[] {
    if (depth > 100) return this.fail(map, 'merge loop');
    const own: Entry[] = [];
    const merged: Entry[] = [];
    for (const it of map.items) {
      const k = it.key as Node;
      if (isScalar(k) && (typeof k.value === 'symbol' || k.value === '<<')) {
        const v = this.deref(it.value);
        const sources = isSeq(v) ? v.items.map((x) => this.deref(x)) : [v];
        for (const src of sources) {
          if (!isMap(src)) return this.fail(src ?? k, '"<<" merges a mapping or a list of mappings');
          merged.push(...this.pairs(src, depth + 1));
        }
      } else own.push({ key: this.deref(k) as Node, value: this.deref(it.value) });
    }
    const seen = new Set(own.map((e) => keyText(e.key)));
    for (const e of merged) {
      const t = keyText(e.key);
      if (seen.has(t)) continue;
      seen.add(t);
      own.push(e);
    }
    return own;
  }
  get(map: YAMLMap, key: string): Node | undefined {
    const e = this.pairs(map).find((p) => keyText(p.key) === key);
    return e === undefined ? undefined : (e.value ?? undefined);
  }
}

function keyText(k: Node): string {
  return isScalar(k) ? String(k.value) : String(k);
}

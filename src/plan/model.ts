/**
 * Model files (YAML): hosts with their runbooks, LANs, services and probes.
 * See docs/model-format.md. The keys documented there are a contract: extend, never rename.
 *
 * Every value keeps its file:line so errors and traces can point at the user's text.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { LineCounter, Scalar, YAMLMap, YAMLSeq, isMap, isScalar, isSeq, parseDocument, type Node } from 'yaml';
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
  /** the runbook text, the file it lives in, and the file line of its first line */
  readonly runbook: { readonly file: string; readonly text: string; readonly firstLine: number } | null;
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
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const line = e.linePos?.[0]?.line ?? lc.linePos(e.pos[0]).line;
    throw new ConfigError('yaml', file, line, `invalid YAML: ${e.message.split('\n')[0]}`);
  }
  const lineOf = (n: Node | null | undefined): number => (n?.range ? lc.linePos(n.range[0]).line : 1);
  const textOfLine = (line: number): string => (text.split('\n')[line - 1] ?? '').trim();
  const origin = (n: Node | null | undefined): Origin => {
    const line = lineOf(n);
    return { file, line, text: textOfLine(line) };
  };
  const fail = (n: Node | null | undefined, detail: string): never => {
    const o = origin(n);
    throw new ConfigError('model', file, o.line, detail, o.text);
  };

  const root = doc.contents;
  if (!isMap(root)) return fail(root, 'a model file is a mapping with hosts, lans, services and probes');
  const extra: Record<string, unknown> = {};
  for (const item of root.items) {
    const k = keyOf(item.key, fail);
    if (!TOP_KEYS.has(k) && !PASS_THROUGH.has(k))
      fail(item.key as Node, `unknown key "${k}" (expected one of: ${[...TOP_KEYS, ...PASS_THROUGH].join(', ')})`);
    if (PASS_THROUGH.has(k)) extra[k] = (item.value as Node | null)?.toJSON?.() ?? null;
  }
  const dir = dirname(resolve(file));

  // name
  const nameNode = root.get('name', true) as Node | undefined;
  let name: string | undefined;
  if (nameNode !== undefined) {
    if (!isScalar(nameNode) || typeof nameNode.value !== 'string') fail(nameNode, 'name must be a string');
    name = (nameNode as Scalar).value as string;
    const np = nameProblem('model', name);
    if (np !== undefined) fail(nameNode, np);
  }

  // hosts
  const hostsNode = root.get('hosts', true) as Node | undefined;
  if (!hostsNode || !isMap(hostsNode)) return fail(hostsNode ?? root, 'hosts: a mapping of host name to {run | script} is required');
  const hosts: HostSpec[] = [];
  for (const item of (hostsNode as YAMLMap).items) {
    const hname = keyOf(item.key, fail);
    const hp = nameProblem('host', hname);
    if (hp !== undefined) fail(item.key as Node, hp);
    const v = item.value as Node | null;
    if (v === null || (isScalar(v) && v.value === null)) {
      hosts.push({ name: hname, runbook: null, origin: origin(item.key as Node) });
      continue;
    }
    if (!isMap(v)) return fail(v, `hosts.${hname}: expected a mapping with run: or script:`);
    for (const hi of v.items) {
      const hk = keyOf(hi.key, fail);
      if (hk !== 'run' && hk !== 'script') fail(hi.key as Node, `hosts.${hname}: unknown key "${hk}" (expected run or script)`);
    }
    const run = v.get('run', true) as Node | undefined;
    const script = v.get('script', true) as Node | undefined;
    if (run && script) fail(script, `hosts.${hname}: give either run or script, not both`);
    let runbook: HostSpec['runbook'] = null;
    if (run) {
      if (!isScalar(run) || typeof run.value !== 'string') return fail(run, `hosts.${hname}.run must be text (use run: |)`);
      if (run.type === 'BLOCK_FOLDED') fail(run, `hosts.${hname}.run: use a literal block (run: |), not a folded one (>), so each line stays a line`);
      if (run.type === 'QUOTE_DOUBLE' || run.type === 'QUOTE_SINGLE')
        if ((run.value as string).includes('\n')) fail(run, `hosts.${hname}.run: use a literal block (run: |) for several lines`);
      const first = run.type === 'BLOCK_LITERAL' ? lineOf(run) + 1 : lineOf(run);
      runbook = { file, text: run.value as string, firstLine: first };
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
    hosts.push({ name: hname, runbook, origin: origin(item.key as Node) });
  }
  const hostNames = new Set(hosts.map((h) => h.name));

  // lans
  const lans: LanSpec[] = [];
  const lansNode = root.get('lans', true) as Node | undefined;
  const seenNic = new Map<string, string>();
  if (lansNode !== undefined && !(isScalar(lansNode) && lansNode.value === null)) {
    if (!isMap(lansNode)) fail(lansNode, 'lans: a mapping of LAN name to {host/ifname: address/len}');
    for (const item of (lansNode as YAMLMap).items) {
      const lname = keyOf(item.key, fail);
      const lp = nameProblem('LAN', lname);
      if (lp !== undefined) fail(item.key as Node, lp);
      const v = item.value as Node | null;
      if (!v || !isMap(v)) return fail((v ?? item.key) as Node, `lans.${lname}: expected a mapping of host/ifname to address/len (or null)`);
      const members: LanMember[] = [];
      for (const mi of v.items) {
        const mk = keyOf(mi.key, fail);
        const m = /^([^/\s]+)\/([^/\s]+)$/.exec(mk);
        if (!m) return fail(mi.key as Node, `lans.${lname}: "${mk}" must be host/ifname, e.g. web1/eth0`);
        const [, host, ifname] = m as unknown as [string, string, string];
        if (!hostNames.has(host)) fail(mi.key as Node, `lans.${lname}: unknown host "${host}" (hosts: ${[...hostNames].join(', ')})`);
        if (!validIfname(ifname) || ifname === 'lo') fail(mi.key as Node, `lans.${lname}: invalid interface name "${ifname}"`);
        const prev = seenNic.get(mk);
        if (prev !== undefined) fail(mi.key as Node, `${mk} is already on LAN ${prev}`);
        seenNic.set(mk, lname);
        const av = mi.value as Node | null;
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
  for (const [n, i] of seqItems(root.get('services', true) as Node | undefined, 'services', fail)) {
    if (!isMap(n)) return fail(n, `services[${i}]: expected {at, listen}`);
    checkKeys(n, ['at', 'listen'], `services[${i}]`, fail);
    const at = str(n, 'at', `services[${i}]`, fail, true)!;
    const listen = str(n, 'listen', `services[${i}]`, fail, true)!;
    const lm = /^(tcp|udp)\/(.*)$/.exec(listen);
    const lport = lm ? parsePort(lm[2]!) : undefined;
    if (!lm || !lport?.ok) return fail(n.get('listen', true) as Node, `services[${i}].listen: "${listen}" must be tcp/PORT or udp/PORT (PORT 1-65535)`);
    services.push({ at, proto: lm[1] as 'tcp' | 'udp', port: lport.value, origin: origin(n) });
  }

  // probes
  const probes: ProbeSpec[] = [];
  for (const [n, i] of seqItems(root.get('probes', true) as Node | undefined, 'probes', fail)) {
    if (!isMap(n)) return fail(n, `probes[${i}]: expected {from, to, proto}`);
    checkKeys(n, ['name', 'from', 'to', 'proto', 'expect'], `probes[${i}]`, fail);
    const from = str(n, 'from', `probes[${i}]`, fail, true)!;
    const toText = str(n, 'to', `probes[${i}]`, fail, true)!;
    const protoText = str(n, 'proto', `probes[${i}]`, fail, false) ?? 'tcp';
    if (protoText !== 'tcp' && protoText !== 'udp' && protoText !== 'icmp')
      fail(n.get('proto', true) as Node, `probes[${i}].proto: "${protoText}" must be tcp, udp or icmp`);
    const proto = protoText as ProbeProto;
    const ep = parseEndpoint(toText);
    if (!ep.ok) return fail(n.get('to', true) as Node, `probes[${i}].to: ${ep.problem}`);
    const { ip: to, port } = ep.value;
    const pp = protoPortProblem(proto, port);
    if (pp !== undefined) fail(n.get('to', true) as Node, `probes[${i}].to: ${pp}`);
    const expectText = str(n, 'expect', `probes[${i}]`, fail, false);
    if (expectText !== undefined && !(PROBE_RESULTS as readonly string[]).includes(expectText))
      fail(n.get('expect', true) as Node, `probes[${i}].expect: "${expectText}" must be one of ${PROBE_RESULTS.join(', ')}`);
    const pname = str(n, 'name', `probes[${i}]`, fail, false) ?? `${from} -> ${toText} ${proto}`;
    const pnp = nameProblem('probe', pname);
    if (pnp !== undefined) fail(n.get('name', true) as Node, `probes[${i}]: ${pnp}`);
    probes.push({
      name: pname,
      from,
      to,
      ...(port !== undefined ? { port } : {}),
      proto,
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

function seqItems(n: Node | undefined, what: string, fail: Fail): [Node, number][] {
  if (n === undefined || (isScalar(n) && n.value === null)) return [];
  if (!isSeq(n)) return fail(n, `${what}: expected a list (- ...)`);
  return (n as YAMLSeq).items.map((x, i) => [x as Node, i]);
}

function checkKeys(n: YAMLMap, allowed: readonly string[], what: string, fail: Fail): void {
  for (const it of n.items) {
    const k = keyOf(it.key, fail);
    if (!allowed.includes(k)) fail(it.key as Node, `${what}: unknown key "${k}" (expected ${allowed.join(', ')})`);
  }
}

function str(n: YAMLMap, key: string, what: string, fail: Fail, required: boolean): string | undefined {
  const v = n.get(key, true) as Node | undefined;
  if (v === undefined || (isScalar(v) && v.value === null)) {
    if (required) return fail(n, `${what}: "${key}" is required`);
    return undefined;
  }
  if (!isScalar(v) || (typeof v.value !== 'string' && typeof v.value !== 'number')) return fail(v, `${what}.${key} must be text`);
  return String(v.value);
}

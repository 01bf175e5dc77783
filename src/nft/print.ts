/**
 * `nft list ruleset` as nft 1.0.6 prints it after `nft -f`: tables in creation order, in each
 * the sets and maps, then the chains, in creation order; statements in nft's canonical spelling
 * (`mark set mark or 0x4000` prints `meta mark set meta mark | 0x00004000`; a one-element
 * anonymous set prints without braces; a protocol match that only guards the next match
 * is left out). Compared with the kernel's own listing in test/nft/kernel.test.ts.
 *
 * Elements of a named set are printed in the order nft lists them: sorted by their key read as
 * a little-endian number (nft's list_expr_sort over the kernel's bytes), which for addresses is
 * by the last octet first; interval sets in address order.
 */
import type { NftAtom, NftChain, NftData, NftElement, NftExpr, NftFamily, NftRhs, NftRule, NftSelector, NftSet, NftState, NftStmt, NftTable, NftType, NftVerdict } from './types.js';
import { selType } from './parse.js';
import { formatAtom, formatDuration, regWidth } from './values.js';
import { formatPriority } from './priority.js';

const UNQUALIFIED = new Set(['iif', 'oif', 'iifname', 'oifname']);

export function selectorText(s: NftSelector): string {
  switch (s.k) {
    case 'payload':
      return `${s.proto} ${s.field}`;
    case 'meta':
      return UNQUALIFIED.has(s.key) ? s.key : `meta ${s.key}`;
    case 'ct':
      return s.dir !== undefined ? `ct ${s.dir} ${s.key === 'saddr' || s.key === 'daddr' ? `ip ${s.key}` : s.key}` : `ct ${s.key}`;
    case 'fib':
      return `fib ${s.flags.join(' . ')} ${s.result}`;
    case 'numgen':
      return `numgen ${s.mode} mod ${s.mod}${s.offset !== 0 ? ` offset ${s.offset}` : ''}`;
  }
}

function bitopValue(t: NftType, v: number): string {
  if (t === 'mark') return `0x${v.toString(16).padStart(8, '0')}`;
  if (t === 'tcp_flag' || t === 'ct_state' || t === 'ct_status') {
    const names = formatAtom(t, { t: 'flags', v }).split(',');
    return names.length > 1 ? `(${names.join(' | ')})` : names[0]!;
  }
  return `0x${v.toString(16)}`;
}

export function exprText(e: NftExpr): string {
  const s = selectorText(e.sel);
  if (!e.bitop) return s;
  return `${s} ${e.bitop.op} ${bitopValue(selType(e.sel), e.bitop.v)}`;
}

function verdictText(v: NftVerdict): string {
  return v.kind === 'jump' || v.kind === 'goto' ? `${v.kind} ${v.chain}` : v.kind;
}

function dataText(d: NftData, t: NftType | undefined): string {
  return d.kind === 'verdict' ? verdictText(d.verdict) : d.atoms.map((a) => formatAtom(t ?? 'integer', a)).join(' . ');
}

function elementText(e: NftElement, keyTypes: readonly NftType[], dataType: NftType | undefined): string {
  let s = e.key.map((a, k) => formatAtom(keyTypes[k] ?? 'integer', a)).join(' . ');
  if (e.comment !== undefined) s += ` comment "${e.comment}"`;
  if (e.data) s += ` : ${dataText(e.data, dataType)}`;
  return s;
}

function rhsText(r: NftRhs, types: readonly NftType[], dataType?: NftType): string {
  switch (r.kind) {
    case 'ref':
      return `@${r.name}`;
    case 'value':
      return r.atoms.map((a, k) => formatAtom(types[k] ?? 'integer', a)).join(' . ');
    case 'set':
      if (r.elements.length === 1 && !r.elements[0]!.data && dataType === undefined) return elementText(r.elements[0]!, types, undefined);
      return `{ ${sortElements(r.elements, types, false).map((e) => elementText(e, types, dataType)).join(', ')} }`;
  }
}

const typesOf = (left: readonly NftExpr[]): NftType[] => left.map((e) => selType(e.sel));

const REJECT_DEFAULT_CODE = 'port-unreachable';

export function stmtText(s: NftStmt, family: NftFamily): string {
  switch (s.k) {
    case 'match': {
      const left = s.left.map(exprText).join(' . ');
      const e0 = s.left[0]!;
      if (s.left.length === 1 && e0.bitop?.op === '&' && selType(e0.sel) === 'tcp_flag' && s.op === '==' && s.rhs.kind === 'value') {
        return `${selectorText(e0.sel)} ${rhsText(s.rhs, ['tcp_flag'])} / ${formatAtom('tcp_flag', { t: 'flags', v: e0.bitop.v })}`;
      }
      const op = s.op === 'implicit' || (s.op === '==' && !s.left.some((e) => e.bitop)) ? '' : `${s.op} `;
      return `${left} ${op}${rhsText(s.rhs, typesOf(s.left))}`;
    }
    case 'verdict':
      return verdictText(s.verdict);
    case 'vmap':
      return `${s.left.map(exprText).join(' . ')} vmap ${rhsText(s.map, typesOf(s.left), 'verdict')}`;
    case 'reject': {
      if (!s.with) return 'reject';
      if (s.with.kind === 'tcp reset') return 'reject with tcp reset';
      if (s.with.kind === 'icmp' && s.with.code === REJECT_DEFAULT_CODE && family === 'ip') return 'reject';
      if (s.with.kind === 'icmpx' && s.with.code === REJECT_DEFAULT_CODE && family === 'inet') return 'reject';
      return `reject with ${s.with.kind} ${s.with.code ?? REJECT_DEFAULT_CODE}`;
    }
    case 'counter':
      return `counter packets ${s.packets} bytes ${s.bytes}`;
    case 'log': {
      let t = 'log';
      if (s.prefix !== undefined) t += ` prefix "${s.prefix}"`;
      if (s.group !== undefined) t += ` group ${s.group}`;
      if (s.level !== undefined && s.level !== 'warn') t += ` level ${s.level}`;
      if (s.flags) t += ` flags ${s.flags.join(',')}`;
      return t;
    }
    case 'limit': {
      const unit = s.bytes !== undefined ? ` ${s.bytes}` : '';
      let t = `limit rate ${s.over ? 'over ' : ''}${s.rate}${unit}/${s.per}`;
      if (s.burst !== undefined && !(s.bytes === undefined && s.burst === 5)) t += ` burst ${s.burst} ${s.bytes !== undefined ? 'bytes' : 'packets'}`;
      return t;
    }
    case 'nat': {
      let t = s.nat;
      if (s.family === 'ip' && family === 'inet') t += ' ip';
      if (s.addr !== undefined || s.port !== undefined) {
        t += ' to ';
        if (s.addr !== undefined) {
          if ('mapFrom' in s.addr) t += `${s.addr.mapFrom.map(exprText).join(' . ')} map ${rhsText(s.addr.map, typesOf(s.addr.mapFrom), 'ipv4_addr')}`;
          else t += formatAtom('ipv4_addr', s.addr);
        }
        if (s.port !== undefined) t += `:${formatAtom('inet_service', s.port)}`;
      }
      if (s.flags.length > 0) t += ` ${s.flags.join(',')}`;
      return t;
    }
    case 'set': {
      const v = s.value.kind === 'const' ? formatAtom('mark', { t: 'num', v: s.value.v }) : exprText(s.value.from);
      return `${s.target} set ${v}`;
    }
    case 'notrack':
      return 'notrack';
    case 'setop':
      return `${s.op} @${s.set} { ${s.keys.map(exprText).join(' . ')} }`;
    case 'nftrace':
      return `meta nftrace set ${s.v}`;
  }
}

/**
 * The statements nft prints. `meta l4proto tcp th dport 80` prints as `tcp dport 80` (the
 * transport header is then known); `reject with tcp reset` gets its implicit protocol match
 * (`meta l4proto tcp` in inet, `ip protocol tcp` in ip) when the rule has none.
 */
export function printedStmts(stmts: readonly NftStmt[], family: NftFamily): NftStmt[] {
  const out: NftStmt[] = [];
  const L4: Record<number, 'tcp' | 'udp' | 'sctp'> = { 6: 'tcp', 17: 'udp', 132: 'sctp' };
  for (let k = 0; k < stmts.length; k++) {
    const s = stmts[k]!;
    const n = stmts[k + 1];
    if (
      s.k === 'match' &&
      s.op === 'implicit' &&
      s.left.length === 1 &&
      !s.left[0]!.bitop &&
      s.left[0]!.sel.k === 'meta' &&
      s.left[0]!.sel.key === 'l4proto' &&
      s.rhs.kind === 'value' &&
      s.rhs.atoms[0]!.t === 'num' &&
      s.rhs.atoms[0]!.hi === undefined &&
      L4[s.rhs.atoms[0]!.v] !== undefined &&
      n !== undefined &&
      n.k === 'match' &&
      n.left.length === 1 &&
      n.left[0]!.sel.k === 'payload' &&
      n.left[0]!.sel.proto === 'th'
    ) {
      const proto = L4[s.rhs.atoms[0]!.v]!;
      out.push({ ...n, left: [{ ...n.left[0]!, sel: { ...n.left[0]!.sel, proto } }] });
      k++;
      continue;
    }
    if (s.k === 'reject' && s.with?.kind === 'tcp reset' && (family === 'inet' || family === 'bridge') && !out.some(isTcpGuard)) {
      out.push({ k: 'match', left: [{ sel: { k: 'meta', key: 'l4proto' } }], op: 'implicit', rhs: { kind: 'value', atoms: [{ t: 'num', v: 6 }] } });
    }
    // an explicit protocol match that is the next match's dependency is not printed
    const proto = protoGuard(s, family);
    if (proto !== undefined && n !== undefined && dependsOn(n, proto)) continue;
    out.push(s);
  }
  return out;
}

/** the protocol number of `meta l4proto X` (or `ip protocol X` in an ip table), when the statement is that */
function protoGuard(s: NftStmt, family: NftFamily): number | undefined {
  if (s.k !== 'match' || s.op !== 'implicit' || s.left.length !== 1 || s.left[0]!.bitop || s.rhs.kind !== 'value') return undefined;
  const sel = s.left[0]!.sel;
  const isGuard = (sel.k === 'meta' && sel.key === 'l4proto') || (family === 'ip' && sel.k === 'payload' && sel.proto === 'ip' && sel.field === 'protocol');
  const a = s.rhs.atoms[0]!;
  return isGuard && a.t === 'num' && a.hi === undefined ? a.v : undefined;
}

function dependsOn(n: NftStmt, proto: number): boolean {
  const P: Record<string, number> = { tcp: 6, udp: 17, sctp: 132, icmp: 1 };
  if (n.k === 'reject') return n.with?.kind === 'tcp reset' && proto === 6;
  if (n.k !== 'match' && n.k !== 'vmap') return false;
  const sel = n.left[0]!.sel;
  return sel.k === 'payload' && P[sel.proto] === proto;
}

function isTcpGuard(s: NftStmt): boolean {
  if (s.k !== 'match') return false;
  const sel = s.left[0]!.sel;
  if (sel.k === 'payload' && sel.proto === 'tcp') return true;
  return ((sel.k === 'meta' && sel.key === 'l4proto') || (sel.k === 'payload' && sel.proto === 'ip' && sel.field === 'protocol')) && s.rhs.kind === 'value' && s.rhs.atoms[0]?.t === 'num' && s.rhs.atoms[0].v === 6;
}

export function ruleText(stmts: readonly NftStmt[], comment: string | undefined, family: NftFamily): string {
  const parts = printedStmts(stmts, family).map((s) => stmtText(s, family));
  if (comment !== undefined) parts.push(`comment "${comment}"`);
  return parts.join(' ');
}

/** how many elements nft puts on one line before breaking (calculate_delim in nftables' expression.c) */
function perLine(set: NftSet): number {
  if (set.map || set.keyType.length > 1) return 1;
  switch (set.keyType[0]) {
    case 'inet_proto':
    case 'inet_service':
    case 'integer':
    case 'tcp_flag':
    case 'nf_proto':
      return 16;
    case 'ipv4_addr':
    case 'ct_state':
    case 'ct_status':
    case 'pkt_type':
      return 2;
    case 'ipv6_addr':
      return 1;
    default:
      return 1;
  }
}

/** bytes of a key as the kernel stores it (each column in 4-byte registers, network order) */
function keyBytes(e: NftElement, types: readonly NftType[]): number[] {
  const out: number[] = [];
  e.key.forEach((a, k) => {
    const t = types[k] ?? 'integer';
    const w = regWidth(t);
    const b = new Array<number>(w).fill(0);
    if (a.t === 'num' || a.t === 'flags') {
      const v = a.v >>> 0;
      const len = t === 'ipv4_addr' || t === 'mark' || t === 'integer' || t === 'ct_state' || t === 'ct_status' ? 4 : t === 'inet_service' ? 2 : 1;
      for (let i = 0; i < len; i++) b[i] = (v >>> (8 * (len - 1 - i))) & 0xff;
    } else if (a.t === 'v6') {
      const v6 = ipv6Bytes(a.text);
      for (let i = 0; i < Math.min(w, 16); i++) b[i] = v6[i]!;
    } else {
      const s = a.v;
      for (let i = 0; i < Math.min(w, s.length); i++) b[i] = s.charCodeAt(i) & 0xff;
    }
    out.push(...b);
  });
  return out;
}

/** the 16 bytes of an IPv6 address as written (`2002:a00::/24`, `::ffff:0.0.0.0/96`), network order */
function ipv6Bytes(text: string): number[] {
  let addr = text.split('/')[0]!;
  const out = new Array<number>(16).fill(0);
  // a trailing dotted quad is the last 32 bits
  const quad = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(addr);
  let tail: number[] = [];
  if (quad) {
    tail = quad.slice(1, 5).map(Number);
    addr = addr.slice(0, quad.index) + '0:0';
  }
  const [head, rest] = addr.includes('::') ? addr.split('::') as [string, string] : [addr, undefined];
  const hs = head === '' ? [] : head.split(':');
  const rs = rest === undefined || rest === '' ? [] : rest.split(':');
  const groups = [...hs, ...new Array<string>(Math.max(0, 8 - hs.length - rs.length)).fill('0'), ...rs];
  groups.slice(0, 8).forEach((g, k) => {
    const v = parseInt(g || '0', 16);
    out[2 * k] = (v >> 8) & 0xff;
    out[2 * k + 1] = v & 0xff;
  });
  if (quad) for (let i = 0; i < 4; i++) out[12 + i] = tail[i]!;
  return out;
}

function sortedElements(set: NftSet): readonly NftElement[] {
  return sortElements(set.elements, set.keyType, set.flags.includes('interval'));
}

function sortElements(elements: readonly NftElement[], types: readonly NftType[], intervalIn: boolean): readonly NftElement[] {
  // an element with a range or prefix makes the set an interval set
  const interval = intervalIn || elements.some((e) => e.key.some((a) => a.t === 'num' && (a.hi !== undefined || (a.plen !== undefined && a.plen < 32))));
  const withKeys = elements.map((e) => ({ e, b: keyBytes(e, types) }));
  withKeys.sort((x, y) => {
    const n = Math.max(x.b.length, y.b.length);
    if (interval || types.length === 1) {
      for (let i = 0; i < n; i++) if ((x.b[i] ?? 0) !== (y.b[i] ?? 0)) return (x.b[i] ?? 0) - (y.b[i] ?? 0);
      return 0;
    }
    for (let i = n - 1; i >= 0; i--) if ((x.b[i] ?? 0) !== (y.b[i] ?? 0)) return (x.b[i] ?? 0) - (y.b[i] ?? 0);
    return 0;
  });
  return withKeys.map((w) => w.e);
}

function setLines(set: NftSet): string[] {
  const out = [`\t${set.map ? 'map' : 'set'} ${set.name} {`];
  out.push(`\t\ttype ${set.keyType.join(' . ')}${set.map ? ` : ${set.dataType ?? 'verdict'}` : ''}`);
  if (set.size !== undefined) out.push(`\t\tsize ${set.size}`);
  else if (set.flags.includes('dynamic')) out.push('\t\tsize 65535');
  if (set.policy !== undefined) out.push(`\t\tpolicy ${set.policy}`);
  const flags = set.flags.filter((f) => f !== 'auto-merge');
  if (flags.length > 0) out.push(`\t\tflags ${flags.join(',')}`);
  if (set.timeout !== undefined) out.push(`\t\ttimeout ${formatDuration(set.timeout)}`);
  if (set.flags.includes('auto-merge')) out.push('\t\tauto-merge');
  if (set.comment !== undefined) out.push(`\t\tcomment "${set.comment}"`);
  if (set.elements.length > 0) {
    const per = perLine(set);
    const els = sortedElements(set).map((e) => elementText(e, set.keyType, set.dataType));
    let text = '\t\telements = { ';
    els.forEach((e, k) => {
      if (k > 0) text += k % per === 0 ? ',\n\t\t\t     ' : ', ';
      text += e;
    });
    out.push(`${text} }`);
  }
  out.push('\t}');
  return out;
}

function chainLines(t: NftTable, c: NftChain): string[] {
  const out = [`\tchain ${c.name} {`];
  if (c.comment !== undefined) out.push(`\t\tcomment "${c.comment}"`);
  if (c.base) {
    const dev = c.base.device !== undefined ? ` device "${c.base.device}"` : '';
    out.push(`\t\ttype ${c.base.type} hook ${c.base.hook}${dev} priority ${formatPriority(t.family, c.base.hook, c.base.priority)}; policy ${c.base.policy};`);
  }
  for (const r of c.rules) out.push(`\t\t${r.text}`);
  out.push('\t}');
  return out;
}

export function tableText(t: NftTable): string {
  const body: string[][] = [];
  for (const s of t.sets) body.push(setLines(s));
  for (const c of t.chains) body.push(chainLines(t, c));
  const head = [`table ${t.family} ${t.name} {`];
  if (t.flags.length > 0) head.push(`\tflags ${t.flags.join(',')}`);
  if (t.comment !== undefined) head.push(`\tcomment "${t.comment}"`);
  return [...head, body.map((b) => b.join('\n')).join('\n\n'), '}'].filter((l) => l !== '').join('\n');
}

/** `nft list ruleset` ('' when there are no tables). */
export function listRuleset(s: NftState): string {
  return s.tables.map((t) => tableText(t) + '\n').join('');
}

export type { NftRule, NftAtom };

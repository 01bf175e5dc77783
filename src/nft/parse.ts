/**
 * The nft language as rulesets use it: `nft -f` files (block form `table ip t { chain c { ... } }`
 * and flat form `add rule ip t c ...`), `nft list ruleset` output (the same grammar), and the
 * arguments of one `nft ...` command line. Everything becomes a flat list of NftCommands, each
 * with the line it came from; ruleset.ts applies them.
 *
 * Refused with a clear error (never skipped): `include`, `define`/`$var`, flowtables, stateful
 * objects, meters, queue, and any statement or selector not listed in docs/nftables.md.
 */
import { ConfigError } from '../model/errors.js';
import type { Origin } from '../model/origin.js';
import { badNftName } from './keywords.js';
import { lex, lexPieces, TokBuf, type Tok } from './lex.js';
import type {
  NftAtom,
  NftBase,
  NftChainType,
  NftCmpOp,
  NftData,
  NftElement,
  NftExpr,
  NftFamily,
  NftHook,
  NftRhs,
  NftSelector,
  NftStmt,
  NftType,
  NftVerdict,
} from './types.js';
import { BITMASK_TYPES, parseAtom, parseDuration } from './values.js';
import { parsePriority } from './priority.js';

export interface NftSetSpec {
  readonly map: boolean;
  readonly keyType: readonly NftType[];
  readonly dataType?: NftType;
  readonly flags: readonly string[];
  readonly timeout?: number;
  readonly size?: number;
  readonly policy?: string;
  readonly comment?: string;
  readonly elements: readonly NftElement[];
}

export interface NftChainSpec {
  readonly base?: NftBase;
  readonly comment?: string;
}

interface Where {
  readonly family: NftFamily;
  readonly table: string;
  readonly origin: Origin;
}

export type NftCommand =
  | ({ readonly cmd: 'add-table' | 'create-table'; readonly comment?: string; readonly flags: readonly string[] } & Where)
  | ({ readonly cmd: 'delete-table' | 'flush-table' } & Where)
  | ({ readonly cmd: 'add-chain' | 'create-chain'; readonly chain: string; readonly spec: NftChainSpec } & Where)
  | ({ readonly cmd: 'delete-chain' | 'flush-chain'; readonly chain: string } & Where)
  | ({
      readonly cmd: 'add-rule' | 'insert-rule' | 'replace-rule';
      readonly chain: string;
      readonly stmts: readonly NftStmt[];
      readonly comment?: string;
      /** `handle N` (replace, or add/insert relative to it) / `index N` */
      readonly handle?: number;
      readonly index?: number;
    } & Where)
  | ({ readonly cmd: 'delete-rule'; readonly chain: string; readonly handle: number } & Where)
  | ({ readonly cmd: 'add-set' | 'create-set'; readonly set: string; readonly spec: NftSetSpec } & Where)
  | ({ readonly cmd: 'delete-set' | 'flush-set'; readonly set: string } & Where)
  | ({ readonly cmd: 'add-element' | 'delete-element'; readonly set: string; readonly elements: readonly NftElement[] } & Where)
  | { readonly cmd: 'flush-ruleset'; readonly family?: NftFamily; readonly origin: Origin };

const FAMILIES = new Set<string>(['ip', 'ip6', 'inet', 'bridge', 'arp', 'netdev']);
const HOOKS = new Set<string>(['prerouting', 'input', 'forward', 'output', 'postrouting', 'ingress', 'egress']);
const VERDICT_WORDS = new Set(['accept', 'drop', 'continue', 'return', 'jump', 'goto']);
const TYPE_NAMES = new Set<string>([
  'ipv4_addr', 'ipv6_addr', 'inet_proto', 'inet_service', 'mark', 'ifname', 'iface_index', 'ct_state', 'ct_status',
  'ct_dir', 'tcp_flag', 'icmp_type', 'icmpv6_type', 'fib_addrtype', 'nf_proto', 'ether_type', 'pkt_type', 'integer', 'verdict',
]);
/** meta keys nft accepts without `meta` */
const UNQUALIFIED_META = new Set(['iif', 'oif', 'iifname', 'oifname', 'mark', 'pkttype', 'iiftype', 'oiftype', 'nftrace']);
const META_TYPE: Readonly<Record<string, NftType>> = {
  l4proto: 'inet_proto', protocol: 'ether_type', nfproto: 'nf_proto', mark: 'mark', iifname: 'ifname', oifname: 'ifname',
  iif: 'iface_index', oif: 'iface_index', pkttype: 'pkt_type', nftrace: 'integer',
};
const PAYLOAD_TYPE: Readonly<Record<string, Readonly<Record<string, NftType>>>> = {
  ip: { saddr: 'ipv4_addr', daddr: 'ipv4_addr', protocol: 'inet_proto', version: 'integer', ttl: 'integer', length: 'integer' },
  ip6: { saddr: 'ipv6_addr', daddr: 'ipv6_addr', nexthdr: 'inet_proto', version: 'integer', hoplimit: 'integer' },
  tcp: { sport: 'inet_service', dport: 'inet_service', flags: 'tcp_flag' },
  udp: { sport: 'inet_service', dport: 'inet_service' },
  sctp: { sport: 'inet_service', dport: 'inet_service' },
  th: { sport: 'inet_service', dport: 'inet_service' },
  icmp: { type: 'icmp_type', code: 'integer' },
  icmpv6: { type: 'icmpv6_type', code: 'integer' },
};
const CT_TYPE: Readonly<Record<string, NftType>> = {
  state: 'ct_state', status: 'ct_status', mark: 'mark', direction: 'ct_dir', saddr: 'ipv4_addr', daddr: 'ipv4_addr',
  'proto-src': 'inet_service', 'proto-dst': 'inet_service', protocol: 'inet_proto',
};

/** The data type a selector yields. */
export function selType(s: NftSelector): NftType {
  switch (s.k) {
    case 'payload':
      return PAYLOAD_TYPE[s.proto]![s.field]!;
    case 'meta':
      return META_TYPE[s.key]!;
    case 'ct':
      return CT_TYPE[s.key]!;
    case 'fib':
      return s.result === 'type' ? 'fib_addrtype' : s.result === 'oif' ? 'iface_index' : 'ifname';
    case 'numgen':
      return 'integer';
  }
}

/**
 * Values a ruleset repeats in every rule, made once per file and shared (immutable): selectors,
 * plain expressions, one-expression left sides, jump and goto verdicts. A 10k-service ruleset
 * says `ip daddr` and `jump mark-for-masquerade` tens of thousands of times; sharing keeps the
 * loaded state (and the garbage collector's work) small.
 */
class Shared {
  private readonly sels = new Map<string, Map<string, NftSelector>>();
  private readonly metas = new Map<string, NftSelector>();
  /** words already found to be valid names (checked once per file) */
  readonly names = new Set<string>();
  private readonly exprs = new Map<NftSelector, NftExpr>();
  private readonly lefts = new Map<NftExpr, readonly NftExpr[]>();
  private readonly jumps = new Map<string, NftVerdict>();
  private readonly gotos = new Map<string, NftVerdict>();
  /** the buffer that kept elements are read into when their set's types are known, one at a time */
  readonly pendingToks = new TokBuf();
  payload(proto: string, field: string): NftSelector {
    let m = this.sels.get(proto);
    if (!m) this.sels.set(proto, (m = new Map()));
    let s = m.get(field);
    if (!s) m.set(field, (s = { k: 'payload', proto: proto as 'ip', field }));
    return s;
  }
  meta(key: string): NftSelector {
    let s = this.metas.get(key);
    if (!s) this.metas.set(key, (s = { k: 'meta', key }));
    return s;
  }
  expr(sel: NftSelector): NftExpr {
    let e = this.exprs.get(sel);
    if (!e) this.exprs.set(sel, (e = { sel }));
    return e;
  }
  left(e: NftExpr): readonly NftExpr[] {
    let l = this.lefts.get(e);
    if (!l) this.lefts.set(e, (l = [e]));
    return l;
  }
  verdict(kind: 'jump' | 'goto', chain: string): NftVerdict {
    const m = kind === 'jump' ? this.jumps : this.gotos;
    let v = m.get(chain);
    if (!v) m.set(chain, (v = { kind, chain }));
    return v;
  }
}

class P {
  i = 0;
  private sharedValues: Shared | undefined;
  /** the tokens: the first `n` of `toks` */
  readonly toks: readonly Tok[];
  readonly n: number;
  constructor(
    buf: TokBuf,
    readonly file: string,
    readonly lineText: (line: number) => string,
    /** the text the tokens were read from, when the tokens' `pos` are offsets in it */
    readonly src?: string,
    shared?: Shared,
  ) {
    this.sharedValues = shared;
    this.toks = buf.toks;
    this.n = buf.n;
  }
  get shared(): Shared {
    return (this.sharedValues ??= new Shared());
  }
  peek(o = 0): Tok | undefined {
    const at = this.i + o;
    return at < this.n ? this.toks[at] : undefined;
  }
  word(o = 0): string | undefined {
    const t = this.peek(o);
    return t && t.k === 'w' ? t.v : undefined;
  }
  isP(v: string, o = 0): boolean {
    const t = this.peek(o);
    return t !== undefined && t.k === 'p' && t.v === v;
  }
  line(): number {
    return (this.peek() ?? this.peek(-1))?.line ?? 1;
  }
  fail(detail: string): never {
    const line = this.line();
    throw new ConfigError('syntax', this.file, line, `nft: ${detail}`, this.lineText(line));
  }
  unsupported(detail: string): never {
    const line = this.line();
    throw new ConfigError('unsupported', this.file, line, `nft: ${detail}`, this.lineText(line));
  }
  next(): Tok {
    const t = this.peek();
    if (!t) this.fail('syntax error, unexpected end of file');
    this.i++;
    return t;
  }
  expectWord(what: string): string {
    const t = this.peek();
    if (!t || (t.k !== 'w' && t.k !== 's')) this.fail(`expected ${what}${t ? `, got "${t.v === '\n' ? 'newline' : t.v}"` : ''}`);
    this.i++;
    return t.v;
  }
  /** a table, chain or set name: a word nft reads as a name (no keyword, no quoted form in nft 1.0.6) */
  expectName(what: string): string {
    const t = this.peek();
    if (!t || (t.k !== 'w' && t.k !== 's')) return this.expectWord(what);
    if (t.k === 's' || !this.shared.names.has(t.v)) {
      const bad = badNftName(t.v, t.k === 's');
      if (bad !== undefined) this.fail(bad);
      this.shared.names.add(t.v);
    }
    this.i++;
    return t.v;
  }
  expectP(v: string): void {
    if (!this.isP(v)) {
      const t = this.peek();
      this.fail(`syntax error, expected "${v}"${t ? ` before "${t.v === '\n' ? 'newline' : t.v}"` : ''}`);
    }
    this.i++;
  }
  skipNl(): void {
    while (this.peek()?.k === 'nl') this.i++;
  }
  skipSep(): void {
    while (this.peek()?.k === 'nl' || this.isP(';')) this.i++;
  }
  /** end of a statement list: newline, `;`, `}` or end of input */
  atEnd(): boolean {
    const t = this.peek();
    return t === undefined || t.k === 'nl' || (t.k === 'p' && (t.v === ';' || t.v === '}'));
  }
  origin(line: number): Origin {
    return { file: this.file, line, text: this.lineText(line) };
  }
}

/**
 * The text of line `l` (trimmed), cut from `text` when asked: an index of where lines start, not
 * a copy of every line (the commands' origins keep their line; a cut of a long line shares the
 * file's text)
 */
function linesOf(text: string): (line: number) => string {
  let starts: Int32Array | undefined;
  let count = 0;
  const index = (): Int32Array => {
    const out = new Int32Array(1024);
    let a = out;
    a[count++] = 0;
    for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) {
      if (count === a.length) {
        const b = new Int32Array(a.length * 2);
        b.set(a);
        a = b;
      }
      a[count++] = i + 1;
    }
    return a;
  };
  return (l) => {
    starts ??= index();
    if (l < 1 || l > count) return '';
    const from = starts[l - 1]!;
    const to = l < count ? starts[l]! - 1 : text.length;
    return text.slice(from, to).trim();
  };
}

/**
 * An `nft -f` file (or an `nft list ruleset` dump). `originOf` lets a runbook give every command
 * the runbook line instead (for `nft -f FILE`, the file's own line is kept).
 */
export function parseNftFile(text: string, file: string): NftCommand[] {
  const lineText = linesOf(text);
  const out: NftCommand[] = [];
  const shared = new Shared();
  for (const toks of lexPieces(text, file)) {
    const p = new P(toks, file, lineText, text, shared);
    for (;;) {
      p.skipSep();
      if (!p.peek()) break;
      topCommand(p, out, true);
      if (p.peek() && !p.atEnd()) p.fail(`syntax error, unexpected "${p.peek()!.v}"`);
    }
  }
  return out;
}

/**
 * One `nft ARGS...` command line (the shell already split the words): the words are joined with
 * spaces and read as nft reads its command line. Several commands may be separated by `;`.
 */
export function parseNftArgs(args: readonly string[], origin: Origin): NftCommand[] {
  // nft joins its arguments with spaces and reads the result (so `comment "a b"` needs the
  // double quotes to survive the shell: '"a b"')
  const text = args.join(' ');
  let p: P;
  try {
    p = new P(lex(text, origin.file, origin.line), origin.file, () => origin.text);
  } catch (e) {
    if (e instanceof ConfigError) throw ConfigError.at(origin, e.code, e.detail);
    throw e;
  }
  const out: NftCommand[] = [];
  const fix = (c: NftCommand): NftCommand => ({ ...c, origin });
  for (;;) {
    p.skipSep();
    if (!p.peek()) break;
    const before = out.length;
    topCommand(p, out, false);
    for (let k = before; k < out.length; k++) out[k] = fix(out[k]!);
    if (p.peek() && !p.atEnd()) p.fail(`syntax error, unexpected "${p.peek()!.v}"`);
  }
  return out;
}

function family(p: P): NftFamily {
  const w = p.word();
  if (w !== undefined && FAMILIES.has(w) && p.peek(1) !== undefined && (p.peek(1)!.k === 'w' || p.peek(1)!.k === 's')) {
    p.i++;
    return w as NftFamily;
  }
  return 'ip';
}

function tableRef(p: P): { family: NftFamily; table: string } {
  const fam = family(p);
  return { family: fam, table: p.expectName('a table name') };
}

function topCommand(p: P, out: NftCommand[], inFile: boolean): void {
  const line = p.line();
  const w = p.expectWord('a command');
  const origin = p.origin(line);
  switch (w) {
    case 'table': {
      const { family: fam, table } = tableRef(p);
      tableBlock(p, out, fam, table, origin, 'add-table');
      return;
    }
    case 'add':
    case 'create':
    case 'insert':
    case 'replace':
    case 'delete':
    case 'destroy':
    case 'flush':
      return verbCommand(p, out, w, origin);
    case 'list':
    case 'describe':
    case 'monitor':
    case 'reset':
      // look-only: consume the rest of the line
      while (!p.atEnd()) p.next();
      return;
    case 'include':
      return p.unsupported('"include" is not modelled: give the included file\'s rules directly');
    case 'define':
    case 'redefine':
    case 'undefine':
      return p.unsupported('"define" variables are not modelled: write the values literally');
    default:
      if (!inFile && (w === 'rule' || w === 'chain' || w === 'set' || w === 'element' || w === 'map')) {
        // `nft rule ...` is not a command; `nft add` is required... except the implicit `add` form below
      }
      // nft also accepts `nft add` implied for rules: `nft ip filter input ...`? no: it requires a verb.
      return p.fail(`syntax error, unexpected "${w}"`);
  }
}

function tableBlock(p: P, out: NftCommand[], fam: NftFamily, table: string, origin: Origin, cmd: 'add-table' | 'create-table'): void {
  if (!p.isP('{')) {
    out.push({ cmd, family: fam, table, origin, flags: [] });
    return;
  }
  p.next();
  let comment: string | undefined;
  let flags: string[] = [];
  // nft adds a block's chains first, then its sets, then the rules: rules and map elements may
  // name chains declared further down
  const chains: NftCommand[] = [];
  const sets: NftCommand[] = [];
  const rules: NftCommand[] = [];
  for (;;) {
    p.skipSep();
    if (p.isP('}')) {
      p.next();
      break;
    }
    const line = p.line();
    const w = p.expectWord('chain, set, map or }');
    const o = p.origin(line);
    if (w === 'chain') {
      const chain = p.expectName('a chain name');
      const body: NftCommand[] = [{ cmd: 'add-chain', family: fam, table, chain, spec: {}, origin: o }];
      if (p.isP('{')) chainBlock(p, body, fam, table, chain, o, 0);
      chains.push(body[0]!);
      rules.push(...body.slice(1));
      endOfBlockItem(p);
    } else if (w === 'set' || w === 'map') {
      const set = p.expectName('a set name');
      const spec = setBlock(p, w === 'map');
      sets.push({ cmd: 'add-set', family: fam, table, set, spec, origin: o });
      endOfBlockItem(p);
    } else if (w === 'comment') {
      comment = p.expectWord('a comment string');
    } else if (w === 'flags') {
      flags = wordList(p);
    } else if (w === 'flowtable' || w === 'counter' || w === 'quota' || w === 'ct' || w === 'limit' || w === 'secmark' || w === 'synproxy') {
      p.unsupported(`"${w}" objects are not modelled`);
    } else p.fail(`syntax error, unexpected "${w}" in table ${table}`);
  }
  out.push({ cmd, family: fam, table, origin, flags, ...(comment !== undefined ? { comment } : {}) }, ...chains, ...sets, ...rules);
}

/** after a `chain ... { }` or `set ... { }` inside a table block: nft wants a newline or `;` */
function endOfBlockItem(p: P): void {
  const t = p.peek();
  if (t === undefined || t.k === 'nl' || (t.k === 'p' && t.v === ';')) return;
  p.fail(`syntax error, unexpected "${t.v}", expecting newline or semicolon`);
}

function wordList(p: P): string[] {
  const out = [p.expectWord('a word')];
  while (p.isP(',')) {
    p.next();
    out.push(p.expectWord('a word'));
  }
  return out;
}

function chainSpecItems(p: P, spec: { base?: NftBase; comment?: string }, chainName: string): boolean {
  // one `type T hook H [device D] priority P ;` / `policy P ;` / `comment "x" ;`; false at a rule
  const w = p.word();
  if (w === 'type' && p.word(2) === 'hook') {
    p.next();
    const type = p.expectWord('a chain type');
    if (type !== 'filter' && type !== 'nat' && type !== 'route') p.fail(`unknown chain type "${type}"`);
    p.next(); // hook
    const hook = p.expectWord('a hook');
    if (!HOOKS.has(hook)) p.fail(`unknown chain hook "${hook}"`);
    let device: string | undefined;
    if (p.word() === 'device') {
      p.next();
      device = p.expectWord('a device');
    }
    if (p.word() !== 'priority') p.fail('syntax error, expected "priority"');
    p.next();
    const prio = priorityValue(p);
    spec.base = { type: type as NftChainType, hook: hook as NftHook, priority: prio, policy: spec.base?.policy ?? 'accept', ...(device !== undefined ? { device } : {}) };
    return true;
  }
  if (w === 'policy') {
    p.next();
    const pol = p.expectWord('accept or drop');
    if (pol !== 'accept' && pol !== 'drop') p.fail(`policy must be accept or drop, not "${pol}"`);
    if (!spec.base) p.fail(`chain ${chainName}: a policy needs a base chain (type ... hook ... priority ...)`);
    spec.base = { ...spec.base, policy: pol };
    return true;
  }
  if (w === 'comment' && p.peek(1)?.k === 's') {
    p.next();
    spec.comment = p.expectWord('a comment');
    return true;
  }
  return false;
}

function priorityValue(p: P): number {
  const first = p.expectWord('a priority');
  let text = first;
  if ((p.isP('+') || p.word() === '-') && p.word(1) !== undefined && /^\d+$/.test(p.word(1)!)) {
    text += ` ${p.peek()!.v} ${p.word(1)}`;
    p.i += 2;
  } else if (p.word() !== undefined && /^[-+]\d+$/.test(p.word()!)) {
    text += ` ${p.word()![0]} ${p.word()!.slice(1)}`;
    p.i++;
  }
  const v = parsePriority(text);
  if (v === undefined) p.fail(`"${text}" is not a chain priority`);
  return v;
}

function chainBlock(p: P, out: NftCommand[], fam: NftFamily, table: string, chain: string, o: Origin, idx: number): void {
  p.expectP('{');
  const spec: { base?: NftBase; comment?: string } = {};
  for (;;) {
    p.skipSep();
    if (p.isP('}')) {
      p.next();
      break;
    }
    if (chainSpecItems(p, spec, chain)) continue;
    const line = p.line();
    const { stmts, comment } = ruleStmts(p);
    out.push({ cmd: 'add-rule', family: fam, table, chain, stmts, ...(comment !== undefined ? { comment } : {}), origin: p.origin(line) });
  }
  out[idx] = { cmd: 'add-chain', family: fam, table, chain, spec, origin: o };
}

function setBlock(p: P, map: boolean): NftSetSpec {
  p.expectP('{');
  let keyType: NftType[] | undefined;
  let dataType: NftType | undefined;
  let flags: string[] = [];
  let timeout: number | undefined;
  let size: number | undefined;
  let policy: string | undefined;
  let comment: string | undefined;
  let elements: NftElement[] = [];
  for (;;) {
    p.skipSep();
    if (p.isP('}')) {
      p.next();
      break;
    }
    const w = p.expectWord('type, flags, elements, ...');
    switch (w) {
      case 'type': {
        keyType = [typeName(p)];
        while (p.word() === '.') {
          p.next();
          keyType.push(typeName(p));
        }
        if (map) {
          if (p.word() !== ':') p.fail('a map needs "type KEY : DATA"');
          p.next();
          dataType = typeName(p);
        }
        break;
      }
      case 'typeof':
        return p.unsupported('"typeof" set declarations are not modelled: declare the set with "type"');
      case 'flags':
        flags = wordList(p);
        break;
      case 'timeout': {
        const d = parseDuration(p.expectWord('a duration'));
        if (d === undefined) p.fail('bad timeout');
        timeout = d;
        break;
      }
      case 'gc-interval':
        p.next();
        break;
      case 'size':
        size = Number(p.expectWord('a size'));
        break;
      case 'policy':
        policy = p.expectWord('performance or memory');
        break;
      case 'comment':
        comment = p.expectWord('a comment');
        break;
      case 'auto-merge':
        flags = [...flags, 'auto-merge'];
        break;
      case 'elements': {
        p.expectP('=');
        if (!keyType) p.fail('"elements" before "type"');
        elements = elementBlock(p, keyType, dataType);
        break;
      }
      default:
        p.fail(`syntax error, unexpected "${w}" in set`);
    }
  }
  if (!keyType) p.fail('a set needs a "type"');
  return {
    map,
    keyType,
    ...(dataType !== undefined ? { dataType } : {}),
    flags,
    ...(timeout !== undefined ? { timeout } : {}),
    ...(size !== undefined ? { size } : {}),
    ...(policy !== undefined ? { policy } : {}),
    ...(comment !== undefined ? { comment } : {}),
    elements,
  };
}

function typeName(p: P): NftType {
  const t = p.expectWord('a data type');
  if (!TYPE_NAMES.has(t)) p.unsupported(`data type "${t}" is not modelled`);
  return t as NftType;
}

/** `{ e1, e2, ... }` for columns of the given types (map data when `dataType`). */
function elementBlock(p: P, keyType: readonly NftType[], dataType: NftType | undefined): NftElement[] {
  p.expectP('{');
  const out: NftElement[] = [];
  for (;;) {
    p.skipNl();
    if (p.isP('}')) {
      p.next();
      break;
    }
    out.push(element(p, keyType, dataType));
    p.skipNl();
    if (p.isP(',')) {
      p.next();
      continue;
    }
    p.skipNl();
    if (!p.isP('}')) p.fail('syntax error, expected "," or "}" in a set');
  }
  return out;
}

function atom(p: P, t: NftType): NftAtom {
  const tok = p.peek();
  if (!tok || (tok.k !== 'w' && tok.k !== 's')) p.fail(`expected a value of type ${t}`);
  p.i++;
  const a = parseAtom(t, tok.v, tok.k === 's');
  if (a === undefined) {
    if (tok.k === 'w' && !/^[0-9]/.test(tok.v) && t !== 'ipv4_addr') p.fail(`Could not parse ${t}: "${tok.v}"`);
    p.fail(`Could not resolve "${tok.v}" as ${t}`);
  }
  return a;
}

function element(p: P, keyType: readonly NftType[], dataType: NftType | undefined): NftElement {
  const key: NftAtom[] = [atom(p, keyType[0]!)];
  for (let c = 1; c < keyType.length; c++) {
    if (p.word() !== '.') p.fail(`expected "." and a ${keyType[c]} (the set is ${keyType.join(' . ')})`);
    p.next();
    key.push(atom(p, keyType[c]!));
  }
  let comment: string | undefined;
  for (;;) {
    if (p.word() === 'comment') {
      p.next();
      comment = p.expectWord('a comment');
    } else if (p.word() === 'timeout' || p.word() === 'expires') {
      p.i += 2;
    } else if (p.word() === 'counter') {
      p.next();
      if (p.word() === 'packets') p.i += 4;
    } else break;
  }
  let data: NftData | undefined;
  if (dataType !== undefined) {
    if (p.word() !== ':') p.fail('a map element needs ": DATA"');
    p.next();
    if (dataType === 'verdict') data = { kind: 'verdict', verdict: verdict(p) };
    else data = { kind: 'value', atoms: [natAtom(p, dataType)] };
  }
  return { key, ...(data !== undefined ? { data } : {}), ...(comment !== undefined ? { comment } : {}) };
}

/** a map's data value for dnat/snat maps: `ADDR` or `ADDR:PORT` (kept as written, typed by the map) */
function natAtom(p: P, t: NftType): NftAtom {
  return atom(p, t);
}

function verdict(p: P): NftVerdict {
  const w = p.expectWord('a verdict');
  if (w === 'accept' || w === 'drop' || w === 'continue' || w === 'return') return { kind: w };
  if (w === 'jump' || w === 'goto') return p.shared.verdict(w, p.expectName('a chain name'));
  if (w === 'queue') return p.unsupported('"queue" hands packets to user space: not modelled');
  return p.fail(`"${w}" is not a verdict`);
}

function verbCommand(p: P, out: NftCommand[], verb: string, origin: Origin): void {
  const obj = p.expectWord('table, chain, rule, set, map or element');
  const v = verb === 'destroy' ? 'delete' : verb;
  switch (obj) {
    case 'ruleset': {
      if (v !== 'flush') p.fail(`"${verb} ruleset" is not an nft command`);
      const w = p.word();
      if (w !== undefined && FAMILIES.has(w)) {
        p.next();
        out.push({ cmd: 'flush-ruleset', family: w as NftFamily, origin });
      } else out.push({ cmd: 'flush-ruleset', origin });
      return;
    }
    case 'table': {
      const { family: fam, table } = tableRef(p);
      if (v === 'add' || v === 'create') return tableBlock(p, out, fam, table, origin, v === 'add' ? 'add-table' : 'create-table');
      if (v === 'delete' || v === 'flush') {
        out.push({ cmd: v === 'delete' ? 'delete-table' : 'flush-table', family: fam, table, origin });
        return;
      }
      return p.fail(`"${verb} table" is not an nft command`);
    }
    case 'chain': {
      const { family: fam, table } = tableRef(p);
      const chain = p.expectName('a chain name');
      if (v === 'add' || v === 'create') {
        const spec: { base?: NftBase; comment?: string } = {};
        if (p.isP('{')) {
          p.next();
          for (;;) {
            p.skipSep();
            if (p.isP('}')) {
              p.next();
              break;
            }
            if (!chainSpecItems(p, spec, chain)) p.fail(`syntax error, unexpected "${p.peek()?.v ?? 'end'}" in chain specification`);
          }
        }
        out.push({ cmd: v === 'add' ? 'add-chain' : 'create-chain', family: fam, table, chain, spec, origin });
        return;
      }
      if (v === 'delete' || v === 'flush') {
        out.push({ cmd: v === 'delete' ? 'delete-chain' : 'flush-chain', family: fam, table, chain, origin });
        return;
      }
      return p.fail(`"${verb} chain" is not an nft command`);
    }
    case 'rule': {
      const { family: fam, table } = tableRef(p);
      const chain = p.expectName('a chain name');
      let handle: number | undefined;
      let index: number | undefined;
      if (p.word() === 'handle' || p.word() === 'position') {
        p.next();
        handle = Number(p.expectWord('a rule handle'));
      } else if (p.word() === 'index') {
        p.next();
        index = Number(p.expectWord('a rule index'));
      }
      if (v === 'delete') {
        if (handle === undefined) p.fail('"delete rule" needs "handle N"');
        out.push({ cmd: 'delete-rule', family: fam, table, chain, handle, origin });
        return;
      }
      if (v !== 'add' && v !== 'insert' && v !== 'replace') return p.fail(`"${verb} rule" is not an nft command`);
      if (v === 'replace' && handle === undefined) p.fail('"replace rule" needs "handle N"');
      const { stmts, comment } = ruleStmts(p);
      out.push({
        cmd: v === 'add' ? 'add-rule' : v === 'insert' ? 'insert-rule' : 'replace-rule',
        family: fam,
        table,
        chain,
        stmts,
        ...(comment !== undefined ? { comment } : {}),
        ...(handle !== undefined ? { handle } : {}),
        ...(index !== undefined ? { index } : {}),
        origin,
      });
      return;
    }
    case 'set':
    case 'map': {
      const { family: fam, table } = tableRef(p);
      const set = p.expectName('a set name');
      if (v === 'add' || v === 'create') {
        const spec = setBlock(p, obj === 'map');
        out.push({ cmd: v === 'add' ? 'add-set' : 'create-set', family: fam, table, set, spec, origin });
        return;
      }
      if (v === 'delete' || v === 'flush') {
        out.push({ cmd: v === 'delete' ? 'delete-set' : 'flush-set', family: fam, table, set, origin });
        return;
      }
      return p.fail(`"${verb} ${obj}" is not an nft command`);
    }
    case 'element': {
      const { family: fam, table } = tableRef(p);
      const set = p.expectName('a set name');
      if (v !== 'add' && v !== 'create' && v !== 'delete') return p.fail(`"${verb} element" is not an nft command`);
      // the element types come from the set: parsed later, against the set's declaration
      const start = p.i;
      let depth = 0;
      do {
        const t = p.next();
        if (t.k === 'p' && t.v === '{') depth++;
        if (t.k === 'p' && t.v === '}') depth--;
      } while (depth > 0);
      // kept as its text when the source is at hand (one string instead of a token per word
      // until the batch is applied: a 10k-service map is filled by 10k such lines)
      const first = p.toks[start]!;
      const last = p.toks[p.i - 1]!;
      // (the tokens themselves are copied: the buffer they are in is used again for the next piece)
      const pending: Pending =
        p.src !== undefined && first.k === 'p' && last.k === 'p' ? { text: p.src.slice(first.pos, last.pos + 1), line: first.line } : p.toks.slice(start, p.i).map((t) => ({ ...t }));
      out.push({ cmd: v === 'delete' ? 'delete-element' : 'add-element', family: fam, table, set, elements: [], origin, ...{ pending, file: p.file, shared: p.shared } } as NftCommand);
      return;
    }
    default:
      if (obj === 'flowtable' || obj === 'counter' || obj === 'quota' || obj === 'limit' || obj === 'ct') return p.unsupported(`nft "${obj}" objects are not modelled`);
      return p.fail(`syntax error, unexpected "${obj}"`);
  }
}

/** Elements of `add element` kept until the set's types are known: the tokens, or their text and first line. */
type Pending = readonly Tok[] | { readonly text: string; readonly line: number };

/** Element tokens kept by `add element` until the set's types are known (ruleset.ts). */
export function parsePendingElements(cmd: NftCommand, keyType: readonly NftType[], dataType: NftType | undefined): NftElement[] {
  const { pending, shared } = cmd as unknown as { pending?: Pending; shared?: Shared };
  if (!pending) return [...((cmd as { elements?: NftElement[] }).elements ?? [])];
  const toks = 'text' in pending ? lex(pending.text, cmd.origin.file, pending.line, shared?.pendingToks) : TokBuf.of(pending);
  const p = new P(toks, cmd.origin.file, () => cmd.origin.text, undefined, shared);
  return elementBlock(p, keyType, dataType);
}

// ---------------------------------------------------------------------------------------------
// rules

function ruleStmts(p: P): { stmts: NftStmt[]; comment?: string } {
  const stmts: NftStmt[] = [];
  let comment: string | undefined;
  while (!p.atEnd()) {
    if (p.word() === 'comment' && p.peek(1)?.k === 's') {
      p.next();
      comment = p.expectWord('a comment');
      continue;
    }
    stmts.push(statement(p));
  }
  if (stmts.length === 0 && comment === undefined) p.fail('syntax error, empty rule');
  return { stmts, ...(comment !== undefined ? { comment } : {}) };
}

function statement(p: P): NftStmt {
  const w = p.word();
  if (w === undefined) return p.fail(`syntax error, unexpected "${p.peek()!.v}"`);
  if (VERDICT_WORDS.has(w)) return { k: 'verdict', verdict: verdict(p) };
  switch (w) {
    case 'queue':
      return p.unsupported('"queue" hands packets to user space: not modelled');
    case 'reject': {
      p.next();
      if (p.word() !== 'with') return { k: 'reject' };
      p.next();
      const kind = p.expectWord('icmp, icmpx, icmpv6 or tcp');
      if (kind === 'tcp') {
        if (p.expectWord('reset') !== 'reset') p.fail('expected "with tcp reset"');
        return { k: 'reject', with: { kind: 'tcp reset' } };
      }
      if (kind !== 'icmp' && kind !== 'icmpx' && kind !== 'icmpv6') p.fail(`reject with "${kind}" is not known`);
      if (p.word() === 'type') p.next();
      const code = p.expectWord('a reject code');
      return { k: 'reject', with: { kind, code } };
    }
    case 'counter': {
      p.next();
      let packets = 0;
      let bytes = 0;
      if (p.word() === 'packets') {
        p.next();
        packets = Number(p.expectWord('a number'));
        if (p.word() === 'bytes') {
          p.next();
          bytes = Number(p.expectWord('a number'));
        }
      } else if (p.word() === 'name') p.unsupported('named counters are not modelled');
      return { k: 'counter', packets, bytes };
    }
    case 'log': {
      p.next();
      const s: { prefix?: string; level?: string; group?: number; flags?: string[] } = {};
      for (;;) {
        const o = p.word();
        if (o === 'prefix') {
          p.next();
          s.prefix = p.expectWord('a prefix');
        } else if (o === 'level') {
          p.next();
          s.level = p.expectWord('a level');
        } else if (o === 'group') {
          p.next();
          s.group = Number(p.expectWord('a group'));
        } else if (o === 'flags') {
          p.next();
          s.flags = wordList(p);
        } else if (o === 'snaplen' || o === 'queue-threshold') p.i += 2;
        else break;
      }
      return { k: 'log', ...s };
    }
    case 'limit': {
      p.next();
      if (p.word() !== 'rate') p.fail('expected "limit rate"');
      p.next();
      let over = false;
      if (p.word() === 'over') {
        over = true;
        p.next();
      }
      const r = p.expectWord('a rate');
      let m = /^(\d+)\/(second|minute|hour|day|week)$/.exec(r);
      let bytes: string | undefined;
      if (!m && /^\d+$/.test(r) && p.word() !== undefined) {
        const unit = p.expectWord('a unit');
        const mm = /^(bytes|kbytes|mbytes)\/(second|minute|hour|day|week)$/.exec(unit);
        if (!mm) p.fail(`bad limit rate "${r} ${unit}"`);
        bytes = mm[1]!;
        m = [r, r, mm[2]!] as unknown as RegExpExecArray;
      }
      if (!m) p.fail(`bad limit rate "${r}"`);
      let burst: number | undefined;
      if (p.word() === 'burst') {
        p.next();
        burst = Number(p.expectWord('a burst'));
        if (p.word() === 'packets' || p.word() === 'bytes' || p.word() === 'kbytes') p.next();
      }
      return { k: 'limit', rate: Number(m[1]), per: m[2]!, over, ...(burst !== undefined ? { burst } : {}), ...(bytes !== undefined ? { bytes } : {}) };
    }
    case 'snat':
    case 'dnat':
    case 'masquerade':
    case 'redirect':
      return natStmt(p, w);
    case 'notrack':
      p.next();
      return { k: 'notrack' };
    case 'update':
    case 'add':
      if (p.isP('@', 1)) {
        p.next();
        p.next();
        const set = p.expectName('a set name');
        p.expectP('{');
        const keys = concat(p);
        p.expectP('}');
        return { k: 'setop', op: w, set, keys };
      }
      break;
    case 'tcp':
      if (p.word(1) === 'option') return p.unsupported('"tcp option" statements (MSS clamping) are not modelled');
      break;
    case 'meter':
      return p.unsupported('"meter" is not modelled');
  }
  // an expression: a match, a vmap, or `... set VALUE`
  const left = concat(p);
  if (p.word() === 'vmap') {
    p.next();
    return { k: 'vmap', left, map: mapRhs(p, left.map((e) => exprType(e)), 'verdict') };
  }
  if (p.word() === 'set') {
    p.next();
    if (left.length !== 1 || left[0]!.bitop) p.fail('"set" needs one meta or ct key');
    const sel = left[0]!.sel;
    if (sel.k === 'meta' && sel.key === 'nftrace') return { k: 'nftrace', v: Number(p.expectWord('0 or 1')) };
    const target = sel.k === 'meta' && sel.key === 'mark' ? 'meta mark' : sel.k === 'ct' && sel.key === 'mark' && !sel.dir ? 'ct mark' : undefined;
    if (!target) p.unsupported(`setting "${selText(sel)}" is not modelled`);
    const vw = p.word();
    if (vw !== undefined && /^(0x[0-9a-fA-F]+|\d+)$/.test(vw)) {
      p.next();
      return { k: 'set', target, value: { kind: 'const', v: Number(vw) >>> 0 } };
    }
    const from = expr(p);
    return { k: 'set', target, value: { kind: 'expr', from } };
  }
  const op = cmpOp(p);
  const types = left.map((e) => exprType(e));
  const rhs = matchRhs(p, types, op);
  const mask = (rhs as { mask?: number }).mask;
  if (mask !== undefined && left.length === 1 && !left[0]!.bitop) {
    return { k: 'match', left: [{ sel: left[0]!.sel, bitop: { op: '&', v: mask } }], op: op === 'implicit' ? '==' : op, rhs: { kind: 'value', atoms: (rhs as unknown as { atoms: NftAtom[] }).atoms } };
  }
  return { k: 'match', left, op, rhs };
}

function exprType(e: NftExpr): NftType {
  return selType(e.sel);
}

function selText(s: NftSelector): string {
  switch (s.k) {
    case 'payload':
      return `${s.proto} ${s.field}`;
    case 'meta':
      return `meta ${s.key}`;
    case 'ct':
      return `ct ${s.key}`;
    case 'fib':
      return 'fib';
    case 'numgen':
      return 'numgen';
  }
}

function cmpOp(p: P): NftCmpOp {
  const t = p.peek();
  if (t && t.k === 'p' && ['==', '!=', '<', '>', '<=', '>='].includes(t.v)) {
    p.i++;
    return t.v as NftCmpOp;
  }
  const w = p.word();
  const named: Record<string, NftCmpOp> = { eq: '==', ne: '!=', lt: '<', gt: '>', le: '<=', ge: '>=' };
  if (w !== undefined && Object.hasOwn(named, w) && p.peek(1) && p.peek(1)!.k !== 'nl') {
    p.i++;
    return named[w]!;
  }
  return 'implicit';
}

function concat(p: P): readonly NftExpr[] {
  const first = expr(p);
  if (p.word() !== '.') return first.bitop === undefined && (first.sel.k === 'payload' || first.sel.k === 'meta') ? p.shared.left(first) : [first];
  const out = [first];
  while (p.word() === '.') {
    p.next();
    out.push(expr(p));
  }
  return out;
}

function expr(p: P): NftExpr {
  const sel = selector(p);
  const t = p.peek();
  const opWord: Record<string, '&' | '|' | '^'> = { and: '&', or: '|', xor: '^', '&': '&', '|': '|', '^': '^' };
  if (t && Object.hasOwn(opWord, t.v) && (t.k === 'p' || t.k === 'w')) {
    p.i++;
    const type = selType(sel);
    if (p.isP('(')) {
      p.next();
      let v = 0;
      for (;;) {
        const a = parseAtom(type, p.expectWord('a flag'), false);
        if (!a || a.t !== 'num') p.fail('bad flag');
        v |= a.v;
        if (p.isP('|')) {
          p.next();
          continue;
        }
        p.expectP(')');
        break;
      }
      return { sel, bitop: { op: opWord[t.v]!, v: v >>> 0 } };
    }
    const vt = p.word();
    if (vt === undefined) p.fail('expected a number after a bit operation');
    const a = parseAtom(type === 'ct_state' || type === 'ct_status' || type === 'tcp_flag' ? type : 'integer', vt, false);
    let v = a && a.t === 'num' && a.hi === undefined ? a.v : undefined;
    if (v === undefined && BITMASK_TYPES.has(type)) v = flagsValue(p, type, vt);
    if (v === undefined) p.fail(`"${vt}" is not a number`);
    p.next();
    // `tcp flags & (fin|syn) == syn` style lists after the first word
    while (p.isP('|')) {
      p.next();
      const more = parseAtom(type, p.expectWord('a flag'), false);
      if (!more || more.t !== 'num') p.fail('bad flag');
      v |= more.v;
    }
    return { sel, bitop: { op: opWord[t.v]!, v: v >>> 0 } };
  }
  return sel.k === 'payload' || sel.k === 'meta' ? p.shared.expr(sel) : { sel };
}

function flagsValue(p: P, type: NftType, w: string): number | undefined {
  let v = 0;
  for (const part of w.split(',')) {
    const a = parseAtom(type, part, false);
    if (!a || a.t !== 'num') return undefined;
    v |= a.v;
  }
  void p;
  return v;
}

function selector(p: P): NftSelector {
  const line = p.line();
  void line;
  const w = p.expectWord('an expression');
  if (w === '(') p.unsupported('parenthesised expressions are not modelled');
  if (Object.hasOwn(PAYLOAD_TYPE, w)) {
    const field = p.expectWord(`a ${w} field`);
    if (!Object.hasOwn(PAYLOAD_TYPE[w]!, field)) p.unsupported(`"${w} ${field}" is not modelled`);
    return p.shared.payload(w, field);
  }
  if (w === 'meta') {
    const key = p.expectWord('a meta key');
    if (!Object.hasOwn(META_TYPE, key)) p.unsupported(`"meta ${key}" is not modelled`);
    return p.shared.meta(key);
  }
  if (UNQUALIFIED_META.has(w) && Object.hasOwn(META_TYPE, w)) return p.shared.meta(w);
  if (w === 'ct') {
    let dir: 'original' | 'reply' | undefined;
    let key = p.expectWord('a ct key');
    if (key === 'original' || key === 'reply') {
      dir = key;
      key = p.expectWord('a ct key');
      if (key === 'ip') key = p.expectWord('saddr or daddr');
    }
    if (!Object.hasOwn(CT_TYPE, key)) p.unsupported(`"ct ${key}" is not modelled`);
    if ((key === 'saddr' || key === 'daddr' || key === 'proto-src' || key === 'proto-dst') && !dir) p.fail(`"ct ${key}" needs a direction (ct original ${key})`);
    if (key === 'proto-src' || key === 'proto-dst') p.unsupported(`"ct ${dir} ${key}" is not modelled`);
    return { k: 'ct', key, ...(dir !== undefined ? { dir } : {}) };
  }
  if (w === 'fib') {
    const flags = [p.expectWord('saddr, daddr, mark, iif or oif')];
    while (p.word() === '.') {
      p.next();
      flags.push(p.expectWord('a fib flag'));
    }
    const result = p.expectWord('oif, oifname or type');
    if (result !== 'oif' && result !== 'oifname' && result !== 'type') p.fail(`fib result "${result}" is not known`);
    for (const f of flags) if (!['saddr', 'daddr', 'mark', 'iif', 'oif'].includes(f)) p.fail(`fib flag "${f}" is not known`);
    return { k: 'fib', flags, result };
  }
  if (w === 'numgen') {
    const mode = p.expectWord('random or inc');
    if (mode !== 'random' && mode !== 'inc') p.fail(`numgen "${mode}" is not known`);
    if (p.expectWord('mod') !== 'mod') p.fail('expected "numgen MODE mod N"');
    const mod = Number(p.expectWord('a modulus'));
    let offset = 0;
    if (p.word() === 'offset') {
      p.next();
      offset = Number(p.expectWord('an offset'));
    }
    if (!(mod > 0)) p.fail('numgen mod must be positive');
    return { k: 'numgen', mode, mod, offset };
  }
  if (w === 'jhash' || w === 'symhash') return p.unsupported(`"${w}" is not modelled`);
  return p.fail(`syntax error, unexpected "${w}"`);
}

/** the right side of a match: `{ ... }`, `@set`, or a value (flag lists with commas) */
function matchRhs(p: P, types: readonly NftType[], op: NftCmpOp): NftRhs {
  if (p.isP('{')) return { kind: 'set', elements: elementBlock(p, types, undefined) };
  if (p.isP('@')) {
    p.next();
    return { kind: 'ref', name: p.expectName('a set name') };
  }
  const atoms: NftAtom[] = [];
  for (let c = 0; c < types.length; c++) {
    if (c > 0) {
      if (p.word() !== '.') p.fail('expected "." in a concatenated value');
      p.next();
    }
    const t = types[c]!;
    if (BITMASK_TYPES.has(t)) {
      // `ct state established,related`: a flag list (any of them, for the implicit operator)
      const first = p.peek();
      if (first?.k === 'w' && (p.isP(',', 1) || first.v.includes(','))) {
        let v = 0;
        const take = (word: string): void => {
          const x = flagsValue(p, t, word);
          if (x === undefined) p.fail(`Could not parse ${t}: "${word}"`);
          v |= x;
        };
        take(p.expectWord('a flag'));
        while (p.isP(',')) {
          p.next();
          take(p.expectWord('a flag'));
        }
        atoms.push({ t: 'flags', v });
        continue;
      }
      // `tcp flags syn / fin,syn,rst,ack`: (flags & mask) == value
      if (first?.k === 'w' && p.word(1) === '/' && types.length === 1) {
        const v = flagsValue(p, t, p.expectWord('a flag'));
        p.next();
        let mask = 0;
        const take = (word: string): void => {
          const x = flagsValue(p, t, word);
          if (x === undefined) p.fail(`Could not parse ${t}: "${word}"`);
          mask |= x;
        };
        take(p.expectWord('a flag'));
        while (p.isP(',')) {
          p.next();
          take(p.expectWord('a flag'));
        }
        if (v === undefined) p.fail(`Could not parse ${t}`);
        return { kind: 'value', atoms: [{ t: 'num', v }], mask } as NftRhs;
      }
    }
    atoms.push(atom(p, t));
  }
  void op;
  return { kind: 'value', atoms };
}

/** the map of a vmap or a nat `map`: `{ k : v, ... }` or `@name` */
function mapRhs(p: P, keyTypes: readonly NftType[], dataType: NftType): NftRhs {
  if (p.isP('@')) {
    p.next();
    return { kind: 'ref', name: p.expectWord('a map name') };
  }
  if (!p.isP('{')) p.fail('expected "{" or "@map"');
  return { kind: 'set', elements: elementBlock(p, keyTypes, dataType) };
}

function natStmt(p: P, kind: 'snat' | 'dnat' | 'masquerade' | 'redirect'): NftStmt {
  p.next();
  let fam: 'ip' | undefined;
  if (p.word() === 'ip' && (p.word(1) === 'to' || p.word(1) === 'addr')) {
    p.next();
    fam = 'ip';
  }
  if (p.word() === 'ip6') p.unsupported('IPv6 NAT is not modelled');
  let addr: Extract<NftStmt, { k: 'nat' }>['addr'];
  let port: NftAtom | undefined;
  if (p.word() === 'to') {
    p.next();
    const t = p.peek();
    if (!t || t.k !== 'w') p.fail('expected an address after "to"');
    if (kind === 'masquerade' || kind === 'redirect' || t.v.startsWith(':')) {
      const m = /^:(\d+(?:-\d+)?)$/.exec(t.v);
      if (!m) p.fail(`${kind} to ":PORT" expected, not "${t.v}"`);
      port = parseAtom('inet_service', m[1]!, false);
      p.next();
    } else if (/^[0-9]/.test(t.v)) {
      const m = /^([0-9.]+(?:-[0-9.]+)?(?:\/\d+)?)(?::(\d+(?:-\d+)?))?$/.exec(t.v);
      const a = m ? parseAtom('ipv4_addr', m[1]!, false) : undefined;
      if (!m || !a) p.fail(`"${t.v}" is not ADDR[:PORT]`);
      addr = a;
      if (m[2] !== undefined) port = parseAtom('inet_service', m[2], false);
      p.next();
    } else {
      // `dnat to EXPR map { k : addr }`
      const from = concat(p);
      if (p.word() !== 'map') p.fail('expected "map" after the expression');
      p.next();
      addr = { mapFrom: from, map: mapRhs(p, from.map(exprType), 'ipv4_addr') };
    }
  }
  const flags: string[] = [];
  while (p.word() !== undefined && ['random', 'fully-random', 'persistent'].includes(p.word()!.split(',')[0]!)) {
    for (const f of p.expectWord('a flag').split(',')) {
      if (!['random', 'fully-random', 'persistent'].includes(f)) p.fail(`nat flag "${f}" is not known`);
      flags.push(f);
    }
    if (p.isP(',')) p.next();
  }
  return { k: 'nat', nat: kind, ...(fam ? { family: fam } : {}), ...(addr !== undefined ? { addr } : {}), ...(port !== undefined ? { port } : {}), flags };
}

/**
 * `iptables ARGS` (argv after the word `iptables`) to an IptablesCommand, the way iptables
 * v1.8.9 parses it: getopt_long with the base options plus the options of every loaded
 * extension (newest first, unique prefixes accepted: `--to` is `--to-destination`), `!` before
 * an option inverts it, an unknown option with `-p tcp|udp|icmp|sctp` loads that match
 * implicitly (so `-p tcp --dport 80` becomes `-p tcp -m tcp --dport 80`). Each extension's
 * options and their parsing are in its own file in ext/ (ext/index.ts lists them).
 *
 * Only what iptables itself checks in userspace is checked here (option syntax, required
 * options, `-o` in INPUT, DROP in nat ...). What the kernel refuses when the rule is added
 * (DNAT outside nat PREROUTING/OUTPUT, a missing chain ...) is checked in tables.ts.
 * Every error is a ConfigError naming the offending word; nothing is silently ignored.
 */
import { ConfigError } from '../model/errors.js';
import type { Origin } from '../model/origin.js';
import { ParseFail, fail, unsupported, type ExtOpt, type OptionParser, type ParseCtx } from './ext/api.js';
import { UNMODELLED_MATCHES, implicitMatch, matchExt, targetExt } from './ext/index.js';
import { checkIfName, parseAddr } from './ext/util.js';
import { formatRule } from './format.js';
import { TARGET_NAMES, protoByName } from './names.js';
import type { IptablesCommand, NfMatch, NfRule, NfTableName, NfTarget } from './types.js';

/** an extension as the parser holds it: its name and options, and this rule's parse state */
interface Loaded<T> {
  readonly name: string;
  readonly opts: readonly ExtOpt[];
  readonly state: OptionParser<T>;
}

function load<T>(ext: { readonly name: string; readonly opts: readonly ExtOpt[]; parser(): OptionParser<T> }): Loaded<T> {
  return { name: ext.name, opts: ext.opts, state: ext.parser() };
}

type Cmd = 'A' | 'I' | 'R' | 'D' | 'P' | 'N' | 'X' | 'F' | 'Z' | 'L' | 'S' | 'C' | 'E' | 'h' | 'V';
const COMMAND_LONG: Readonly<Record<string, Cmd>> = {
  append: 'A', insert: 'I', replace: 'R', delete: 'D', policy: 'P', 'new-chain': 'N', 'delete-chain': 'X',
  flush: 'F', zero: 'Z', list: 'L', 'list-rules': 'S', check: 'C', 'rename-chain': 'E', help: 'h', version: 'V',
};
/** base long options: name -> short id; arg: 0 none, 1 required, 2 optional */
const BASE_LONG: Readonly<Record<string, readonly [string, 0 | 1 | 2]>> = {
  append: ['A', 1], insert: ['I', 1], replace: ['R', 1], delete: ['D', 1], policy: ['P', 1], 'new-chain': ['N', 1],
  'delete-chain': ['X', 2], flush: ['F', 2], zero: ['Z', 2], list: ['L', 2], 'list-rules': ['S', 2], check: ['C', 1],
  'rename-chain': ['E', 1], help: ['h', 0], version: ['V', 0],
  source: ['s', 1], src: ['s', 1], destination: ['d', 1], dst: ['d', 1], protocol: ['p', 1],
  'in-interface': ['i', 1], 'out-interface': ['o', 1], jump: ['j', 1], goto: ['g', 1], match: ['m', 1],
  table: ['t', 1], numeric: ['n', 0], verbose: ['v', 0], wait: ['w', 2], 'wait-interval': ['W', 1], exact: ['x', 0],
  fragment: ['f', 0], 'line-numbers': ['line-numbers', 0], modprobe: ['modprobe', 1], 'set-counters': ['c', 1],
  ipv4: ['4', 0], ipv6: ['6', 0],
};
const SHORT: Readonly<Record<string, 0 | 1 | 2>> = {
  A: 1, C: 1, D: 1, I: 1, R: 1, L: 2, S: 2, F: 2, Z: 2, N: 1, X: 2, E: 1, P: 1, h: 0, V: 0,
  p: 1, s: 1, d: 1, j: 1, g: 1, i: 1, o: 1, f: 0, m: 1, n: 0, t: 1, v: 0, w: 2, W: 1, x: 0, c: 1, '4': 0, '6': 0,
};
/** short id -> the first long name of BASE_LONG with it (how errors spell the option) */
const BASE_LONG_SPELLING = new Map<string, string>();
for (const [name, [id]] of Object.entries(BASE_LONG)) if (!BASE_LONG_SPELLING.has(id)) BASE_LONG_SPELLING.set(id, name);
const INVERTIBLE = new Set(['s', 'd', 'p', 'i', 'o', 'f']);

class Parser {
  private i = 0;
  private invert = false;
  private cmd: Cmd | undefined;
  private chain: string | undefined;
  private rulenum: number | undefined;
  private policy: string | undefined;
  private table: NfTableName | undefined;
  private readonly base: {
    s?: { invert: boolean; text: string };
    d?: { invert: boolean; text: string };
    i?: { invert: boolean; name: string };
    o?: { invert: boolean; name: string };
    f?: { invert: boolean };
  } = {};
  private readonly ctx: ParseCtx;
  private readonly matches: Loaded<NfMatch>[] = [];
  private target: { ext: Loaded<NfTarget> } | { jump: 'jump' | 'goto'; chain: string } | undefined;
  private protoUsed = false;

  /** `table`: as if the argv began with `-t TABLE` (iptables-restore lines) */
  constructor(
    private readonly argv: readonly string[],
    table?: NfTableName,
  ) {
    this.ctx = { protoInvert: false, table: 'filter' };
    this.table = table;
  }

  private hasArg(): boolean {
    const a = this.argv[this.i];
    return a !== undefined && !a.startsWith('-') && a !== '!';
  }

  private takeInvert(what: string, allowed: boolean, msg?: string): boolean {
    const inv = this.invert;
    this.invert = false;
    if (inv && !allowed) fail(msg ?? `cannot have ! before -${what}`);
    return inv;
  }

  private setCommand(c: Cmd, arg: string | undefined): void {
    this.takeInvert(c, false, 'unexpected ! flag');
    if (this.cmd !== undefined) fail(`Cannot use -${c} with -${this.cmd}`);
    this.cmd = c;
    if (['A', 'C', 'D', 'I', 'R', 'N', 'E', 'P'].includes(c)) this.chain = arg;
    else if (arg !== undefined) this.chain = arg;
    else if (['L', 'S', 'F', 'Z', 'X'].includes(c) && this.hasArg()) this.chain = this.argv[this.i++];
    const ruleNumber = (t: string): number => {
      if (!/^\d+$/.test(t) || Number(t) < 1) fail(`Invalid rule number \`${t}'`);
      return Number(t);
    };
    if (c === 'I' && this.hasArg()) this.rulenum = ruleNumber(this.argv[this.i++]!);
    if (c === 'D' && this.hasArg()) this.rulenum = ruleNumber(this.argv[this.i++]!);
    if (c === 'R') {
      if (!this.hasArg()) fail('-R requires a rule number');
      this.rulenum = ruleNumber(this.argv[this.i++]!);
    }
    if (c === 'P') {
      if (!this.hasArg()) fail('-P requires a chain and a policy');
      this.policy = this.argv[this.i++];
    }
    if (c === 'E') {
      if (!this.hasArg()) fail('-E requires old-chain-name and new-chain-name');
      this.i++;
    }
    if (c === 'Z' && this.chain !== undefined && this.hasArg()) ruleNumber(this.argv[this.i++]!);
  }

  private loadMatch(name: string): void {
    const ext = matchExt(name);
    if (!ext) {
      if (UNMODELLED_MATCHES.has(name)) unsupported(`match \`${name}' (-m ${name}) is not modelled by netpath`);
      fail(`Couldn't load match \`${name}':No such file or directory`);
    }
    this.matches.push(load(ext));
  }

  /** base option (short id) with its argument */
  private baseOption(id: string, arg: string | undefined, spelled: string): void {
    if (COMMAND_LONG[spelled] !== undefined || 'ACDIRPNXFZLSEhV'.includes(id) && id.length === 1) {
      this.setCommand(id as Cmd, arg);
      return;
    }
    const inv = this.takeInvert(id, INVERTIBLE.has(id), id === 'm' ? 'unexpected ! flag before --match' : undefined);
    const once = (present: unknown): void => {
      if (present !== undefined) fail(`multiple -${id} flags not allowed`);
    };
    const a = arg ?? '';
    switch (id) {
      case 's':
      case 'd':
        // iptables parses addresses after all options: `-s ! X` fails on the stray X first
        once(this.base[id]);
        this.base[id] = { invert: inv, text: a };
        return;
      case 'i':
      case 'o':
        once(this.base[id]);
        this.base[id] = { invert: inv, name: checkIfName(a) };
        return;
      case 'f':
        once(this.base.f);
        this.base.f = { invert: inv };
        return;
      case 'p': {
        if (this.ctx.protoText !== undefined) fail('multiple -p flags not allowed');
        const text = a.toLowerCase();
        const proto = protoByName(text);
        if (proto === undefined) fail(`unknown protocol "${a}" specified`);
        this.ctx.proto = proto;
        this.ctx.protoInvert = inv;
        this.ctx.protoText = text;
        return;
      }
      case 'm':
        this.loadMatch(a);
        return;
      case 'j':
      case 'g': {
        if (this.target !== undefined) fail(`multiple -${id} flags not allowed`);
        const ext = targetExt(a);
        if (id === 'j' && ext) this.target = { ext: load<NfTarget>(ext) };
        else if (TARGET_NAMES.has(a)) {
          if (id === 'g') fail(`goto '${a}' is not a chain`);
          unsupported(`target \`${a}' (-j ${a}) is not modelled by netpath`);
        } else {
          if (a === '') fail(`option "-${id}" requires an argument`);
          this.target = { jump: id === 'j' ? 'jump' : 'goto', chain: a };
        }
        return;
      }
      case 't': {
        if (this.table !== undefined) fail('multiple -t flags not allowed');
        if (a === 'raw' || a === 'mangle' || a === 'nat' || a === 'filter') this.table = a;
        else if (a === 'security') unsupported("table 'security' is not modelled by netpath");
        else fail(`table '${a}' does not exist`);
        return;
      }
      case 'w':
        if (arg === undefined && this.hasArg()) {
          const w = this.argv[this.i++]!;
          if (!/^\d+$/.test(w)) fail(`wait seconds not numeric: \`${w}'`);
        } else if (arg !== undefined && !/^\d+$/.test(arg)) fail(`wait seconds not numeric: \`${arg}'`);
        return;
      case 'W':
      case 'n':
      case 'v':
      case 'x':
      case 'line-numbers':
      case '4':
        return; // look-only or wait flags: no effect on the state
      case '6':
        fail('This is the IPv4 version of iptables.');
        break;
      case 'c':
        unsupported('-c/--set-counters: netpath does not model packet counters');
        break;
      default:
        unsupported(`option \`${spelled}' is not modelled by netpath`);
    }
  }

  /** every long option currently known: base first, then extensions newest first */
  private resolveLong(name: string): { base: string; arg: 0 | 1 | 2 } | { ext: Loaded<NfMatch> | Loaded<NfTarget>; opt: ExtOpt } | undefined {
    const exact = Object.hasOwn(BASE_LONG, name) ? BASE_LONG[name] : undefined;
    if (exact) return { base: exact[0], arg: exact[1] };
    const exts: (Loaded<NfMatch> | Loaded<NfTarget>)[] = [];
    if (this.target && 'ext' in this.target) exts.push(this.target.ext);
    for (let k = this.matches.length - 1; k >= 0; k--) exts.push(this.matches[k]!);
    for (const ext of exts) {
      const opt = ext.opts.find((x) => x.name === name);
      if (opt) return { ext, opt };
    }
    const hits: ({ base: string; arg: 0 | 1 | 2; key: string } | { ext: Loaded<NfMatch> | Loaded<NfTarget>; opt: ExtOpt; key: string })[] = [];
    for (const [n, [id, arg]] of Object.entries(BASE_LONG)) if (n.startsWith(name)) hits.push({ base: id, arg, key: `base:${id}` });
    exts.forEach((ext, k) => {
      for (const opt of ext.opts) if (opt.name.startsWith(name)) hits.push({ ext, opt, key: `${k}:${opt.id}` });
    });
    if (hits.length === 0 || new Set(hits.map((h) => h.key)).size > 1) return undefined;
    return hits[0];
  }

  /** an unknown option with -p tcp|udp|icmp|sctp given loads that match once, then retries */
  private implicitProto(): boolean {
    if (this.protoUsed || this.ctx.protoText === undefined || this.ctx.proto === undefined) return false;
    const ext = implicitMatch(this.ctx.proto);
    if (ext === undefined) {
      if (this.ctx.proto === 33) unsupported(`the dccp match (options after -p ${this.ctx.protoText}) is not modelled by netpath`);
      return false;
    }
    this.protoUsed = true;
    this.loadMatch(ext.name);
    return true;
  }

  private extOption(ext: Loaded<NfMatch> | Loaded<NfTarget>, opt: ExtOpt, arg: string): void {
    const inv = this.takeInvert('', opt.invert === true, `${ext.name}: option "--${opt.name}" cannot be inverted.`);
    ext.state.option(opt.id, arg, inv, this.ctx, () => this.argv[this.i++]);
  }

  private longOption(tok: string): void {
    const eq = tok.indexOf('=');
    const name = eq < 0 ? tok.slice(2) : tok.slice(2, eq);
    const attached = eq < 0 ? undefined : tok.slice(eq + 1);
    let r = this.resolveLong(name);
    if (!r && this.implicitProto()) r = this.resolveLong(name);
    if (!r) fail(`unknown option "${eq < 0 ? tok : tok.slice(0, eq)}"`);
    const needs = 'base' in r ? r.arg : r.opt.arg ? 1 : 0;
    let arg = attached;
    if (needs === 1 && arg === undefined) {
      arg = this.argv[this.i++];
      if (arg === undefined) fail(`option "--${name}" requires an argument`);
    }
    if (needs === 0 && arg !== undefined) fail(`option "--${name}" doesn't allow an argument`);
    if ('base' in r) this.baseOption(r.base, arg, BASE_LONG_SPELLING.get(r.base) ?? name);
    else this.extOption(r.ext, r.opt, arg ?? '');
  }

  private shortCluster(tok: string): void {
    for (let k = 1; k < tok.length; k++) {
      const c = tok[k]!;
      const needs = SHORT[c];
      if (needs === undefined) fail(`unknown option "-${c}"`);
      let arg: string | undefined;
      if (needs > 0 && k + 1 < tok.length) {
        arg = tok.slice(k + 1);
        k = tok.length;
      } else if (needs === 1) {
        arg = this.argv[this.i++];
        if (arg === undefined) fail(`option "-${c}" requires an argument`);
      }
      this.baseOption(c, arg, c);
    }
  }

  run(): void {
    while (this.i < this.argv.length) {
      const tok = this.argv[this.i++]!;
      if (tok === '!') {
        if (this.invert) fail('multiple consecutive ! not allowed');
        this.invert = true;
      } else if (tok.startsWith('--') && tok.length > 2) this.longOption(tok);
      else if (tok.startsWith('-') && tok.length > 1) this.shortCluster(tok);
      else {
        const prev = this.argv[this.i - 2];
        const hint = prev === '!' ? ' (iptables 1.8 wants `! -s ADDR`, not `-s ! ADDR`)' : '';
        fail(`Bad argument \`${tok}'${hint}`);
      }
    }
    if (this.invert) fail('nothing appropriate following !');
  }

  /** `canonical`: the rule's text as the input spelled it, kept as `text` when formatRule prints exactly that */
  canonical: string | undefined;

  private buildRule(origin: Origin): NfRule {
    const chain = this.chain!;
    if ((chain === 'PREROUTING' || chain === 'INPUT') && this.base.o) fail(`Can't use -o with ${chain}`);
    if ((chain === 'POSTROUTING' || chain === 'OUTPUT') && this.base.i) fail(`Can't use -i with ${chain}`);
    const matches: NfMatch[] = [];
    const b = this.base;
    for (const id of ['s', 'd'] as const) {
      const given = b[id];
      if (!given) continue;
      const prefix = parseAddr(given.text);
      if (prefix.len === 0 && given.invert) {
        fail(`RULE_APPEND failed (Invalid argument): \`! -${id} ${given.text}' can never match; the kernel refuses it`, 'kernel');
      }
      if (prefix.len > 0) matches.push({ kind: id === 's' ? 'source' : 'destination', invert: given.invert, prefix });
    }
    if (b.i && !(b.i.name === '+' && !b.i.invert)) matches.push({ kind: 'in-interface', invert: b.i.invert, name: b.i.name });
    if (b.o && !(b.o.name === '+' && !b.o.invert)) matches.push({ kind: 'out-interface', invert: b.o.invert, name: b.o.name });
    if (this.ctx.proto !== undefined && this.ctx.proto !== 0) {
      matches.push({ kind: 'protocol', invert: this.ctx.protoInvert, proto: this.ctx.proto });
    }
    if (b.f) matches.push({ kind: 'fragment', invert: b.f.invert });
    for (const m of this.matches) matches.push(m.state.finish(this.ctx));
    let target: NfTarget | undefined;
    if (this.target && 'ext' in this.target) target = this.target.ext.state.finish(this.ctx);
    else if (this.target) target = { kind: this.target.jump, chain: this.target.chain };
    if (target?.kind === 'DROP' && this.ctx.table === 'nat') {
      fail('The "nat" table is not intended for filtering, the use of DROP is therefore inhibited.');
    }
    // matches.slice(): an exact-size array (a pushed-to one keeps spare room; 80k rules keep theirs)
    const exact = matches.slice();
    const formatted = formatRule(exact, target);
    const text = formatted === this.canonical ? this.canonical : formatted;
    return target ? { matches: exact, target, text, origin } : { matches: exact, text, origin };
  }

  command(origin: Origin): IptablesCommand {
    if (this.chain !== undefined) this.ctx.chain = this.chain;
    const table = this.table ?? 'filter';
    (this.ctx as { table: NfTableName }).table = table;
    const c = this.cmd;
    if (c === undefined) fail('no command specified');
    const chain = this.chain;
    switch (c) {
      case 'A':
      case 'I':
      case 'R':
      case 'C': {
        const rule = this.buildRule(origin);
        if (c === 'A') return { table, cmd: 'A', chain: chain!, rule };
        if (c === 'C') return { table, cmd: 'show' };
        return { table, cmd: c, chain: chain!, index: this.rulenum ?? 1, rule };
      }
      case 'D':
        if (this.rulenum !== undefined) {
          this.ensureNoRule('D');
          return { table, cmd: 'D', chain: chain!, index: this.rulenum };
        }
        return { table, cmd: 'D', chain: chain!, rule: this.buildRule(origin) };
      case 'P': {
        this.ensureNoRule('P');
        const p = this.policy!;
        if (p !== 'ACCEPT' && p !== 'DROP') fail('iptables: Bad policy name. Run `dmesg\' for more information.', 'kernel');
        return { table, cmd: 'P', chain: chain!, policy: p };
      }
      case 'N': {
        this.ensureNoRule('N');
        const n = chain!;
        if (n.startsWith('-')) fail("chain name not allowed to start with `-'");
        if (n.length > 28) fail(`chain name \`${n}' too long (must be under 29 chars)`);
        if (TARGET_NAMES.has(n)) fail('chain name may not clash with target name');
        return { table, cmd: 'N', chain: n };
      }
      case 'X':
      case 'F':
      case 'Z':
        this.ensureNoRule(c);
        return chain === undefined ? { table, cmd: c } : { table, cmd: c, chain };
      case 'E':
        unsupported('-E/--rename-chain is not modelled by netpath');
        break;
      case 'L':
      case 'S':
      case 'h':
      case 'V':
        return { table, cmd: 'show' };
    }
    return fail('no command specified');
  }

  /** iptables refuses rule options with commands that take none ("Illegal option `-s' with this command") */
  private ensureNoRule(c: string): void {
    const b = this.base;
    const used = (b.s && '-s') || (b.d && '-d') || (b.i && '-i') || (b.o && '-o') || (b.f && '-f') || (this.ctx.protoText !== undefined && '-p') || (this.matches.length > 0 && '-m') || (this.target && '-j');
    if (used) fail(`Illegal option \`${used}' with this command (-${c})`);
  }
}

/**
 * Parses `iptables ARGV` (argv after the word `iptables`, shell quoting already removed).
 * Throws ConfigError (code 'syntax', 'unsupported' or 'kernel') with the origin's file and line.
 */
export function parseIptablesArgs(argv: readonly string[], origin: Origin): IptablesCommand {
  return parseWith(argv, origin, undefined);
}

function parseWith(argv: readonly string[], origin: Origin, table: NfTableName | undefined, canonical?: string): IptablesCommand {
  try {
    const p = new Parser(argv, table);
    p.canonical = canonical;
    p.run();
    return p.command(origin);
  } catch (e) {
    if (e instanceof ParseFail) throw ConfigError.at(origin, e.code, `iptables: ${e.detail}`);
    throw e;
  }
}

/** Parses one rule spec for a known table/chain (the `-A CHAIN ...` lines of iptables-restore). */
export function parseRuleSpec(table: NfTableName, argv: readonly string[], origin: Origin, canonical?: string): { chain: string; rule: NfRule } {
  const cmd = parseWith(argv, origin, table, canonical);
  if (cmd.cmd !== 'A') throw ConfigError.at(origin, 'unsupported', `iptables-restore: only -A lines are modelled (got ${argv[0] ?? 'nothing'})`);
  return { chain: cmd.chain, rule: cmd.rule };
}

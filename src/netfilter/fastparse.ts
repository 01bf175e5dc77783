/**
 * A direct parser for `-A` lines already in iptables-save's canonical spelling: the shapes
 * kube-proxy and Docker dumps consist of (`-s -d -i -o -p`, then `-m` matches, then `-j`/`-g`
 * with the target's options). The base matches and the chain are read here; each `-m`/`-j`
 * extension reads its own words with its `fast` reader (ext/); an extension without one makes
 * the line decline.
 *
 * It builds the same NfRule the full parser (parse.ts) builds for the line, with the line's own
 * rule part as `text`, and reads every word strictly: a word spelled in any way formatRule would
 * not print it (leading zeros, host bits, a default value written out, options out of order,
 * doubled spaces, tabs, counters ...), or a shape it does not know, or anything the full parser
 * would refuse, makes it decline (return undefined), and the caller hands the line to the full
 * parser. It never throws and never reports an error: errors come from the full parser only.
 *
 * Because every word is checked to be exactly what formatRule prints for the value read, the
 * text needs no formatRule call. test/netfilter/fastparse.test.ts checks, for every `-A` line of
 * the fixtures, generated dumps and generated canonical lines, that the result deep-equals the
 * full parser's.
 */
import type { Origin } from '../model/origin.js';
import type { FastCtx, MatchExt, TargetExt } from './ext/api.js';
import { MATCH_EXTS, TARGET_EXTS, matchExt, type ExtMatch, type ExtTarget } from './ext/index.js';
import * as r from './ext/reader.js';
import { Interner } from './ext/reader.js';
import { TARGET_NAMES, protoByName, protoName } from './names.js';
import type { NfMatch, NfRule, NfTableName, NfTarget } from './types.js';

export { Interner };

const SP = r.SP;

/** the context handed to the extensions' readers: one object, refilled per line */
const CTX: FastCtx = { proto: 0, protoInvert: false, table: 'filter', intern: new Interner() };

/** the extensions with a fast reader, most frequent in dumps first (tried by their word: no string is cut) */
const FAST_MATCHES: readonly MatchExt<ExtMatch>[] = (['comment', 'tcp', 'udp', 'statistic', 'mark', 'conntrack', 'addrtype', 'multiport', 'sctp', 'icmp', 'state', 'connmark'] as const)
  .map((n) => matchExt(n)!)
  .concat(Object.values(MATCH_EXTS) as MatchExt<ExtMatch>[])
  .filter((e, k, all) => e.fast !== undefined && all.indexOf(e) === k);
const FAST_TARGETS: readonly TargetExt<ExtTarget>[] = Object.values(TARGET_EXTS).filter((e) => (e as TargetExt<ExtTarget>).fast !== undefined) as TargetExt<ExtTarget>[];

/** `-m NAME ...` after `-m `; undefined to decline */
function match(): NfMatch | undefined {
  for (let k = 0; k < FAST_MATCHES.length; k++) {
    const ext = FAST_MATCHES[k]!;
    if (r.word(ext.name)) return ext.fast!(CTX);
  }
  return undefined;
}

const SCRATCH: NfMatch[] = [];

/** `-p` matches, one object per protocol and invert flag, shared by every rule (matches are never mutated) */
const PROTOCOL_MATCHES: (NfMatch | undefined)[] = [];
function protocolMatch(proto: number, invert: boolean): NfMatch {
  const k = proto * 2 + (invert ? 1 : 0);
  let m = PROTOCOL_MATCHES[k];
  if (m === undefined) PROTOCOL_MATCHES[k] = m = { kind: 'protocol', invert, proto };
  return m;
}

/** a `-p` word as protoName prints it (not 0), then sep(); -1 if not */
function otherProto(): number {
  const text = r.token();
  const n = protoByName(text);
  return n === undefined || n === 0 || protoName(n) !== text || !r.sep() ? -1 : n;
}

/** `-j NAME ...` after `-j `; undefined to decline */
function target(intern: Interner): NfTarget | undefined {
  const last = intern.lastJump;
  if (last !== '' && r.lookingAt(last) && r.pos() + last.length === r.lineLength()) {
    r.skip(last.length);
    return intern.lastJumpTarget;
  }
  for (let k = 0; k < FAST_TARGETS.length; k++) {
    const ext = FAST_TARGETS[k]!;
    if (r.word(ext.name)) return ext.fast!(CTX);
  }
  const read = r.name();
  if (read === undefined || !r.sep() || TARGET_NAMES.has(read)) return undefined;
  const name = intern.names?.get(read) ?? read;
  if (r.atEnd()) {
    intern.lastJump = name;
    intern.lastJumpTarget = { kind: 'jump', chain: name };
    return intern.lastJumpTarget;
  }
  return { kind: 'jump', chain: name };
}

/**
 * `line` (trimmed, no counters) read as a canonical `-A CHAIN RULE` line of `table`; undefined
 * when it is not one (the full parser then reads it). Never throws on any input.
 */
export function parseCanonicalRule(table: NfTableName, line: string, origin: Origin, intern: Interner): { chain: string; rule: NfRule } | undefined {
  if (!line.startsWith('-A ')) return undefined;
  r.begin(line, 3);
  const N = line.length;
  // the chain: the previous line's (no new string), or a name read here
  let chain: string;
  const last = intern.lastChain;
  if (last !== '' && r.lookingAt(last)) {
    chain = last;
    r.skip(last.length);
  } else {
    const name = r.name();
    if (name === undefined) return undefined;
    chain = name;
  }
  const textStart = r.atEnd() ? N : r.pos() + 1;
  if (!r.sep()) return undefined;

  // read into a scratch array, kept as an exact-size copy (a pushed-to array keeps spare room; 80k rules keep theirs)
  const matches = SCRATCH;
  matches.length = 0;
  // base matches, in formatRule's order
  let save = r.pos();
  let inv = r.bang();
  if (r.word('-s')) {
    const p = r.prefix();
    if (p === undefined || !r.sep()) return undefined;
    matches.push({ kind: 'source', invert: inv, prefix: p });
    save = r.pos();
    inv = r.bang();
  }
  if (r.word('-d')) {
    const p = r.prefix();
    if (p === undefined || !r.sep()) return undefined;
    matches.push({ kind: 'destination', invert: inv, prefix: p });
    save = r.pos();
    inv = r.bang();
  }
  if (r.word('-i')) {
    if (chain === 'POSTROUTING' || chain === 'OUTPUT') return undefined;
    const name = r.ifName();
    if (name === undefined || (name === '+' && !inv) || !r.sep()) return undefined;
    matches.push({ kind: 'in-interface', invert: inv, name });
    save = r.pos();
    inv = r.bang();
  }
  if (r.word('-o')) {
    if (chain === 'PREROUTING' || chain === 'INPUT') return undefined;
    const name = r.ifName();
    if (name === undefined || (name === '+' && !inv) || !r.sep()) return undefined;
    matches.push({ kind: 'out-interface', invert: inv, name });
    save = r.pos();
    inv = r.bang();
  }
  let proto = 0;
  let protoInvert = false;
  if (r.word('-p')) {
    // the protocols of dumps by their word; others through the name table
    const n = r.word('tcp') ? 6 : r.word('udp') ? 17 : r.word('icmp') ? 1 : r.word('sctp') ? 132 : otherProto();
    if (n < 0) return undefined;
    proto = n;
    protoInvert = inv;
    matches.push(protocolMatch(n, inv));
  } else {
    r.setPos(save);
  }
  CTX.proto = proto;
  CTX.protoInvert = protoInvert;
  CTX.table = table;
  CTX.intern = intern;
  while (r.word('-m')) {
    const m = match();
    if (m === undefined) return undefined;
    matches.push(m);
  }
  let tg: NfTarget | undefined;
  if (r.word('-j')) {
    tg = target(intern);
    if (tg === undefined) return undefined;
  } else if (r.word('-g')) {
    const name = r.name();
    if (name === undefined || TARGET_NAMES.has(name) || !r.sep()) return undefined;
    tg = { kind: 'goto', chain: intern.names?.get(name) ?? name };
  }
  if (!r.atEnd()) return undefined;
  const text = textStart === N ? '' : line.slice(textStart);
  intern.lastChain = chain;
  const exact = matches.slice();
  const rule: NfRule = tg !== undefined ? { matches: exact, target: tg, text, origin } : { matches: exact, text, origin };
  return { chain, rule };
}

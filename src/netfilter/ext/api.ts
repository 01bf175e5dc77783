/**
 * What an iptables extension is in netpath: one object per match (`-m NAME`) or target
 * (`-j NAME`), holding everything about it in one file, as libxtables keeps one
 * `struct xtables_match` / `xtables_target` per extension and x_tables one `xt_match` / `xt_target`:
 *
 *   - `opts`: its long options (getopt_long's table; iptables merges them into the command line's)
 *   - `parser()`: the per-rule parse state fed one option at a time, `finish()` builds the value
 *     (libxtables' x6_parse and x6_fcheck)
 *   - `save()`: the words iptables-save prints for the value (the extension's `save`)
 *   - `fast()`: optional direct reader of those very words (the iptables-restore fast path,
 *     fastparse.ts); it declines (undefined) on anything save() would not print
 *   - `match()` / `run()`: what the kernel module does with a packet (xt_match.match /
 *     xt_target.target), and the table/hook restrictions it checks when a rule is added
 *     (xt_check_match / xt_check_target)
 *
 * Every extension is listed once in ext/index.ts; the NfMatch and NfTarget unions (types.ts) are
 * derived from that list, so adding an extension is one new file plus one registry line.
 */
import type { ConfigErrorCode } from '../../model/errors.js';
import type { NfEnv, NfPacket, NfVerdict } from '../eval.js';
import type { NfRule, NfTableName } from '../types.js';
import type { Interner } from './reader.js';

/** A refusal from an extension's parser; parse.ts turns it into a ConfigError at the line. */
export class ParseFail {
  constructor(
    readonly code: ConfigErrorCode,
    readonly detail: string,
  ) {}
}

/** iptables refuses the option (message as iptables prints it). */
export function fail(detail: string, code: ConfigErrorCode = 'syntax'): never {
  throw new ParseFail(code, detail);
}

/** iptables accepts it, but netpath does not model it: refused, never ignored. */
export function unsupported(detail: string): never {
  throw new ParseFail('unsupported', detail);
}

/** One long option of an extension. */
export interface ExtOpt {
  readonly name: string;
  /** aliases share an id (`--dport` and `--destination-port`) */
  readonly id: string;
  readonly arg: boolean;
  /** whether `!` may precede it */
  readonly invert?: boolean;
}

/** an option with an argument (invertible unless told) */
export const opt = (name: string, id = name, arg = true, invert = true): ExtOpt => ({ name, id, arg, invert });
/** an option without an argument (not invertible unless told) */
export const flag = (name: string, id = name, invert = false): ExtOpt => ({ name, id, arg: false, invert });

/** What the rest of the command line tells an extension's parser. */
export interface ParseCtx {
  /** `-p` as a number (undefined when not given) */
  proto?: number;
  protoInvert: boolean;
  /** the -p text as given (lower-cased), for implicit loading */
  protoText?: string;
  readonly table: NfTableName;
  chain?: string;
}

/** One rule's parse state of one extension. */
export interface OptionParser<T> {
  /** one option (its id), with its argument; `next` takes the following argv word (--tcp-flags' second argument) */
  option(id: string, arg: string, invert: boolean, ctx: ParseCtx, next: () => string | undefined): void;
  /** the value, once every option is read (or a refusal: a missing required option ...) */
  finish(ctx: ParseCtx): T;
}

/** once per option id, with iptables' message */
export function once(ext: string, seen: Set<string>, id: string, msg?: string): void {
  if (seen.has(id)) fail(msg ?? `${ext}: option "--${id}" can only be used once.`);
  seen.add(id);
}

/**
 * What the fast path tells an extension's reader about the line so far (one object, reused for
 * every line: read it, never keep it).
 */
export interface FastCtx {
  /** -p as a number; 0 when not given */
  proto: number;
  protoInvert: boolean;
  table: NfTableName;
  /** what consecutive lines of the dump share (the last comment match ...) */
  intern: Interner;
}

export interface MatchExt<M extends { readonly kind: string }> {
  /** `-m NAME` (also the value's kind) */
  readonly name: M['kind'];
  readonly opts: readonly ExtOpt[];
  /** `-p NAME` with an option of this extension loads it implicitly (tcp, udp, icmp, sctp) */
  readonly implicitProto?: number;
  /** asks the environment or changes state (statistic's coin, recent's lists, ipset lookups): chain indexes keep such rules key-less */
  readonly sideEffects?: boolean;
  parser(): OptionParser<M>;
  /** the words iptables-save prints, `-m NAME ...` */
  save(m: M): string;
  /** reads save()'s words after `-m NAME `; undefined to decline (the full parser then reads the line) */
  fast?(c: FastCtx): M | undefined;
  match(m: M, p: NfPacket, env: NfEnv): boolean;
  /** every packet passes it (`-m comment`): a walk need not test it */
  readonly passesAll?: boolean;
  /** the kernel's checkentry for a rule in built-in chain `hook`: the reason it refuses, or undefined */
  checkHook?(m: M, hook: string): string | undefined;
}

/** What a target may change while a walk goes on (ipt_do_table's skb and conntrack). */
export interface WalkState {
  mark: number;
  ctmark: number;
  notrack: boolean;
  logs: string[] | undefined;
}

/** run()'s answer: a verdict ends the walk, CONTINUE goes to the next rule, RETURN pops a chain */
export const CONTINUE = 0;
export const RETURN = 1;
export type TargetResult = NfVerdict | typeof CONTINUE | typeof RETURN;

/** `{ kind: 'NAT', target: t }` for a SNAT, DNAT, MASQUERADE or REDIRECT target value */
export function natVerdict(t: { readonly kind: string }): TargetResult {
  return { kind: 'NAT', target: t } as unknown as TargetResult;
}
/** `{ kind: 'REJECT', with: t.with }` for a REJECT target value */
export function rejectVerdict(t: { readonly kind: string; readonly with: string }): TargetResult {
  return { kind: 'REJECT', with: t.with } as unknown as TargetResult;
}

export interface TargetExt<T extends { readonly kind: string }> {
  /** `-j NAME` (also the value's kind) */
  readonly name: T['kind'];
  readonly opts: readonly ExtOpt[];
  /** x_tables: the only table the target is valid in */
  readonly table?: NfTableName;
  /** x_tables: the only hooks it may be reached from */
  readonly hooks?: readonly string[];
  parser(): OptionParser<T>;
  /** the words iptables-save prints, `-j NAME ...` */
  save(t: T): string;
  /** reads save()'s words after `-j NAME `; undefined to decline */
  fast?(c: FastCtx): T | undefined;
  /** the target's checkentry on the whole rule: the reason it refuses, or undefined */
  check?(t: T, rule: NfRule): string | undefined;
  run(t: T, w: WalkState): TargetResult;
  /** run() neither reads nor changes the walk's state: its answer is the same for every packet (a walk may keep it) */
  readonly pure?: boolean;
}

/** the value type an extension builds */
export type MatchOf<E> = E extends MatchExt<infer M> ? M : never;
export type TargetOf<E> = E extends TargetExt<infer T> ? T : never;

/**
 * A host's runbook as the shell script that runs on the real machine (`netpath export MODEL
 * --host NAME`, and what `netpath replay --ssh` sends): the parsed Ops rendered back with
 * IDENTITY_NAMES (src/replay/names.ts: nothing renamed, `ip netns exec` kept), one normalised
 * command per line, in order; iptables rules in iptables-save's canonical text; an
 * iptables-restore gets its table blocks as a here-document.
 *
 * Also the undo script for a real host (`undoScript`): what can be taken back after a replay, in
 * reverse order, and the lines that cannot be (as comments).
 */
import type { Op } from '../plan/ops.js';
import { formatOrigin } from '../model/origin.js';
import { escapeLine } from '../model/text.js';
import { loadModel } from '../plan/model.js';
import { buildWorld, type Built } from '../world/build.js';
import { IDENTITY_NAMES } from './names.js';
import { renderCommands, shellQuote, type RenderedCommand } from './render.js';

/** The host's rendered commands, as the ssh backend runs them. */
export function hostCommands(built: Built, host: string): RenderedCommand[] {
  return renderCommands(built.ops[host] ?? [], IDENTITY_NAMES);
}

/** One command as a shell line (a here-document for stdin, ended by a word no line of it equals). */
export function shellLine(c: RenderedCommand): string {
  const line = shellQuote(c.argv);
  if (c.stdin === undefined) return line;
  const lines = new Set(c.stdin.split('\n'));
  let eof = 'NETPATH_EOF';
  for (let n = 2; lines.has(eof); n++) eof = `NETPATH_EOF_${n}`;
  return `${line} <<'${eof}'\n${c.stdin}${c.stdin.endsWith('\n') ? '' : '\n'}${eof}`;
}

/** The script body: `set -e` and the commands (no comments: what runs). */
export function scriptBody(cmds: readonly RenderedCommand[]): string {
  return ['set -e', ...cmds.map(shellLine)].join('\n') + '\n';
}

/** `netpath export`: a header comment, then the script body. */
export function exportScript(built: Built, host: string): string {
  if (!built.model.hosts.some((h) => h.name === host))
    throw new Error(`no host "${host}" in ${built.model.file} (hosts: ${built.model.hosts.map((h) => h.name).join(', ')})`);
  const cmds = hostCommands(built, host);
  const nics = built.model.lans.flatMap((l) => l.members.filter((m) => m.host === host).map((m) => `${m.ifname} on LAN ${l.name}${m.addr ? ` with ${fmtAddr(m.addr)}` : ''}`));
  const head = [
    '#!/bin/sh',
    `# netpath export ${escapeLine(built.model.file)} --host ${escapeLine(host)}`,
    `# The runbook of host ${escapeLine(host)}, as netpath parsed it and as \`netpath replay --ssh\` runs it: one`,
    '# normalised command per line, in order (iptables rules in iptables-save form). Run as root.',
    ...(nics.length > 0 ? [`# The model assumes these NICs exist, are up and addressed before it runs: ${escapeLine(nics.join('; '))}.`] : []),
    '# The model also assumes a fresh kernel\'s IPv4 defaults (ip_forward=0, rp_filter=0, ...); a new',
    '# `ip netns add` namespace copies conf.all/conf.default from this machine\'s root namespace.',
    `# ${cmds.length} command(s) from ${(built.ops[host] ?? []).filter((o) => o.op !== 'noop').length} runbook operation(s).`,
  ];
  return `${head.join('\n')}\n${scriptBody(cmds)}`;
}

function fmtAddr(a: { local: number; prefixLen: number }): string {
  return `${a.local >>> 24}.${(a.local >>> 16) & 255}.${(a.local >>> 8) & 255}.${a.local & 255}/${a.prefixLen}`;
}

/** What the undo needs to know of the host before the runbook runs. */
export interface HostBefore {
  /** `iptables-save` output before */
  readonly iptablesSave: string;
  /** sysctl key -> value before (keys the runbook writes; absent = the key did not exist) */
  readonly sysctls: Readonly<Record<string, string>>;
}

/** The sysctl keys a host's runbook writes, per namespace (null = the host's own). */
export function sysctlKeys(ops: readonly Op[]): string[] {
  return [...new Set(ops.flatMap((o) => (o.op === 'sysctl' && o.ns === null ? [o.key] : [])))];
}

/** A shell script that prints what `HostBefore` holds (run before the runbook). */
export const BEFORE_SCRIPT = (keys: readonly string[]): string =>
  [
    'echo @@iptables-save',
    'iptables-save 2>/dev/null || true',
    'echo @@sysctl',
    ...keys.map((k) => `printf '%s=%s\\n' ${shellQuote([k])} "$(sysctl -n ${shellQuote([k])} 2>/dev/null | tr '\\t' ' ')"`),
    'echo @@end',
  ].join('\n') + '\n';

export function parseBefore(out: string): HostBefore {
  const ipt = /@@iptables-save\n([\s\S]*?)@@sysctl\n/.exec(out)?.[1] ?? '';
  const sys = /@@sysctl\n([\s\S]*?)@@end/.exec(out)?.[1] ?? '';
  const sysctls: Record<string, string> = {};
  for (const l of sys.split('\n')) {
    const k = l.indexOf('=');
    if (k > 0 && l.slice(k + 1) !== '') sysctls[l.slice(0, k)] = l.slice(k + 1);
  }
  return { iptablesSave: ipt, sysctls };
}

/**
 * The undo script of one host: in reverse order, the namespaces created are deleted (with every
 * device and rule inside), devices created in the host's own namespace deleted, its addresses,
 * routes, policy rules and neighbour entries removed, sysctls written back, and iptables restored
 * from the `iptables-save` taken before (tables that did not exist are flushed). What cannot be
 * undone (devices moved, renamed, set down/up or re-addressed when they existed before; routes
 * replaced or deleted; namespaces deleted) is listed as comments.
 */
export function undoScript(built: Built, host: string, before: HostBefore): { script: string; cannot: string[] } {
  const ops = built.ops[host] ?? [];
  const lines: string[] = [];
  const cannot: string[] = [];
  const created = new Set<string>();
  const createdLinks = new Set<string>();
  const at = (o: Op): string => `${formatOrigin(o.origin)}: ${o.origin.text ?? o.op}`;
  const tablesTouched = new Set<string>();
  for (const o of ops) {
    if (o.op === 'netns-add' || o.op === 'docker-run') created.add(o.name);
    if (o.op === 'link-add' && o.ns === null) {
      createdLinks.add(o.name);
      if (o.kind === 'veth' && o.peer && o.peer.netns === undefined) createdLinks.add(o.peer.name);
    }
  }
  // one rendered command per op, in order: undo each in reverse
  for (const o of [...ops].reverse()) {
    if (o.ns !== null) continue; // inside a created namespace: goes with it; otherwise below
    const q = (argv: readonly string[]): void => void lines.push(`${shellQuote(argv)} 2>/dev/null || true`);
    const rendered = renderCommands([o], IDENTITY_NAMES).map((c) => c.argv);
    switch (o.op) {
      case 'link-add':
        q(['ip', 'link', 'del', 'dev', o.name]);
        break;
      case 'addr-add':
      case 'route-add':
      case 'route-append':
      case 'rule-add':
      case 'neigh-add':
        for (const a of rendered) {
          const verb = a.indexOf(o.op === 'route-append' ? 'append' : 'add');
          if (o.op === 'addr-add' && createdLinks.has(o.dev)) continue;
          q([...a.slice(0, verb), 'del', ...a.slice(verb + 1)]);
        }
        break;
      case 'sysctl':
        break; // below, once per key
      case 'iptables':
      case 'iptables-restore':
        if (o.op === 'iptables') tablesTouched.add(o.table);
        else for (const t of o.tables) tablesTouched.add(t.table);
        break;
      case 'link-set':
        if (!createdLinks.has(o.dev)) cannot.push(`${at(o)} (changes a device that existed before)`);
        break;
      case 'link-del':
      case 'addr-del':
      case 'addr-flush':
      case 'route-flush':
      case 'route-del':
      case 'route-replace':
      case 'route-change':
      case 'rule-del':
      case 'neigh-replace':
      case 'neigh-del':
      case 'netns-del':
        cannot.push(`${at(o)} (what it removed or replaced is not known)`);
        break;
      case 'nft':
        if (o.ns === null) cannot.push(`${at(o)} (nft rules of the root namespace are not undone)`);
        break;
      case 'netns-add':
      case 'docker-run':
      case 'netns-bind':
      case 'noop':
        break;
    }
  }
  // runbook namespaces (their devices, routes, rules and iptables go with them)
  for (const n of [...created].reverse()) lines.push(`${shellQuote(['ip', 'netns', 'del', n])} 2>/dev/null || true`);
  // sysctls back to their values before
  for (const k of sysctlKeys(ops)) {
    const v = before.sysctls[k];
    if (v !== undefined) lines.push(`${shellQuote(['sysctl', '-q', '-w', `${k}=${v}`])} || true`);
    else cannot.push(`sysctl ${k} (its value before was not known)`);
  }
  // iptables: back to the saved text; tables that were not there are emptied
  if (tablesTouched.size > 0) {
    const present = new Set([...before.iptablesSave.matchAll(/^\*(\w+)$/gm)].map((m) => m[1]!));
    for (const t of [...tablesTouched].sort()) {
      if (present.has(t)) continue;
      lines.push(`iptables -t ${t} -F && iptables -t ${t} -X || true`);
      for (const c of BUILTIN[t] ?? []) lines.push(`iptables -t ${t} -P ${c} ACCEPT 2>/dev/null || true`);
    }
    if (present.size > 0) lines.push(`iptables-restore <<'NETPATH_EOF'\n${before.iptablesSave.trimEnd()}\nNETPATH_EOF`);
  }
  const head = [
    '#!/bin/sh',
    `# netpath: undo on host ${escapeLine(host)} what the replay of ${escapeLine(built.model.file)} applied`,
    ...(cannot.length > 0 ? ['# cannot be undone automatically (restore by hand):', ...cannot.map((c) => `#   ${escapeLine(c)}`)] : []),
  ];
  return { script: `${head.join('\n')}\n${lines.join('\n')}\n`, cannot };
}

const BUILTIN: Readonly<Record<string, readonly string[]>> = {
  filter: ['INPUT', 'FORWARD', 'OUTPUT'],
  nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'],
  mangle: ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'],
  raw: ['PREROUTING', 'OUTPUT'],
};

interface Out {
  out(s: string): void;
  err(s: string): void;
}

/** `netpath export MODEL --host NAME`: 0, or 2 for an unknown host. */
export function cmdExport(model: string, opts: { host: string }, io: Out): number {
  const built = buildWorld(loadModel(model));
  if (!built.model.hosts.some((h) => h.name === opts.host)) {
    io.err(`netpath export: no host "${escapeLine(opts.host)}" in ${escapeLine(model)} (hosts: ${built.model.hosts.map((h) => h.name).join(', ')})\n`);
    return 2;
  }
  io.out(exportScript(built, opts.host));
  return 0;
}

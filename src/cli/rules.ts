/**
 * `netpath rules trace [FILE] [--iptables FILE] [--nft FILE] --src IP[:PORT] --dst IP[:PORT]
 *  [--proto tcp|udp|sctp|icmp] [--iif IF] [--oif IF] [--local IP[,IP...]] [--ipset FILE]
 *  [--linear] [--json]`:
 * one packet through one host's rules, no model needed: an iptables-save dump
 * (src/netfilter/trace.ts), an `nft list ruleset` dump or nft -f file (told apart by content;
 * src/nft/trace.ts), or both kinds at once (--iptables FILE --nft FILE).
 */
import { readFileSync } from 'node:fs';
import { ConfigError } from '../model/errors.js';
import { KERNEL } from '../model/origin.js';
import { parseIptablesRestore } from '../netfilter/restore.js';
import { applyRestore, emptyNfState } from '../netfilter/tables.js';
import { parseIpsetSave, type Ipsets } from '../netfilter/ipset.js';
import { traceRules, type RulesOutcome, type TraceProto } from '../netfilter/trace.js';
import type { IptablesRestoreTable, NfState } from '../netfilter/types.js';
import { parseNftFile } from '../nft/parse.js';
import { applyNft } from '../nft/ruleset.js';
import { traceHost, type HostOutcome } from '../nft/trace.js';
import { EMPTY_NFT, type NftState } from '../nft/types.js';
import { checkProtoPorts, optAddressList, optEndpoint, optIfname, optionError, optProto } from './options.js';
import { parseFlagNames } from '../verify/dims.js';
import { printWarnings } from './warnings.js';

export interface RulesTraceOptions {
  src: string;
  dst: string;
  proto?: string;
  iif?: string;
  oif?: string;
  /** TCP flags of the packet (`SYN`, `ACK,PSH`, `NONE`); default SYN */
  flags?: string;
  local?: string;
  ipset?: string[];
  linear?: boolean;
  json?: boolean;
  iptables?: string;
  nft?: string;
}

interface Out {
  out(s: string): void;
  err(s: string): void;
}

function readText(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError('file', path, 0, `cannot read ${what}: ${(e as Error).message}`);
  }
}

/** An iptables-save dump (file, or `-` for stdin) as netfilter state. */
export function loadDump(path: string): NfState {
  return loadDumpWarned(path).nf;
}

/**
 * A dump without a single table is what `iptables-save` prints when run without root (nothing on
 * stdout, exit 4, "Permission denied (you must be root)" on stderr; iptables v1.8.9 nf_tables) and
 * on a host where no table was ever used: the trace then walks empty chains, so it says so.
 */
export function emptyDumpWarning(text: string, path: string): string | undefined {
  if (/^\*/m.test(text)) return undefined;
  return (
    `${path} holds no iptables table (${text.trim() === '' ? 'it is empty' : 'no "*table" line'}): iptables-save prints nothing when run without root ` +
    '(it exits 4 with "Permission denied (you must be root)" on stderr) and on a host that never used iptables; ' +
    'the trace below is that of a host without any rule, every policy ACCEPT'
  );
}

/** the dump as state, as parsed (its rules in file order, for checks over every rule), and its warnings; `read`: the text when already read */
function loadDumpWarned(path: string, read?: string): { nf: NfState; tables: readonly IptablesRestoreTable[]; warnings: string[] } {
  const text = read ?? readText(path === '-' ? '/dev/stdin' : path, 'the iptables-save dump');
  const tables = parseIptablesRestore(text, path);
  const nf = applyRestore(emptyNfState(), tables, false, { ...KERNEL, file: path });
  const w = emptyDumpWarning(text, path);
  return { nf, tables, warnings: w !== undefined ? [w] : [] };
}

/** the first ephemeral port (net.ipv4.ip_local_port_range starts at 32768) when --src has none */
export const DEFAULT_SPORT = 32768;

/** Whether a rules file is nft's language (`table ...`, `add ...`, `flush ruleset`) rather than iptables-save's. */
export function isNftText(text: string): boolean {
  // line by line up to the first that says (not a split of a 100k-line dump)
  for (let at = 0; at < text.length; ) {
    const end = text.indexOf('\n', at);
    const line = text.slice(at, end < 0 ? text.length : end).trim();
    at = end < 0 ? text.length : end + 1;
    if (line === '' || line.startsWith('#')) continue;
    return /^(table|add|create|insert|replace|delete|destroy|flush|define|include)\b/.test(line);
  }
  return false;
}

/** An nft ruleset (file, or `-` for stdin): `nft list ruleset` output or an `nft -f` file. */
export function loadNftDump(path: string): NftState {
  const text = readText(path === '-' ? '/dev/stdin' : path, 'the nft ruleset');
  return applyNft(EMPTY_NFT, parseNftFile(text, path));
}

export function cmdRulesTrace(file: string | undefined, opts: RulesTraceOptions, io: Out): number {
  const proto: TraceProto = optProto(opts.proto ?? 'tcp', ['tcp', 'udp', 'sctp', 'icmp'] as const);
  const src = optEndpoint(opts.src, '--src');
  const dst = optEndpoint(opts.dst, '--dst');
  checkProtoPorts(proto, dst.port, src.port, '--dst', '--src');
  const iif = opts.iif !== undefined ? optIfname(opts.iif, '--iif') : undefined;
  const oif = opts.oif !== undefined ? optIfname(opts.oif, '--oif') : undefined;
  const local = optAddressList(opts.local ?? '', '--local');
  const tcpFlags = opts.flags !== undefined ? parseFlagNames(opts.flags) : undefined;
  if (opts.flags !== undefined && tcpFlags === undefined) throw optionError('--flags', `"${opts.flags}" must be a comma-separated list of FIN, SYN, RST, PSH, ACK, URG, or NONE`);
  if (tcpFlags !== undefined && proto !== 'tcp') throw optionError('--flags', 'TCP flags need --proto tcp');
  let ipsets: Ipsets | undefined;
  for (const f of opts.ipset ?? []) {
    const more = parseIpsetSave(readText(f, 'the ipset save file'), f);
    ipsets = new Map([...(ipsets ?? []), ...more]);
  }
  let iptFile = opts.iptables;
  let nftFile = opts.nft;
  let fileText: string | undefined;
  if (file !== undefined) {
    const text = readText(file === '-' ? '/dev/stdin' : file, 'the rules dump');
    fileText = text;
    if (isNftText(text)) {
      if (nftFile !== undefined) throw new ConfigError('model', '--nft', 0, `${file} is an nft ruleset and --nft is given too: give one`);
      nftFile = file;
    } else {
      if (iptFile !== undefined) throw new ConfigError('model', '--iptables', 0, `${file} is an iptables-save dump and --iptables is given too: give one`);
      iptFile = file;
    }
  }
  if (iptFile === undefined && nftFile === undefined) throw new ConfigError('model', 'rules trace', 0, 'give a rules file (iptables-save or nft list ruleset output), or --iptables FILE and/or --nft FILE');
  // the file already read is not read again (stdin could not be)
  const loaded = iptFile !== undefined ? loadDumpWarned(iptFile, iptFile === file ? fileText : undefined) : undefined;
  const nf = loaded?.nf;
  const warnings = loaded?.warnings ?? [];
  if (loaded) checkSets(loaded.tables, ipsets, iptFile!);
  printWarnings(warnings, io);
  const input = {
    src: src.ip,
    ...(proto !== 'icmp' ? { sport: src.port ?? DEFAULT_SPORT } : {}),
    dst: dst.ip,
    ...(dst.port !== undefined && proto !== 'icmp' ? { dport: dst.port } : {}),
    proto,
    ...(iif !== undefined ? { iif } : {}),
    ...(oif !== undefined ? { oif } : {}),
    ...(tcpFlags !== undefined ? { tcpFlags } : {}),
    local,
    ...(ipsets ? { ipsets } : {}),
    ...(opts.linear ? { linear: true } : {}),
  };
  const outcomes: HostOutcome[] = nftFile === undefined ? traceRules(nf!, input) : traceHost({ ...(nf ? { nf } : {}), nft: loadNftDump(nftFile) }, input);
  if (opts.json) io.out(JSON.stringify({ outcomes: outcomes.map(outcomeJson), warnings }, null, 2) + '\n');
  else io.out(renderOutcomes(outcomes));
  return 0;
}

/**
 * The kernel refuses a rule naming a set that does not exist: so does the trace. The rules are
 * read in the parsed blocks (flat lists in file order), not by walking every chain of the state.
 */
function checkSets(tables: readonly IptablesRestoreTable[], ipsets: Ipsets | undefined, file: string): void {
  for (const block of tables) {
    for (const { rule: r } of block.rules) {
      for (const m of r.matches) {
        if (m.kind === 'set' && !ipsets?.has(m.name)) {
          throw ConfigError.at(r.origin.file === '' ? { ...r.origin, file } : r.origin, 'kernel', `Set ${m.name} doesn't exist: give the host's sets with --ipset FILE (the output of ipset save)`);
        }
      }
    }
  }
}

/** An outcome's fate and NAT (what `rules matrix` rows show); outcomeJson adds the walk. */
export function outcomeFields(o: HostOutcome | RulesOutcome): Record<string, unknown> {
  return {
    probability: o.probability,
    verdict: o.verdict,
    ...(o.rejectWith !== undefined ? { rejectWith: o.rejectWith } : {}),
    delivery: o.delivery,
    ...(o.dnat !== undefined ? { dnat: o.dnat } : {}),
    ...(o.snat !== undefined ? { snat: o.snat } : {}),
    masquerade: o.masquerade,
  };
}

export function outcomeJson(o: HostOutcome | RulesOutcome): Record<string, unknown> {
  return {
    ...outcomeFields(o),
    ...(o.mark !== undefined ? { mark: o.mark } : {}),
    ...(o.policy !== undefined ? { policy: o.policy } : {}),
    path: o.path,
    ...(o.choices.length > 0 ? { choices: o.choices } : {}),
    ...(o.notes.length > 0 ? { notes: o.notes } : {}),
  };
}

function pct(p: number): string {
  return `${(p * 100).toFixed(p === 1 ? 0 : 2)}%`;
}

export function renderOutcomes(outcomes: readonly (HostOutcome | RulesOutcome)[]): string {
  const lines: string[] = [];
  outcomes.forEach((o, k) => {
    const head = outcomes.length > 1 ? `outcome ${k + 1} of ${outcomes.length} (${pct(o.probability)}): ` : '';
    const where = o.delivery === 'local' ? 'delivered locally' : o.delivery === 'forward' ? 'forwarded' : o.delivery === 'output' ? 'sent out' : 'dropped';
    const verdict = o.verdict === 'REJECT' ? `REJECT (${o.rejectWith ?? ''})` : o.verdict;
    lines.push(`${head}${verdict}, ${where}${o.policy !== undefined ? ` by the ${o.policy} policy` : ''}`);
    if (o.dnat !== undefined) lines.push(`  dnat        ${o.dnat}`);
    if (o.snat !== undefined) lines.push(`  snat        ${o.snat}`);
    if (o.masquerade) lines.push('  masquerade  yes');
    if (o.mark !== undefined) lines.push(`  mark        ${o.mark}`);
    // an nft step's table is `FAMILY NAME`: it shows its chain (its text has no -A CHAIN)
    for (const s of o.path) lines.push(`  ${(s.table.includes(' ') ? `${s.table} ${s.chain}` : `${s.table} ${s.hook}`).padEnd(18)} #${String(s.rule).padEnd(3)} ${s.text}`);
    for (const n of o.notes) lines.push(`  note: ${n}`);
    lines.push('');
  });
  return lines.join('\n');
}

/**
 * User-provided text on its way to a terminal, a file name, a shell script or a `#` comment.
 *
 * Names in a model file and runbook lines are checked where they are read (`nameProblem`,
 * `controlCharIn`); what still reaches an output is escaped where it is written, so a name or an
 * iptables comment can neither move the cursor, recolour or erase a line (ESC, CR, BS), nor start
 * a new line that looks like netpath's own (LF in a table cell or a `#` comment).
 *
 * Escapes are written `\u001b`, as JSON writes them, so text and `--json` output show the same.
 */

/**
 * C0 controls (tab and line feed aside), DEL, C1 controls, and the Unicode format characters that
 * reorder or hide text on a terminal (bidi embeddings, overrides and isolates, LRM/RLM, the line
 * and paragraph separators).
 */
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
/** the same, tab and line feed included: for one-line fields */
const CONTROL_OR_BREAK = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

function hex(c: string): string {
  return `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
}

/** Text for a terminal: every control character escaped but tab and line feed (the output's own layout). */
export function escapeControls(s: string): string {
  return s.replace(CONTROL, hex);
}

/** One line of user text (a table cell, a name in a message, a `#` comment): line breaks escaped too. */
export function escapeLine(s: string): string {
  return s.replace(CONTROL_OR_BREAK, hex);
}

/** The first control character in `s` (tab and line feed excepted), or undefined. */
export function controlCharIn(s: string, allowBreaks = false): string | undefined {
  const m = (allowBreaks ? /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/ : /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/).exec(s);
  return m ? hex(m[0]) : undefined;
}

export type NameKind = 'host' | 'LAN' | 'probe' | 'model';

/**
 * The rule every model-file name follows (hosts, LANs, probes, the model's own name): one line of
 * printable text, no control characters, at most 255 bytes. Host names are also file-name and
 * shell-word safe: letters, digits, `.`, `_`, `-`, starting with a letter or digit. Namespace and
 * interface names come from runbook lines, which `controlCharIn` checks, and follow the kernel's
 * own rules (iproute2 check_ifname, ipnetns is_valid_netns_name) where they are parsed.
 * Returns what is wrong, or undefined.
 */
export function nameProblem(kind: NameKind, name: string): string | undefined {
  if (name === '') return `${kind} name is empty`;
  const c = controlCharIn(name);
  if (c !== undefined) return `${kind} name "${escapeLine(name)}" contains the control character ${c}`;
  if (Buffer.byteLength(name) > 255) return `${kind} name is longer than 255 bytes`;
  if (kind === 'host' && !/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(name)) return `host name "${name}" must be letters, digits, '.', '_' or '-'`;
  return undefined;
}

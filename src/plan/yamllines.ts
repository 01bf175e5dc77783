/**
 * Which file line each line of a YAML string value came from, for every scalar style.
 *
 * A literal block (`|`) keeps its lines: value line i is file line header + 1 + i. Every other
 * style rewrites lines — folded blocks (`>`), single- and double-quoted scalars (as
 * `yaml.safe_dump` writes a multi-line string) and plain multi-line scalars join source lines
 * with spaces, turn empty lines into newlines, and double quotes add `\n` escapes. Rather than
 * re-implement YAML's folding, the source is marked: a private-use character sequence naming the
 * file line is put at the start of each non-empty source line of the scalar and the document is
 * parsed again by the same `yaml` package. A value line starts on the line of the marker it
 * starts with, or else on the line of the last marker before it (an `\n` escape in the middle of
 * a source line). Removing the markers must give back the original value exactly; if it does
 * not, the mapping is not trusted and every value line gets the scalar's first line.
 */
import { parseDocument, visit, type LineCounter, type Scalar } from 'yaml';

/** Marker for a file line: two characters from the supplementary private-use planes. */
function marker(line: number): string {
  return String.fromCodePoint(0xf0000 + Math.floor(line / 0x10000), 0x100000 + (line % 0x10000));
}
const MARKER = /[\u{F0000}-\u{FFFFD}][\u{100000}-\u{10FFFD}]/u;
const MARKERS = /[\u{F0000}-\u{FFFFD}][\u{100000}-\u{10FFFD}]/gu;

function lineOfMarker(m: string): number {
  return (m.codePointAt(0)! - 0xf0000) * 0x10000 + (m.codePointAt(2)! - 0x100000);
}

/** A string scalar of the parsed document: its source range, style and value. */
export interface ScalarAt {
  readonly start: number;
  readonly end: number;
  readonly type: Scalar['type'];
  readonly value: string;
}

/**
 * For each scalar, the file line (1-based) of each of its value's lines (`value.split('\n')`), or
 * 'consecutive' for a literal block (its first line is the line after the `|` header, and the
 * others follow). All other scalars are marked in one copy of the text and parsed once.
 */
export function valueLines(text: string, lc: LineCounter, scalars: readonly ScalarAt[]): (readonly number[] | 'consecutive')[] {
  const result: (readonly number[] | 'consecutive' | undefined)[] = scalars.map((s) => (s.type === 'BLOCK_LITERAL' ? 'consecutive' : undefined));
  const todo = scalars.map((s, i) => ({ s, i })).filter(({ s }) => s.type !== 'BLOCK_LITERAL' && s.value.includes('\n'));
  for (const { s, i } of scalars.map((s, i) => ({ s, i }))) {
    if (result[i] === undefined && !s.value.includes('\n')) result[i] = [lc.linePos(s.start).line];
  }
  if (todo.length > 0) {
    // insertion points (offset, marker), in increasing order
    const inserts: { at: number; mark: string }[] = [];
    const starts = lineStarts(text);
    for (const { s } of todo) {
      const first = lc.linePos(s.start).line;
      const last = lc.linePos(Math.max(s.start, s.end - 1)).line;
      const block = s.type === 'BLOCK_FOLDED';
      for (let line = first; line <= last; line++) {
        if (block && line === first) continue; // the `>` header
        const ls = starts[line - 1]!;
        const le = line < starts.length ? starts[line]! - 1 : text.length;
        let at: number;
        if (line === first) at = s.start + (s.type === 'QUOTE_DOUBLE' || s.type === 'QUOTE_SINGLE' ? 1 : 0);
        else {
          at = ls;
          while (at < le && (text[at] === ' ' || text[at] === '\t')) at++;
          if (at >= le || text[at] === '\r') continue; // empty lines fold: leave them as they are
        }
        if (at >= s.end) continue;
        inserts.push({ at, mark: marker(line) });
      }
    }
    inserts.sort((a, b) => a.at - b.at);
    let marked = '';
    let prev = 0;
    for (const ins of inserts) {
      marked += text.slice(prev, ins.at) + ins.mark;
      prev = ins.at;
    }
    marked += text.slice(prev);
    const doc = parseDocument(marked, { uniqueKeys: false, merge: true });
    const byStart = new Map<number, string>();
    visit(doc, {
      Scalar(_k, n) {
        if (n.range && typeof n.value === 'string') byStart.set(n.range[0], n.value);
      },
    });
    // offsets of the marked copy: every insert at or before a scalar's start shifts it
    let k = 0;
    let shift = 0;
    const order = [...todo].sort((a, b) => a.s.start - b.s.start);
    for (const { s, i } of order) {
      while (k < inserts.length && inserts[k]!.at < s.start) shift += inserts[k++]!.mark.length;
      const v = byStart.get(s.start + shift);
      result[i] = v !== undefined ? fromMarked(v, s.value) : undefined;
    }
  }
  return scalars.map((s, i) => result[i] ?? s.value.split('\n').map(() => lc.linePos(s.start).line));
}

function lineStarts(text: string): number[] {
  const starts = [0];
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) starts.push(i + 1);
  return starts;
}

/**
 * Value lines' file lines from the marked value, or undefined when unmarking does not give `value`
 * back. A value line starting with a marker began on that marker's line; any other began on the
 * line of the last marker before it (its first character followed that marker in the source).
 */
function fromMarked(marked: string, value: string): number[] | undefined {
  if (marked.replace(MARKERS, '') !== value) return undefined;
  const out: number[] = [];
  let last: number | undefined;
  for (const l of marked.split('\n')) {
    const all = l.match(MARKERS) ?? [];
    const head = MARKER.exec(l);
    // a more-indented line of a folded block keeps its spaces before the marker
    const indent = l.length - l.trimStart().length;
    out.push(head !== null && head.index === indent ? lineOfMarker(head[0]) : (last ?? -1));
    if (all.length > 0) last = lineOfMarker(all[all.length - 1]!);
  }
  // leading empty lines before any marker take the first marked line
  const firstKnown = out.find((x) => x >= 0);
  if (firstKnown === undefined) return undefined;
  return out.map((x) => (x >= 0 ? x : firstKnown));
}

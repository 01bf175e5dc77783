/** `-m comment --comment TEXT` (libxt_comment, xt_comment): always matches. */
import { fail, opt, type MatchExt } from './api.js';
import * as r from './reader.js';
import { saveString, truncateBytes } from './util.js';

export interface CommentMatch {
  readonly kind: 'comment';
  readonly comment: string;
}

function bareChar(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 95 || c === 45;
}

/** `--comment` argument as saveString prints it; the value (unescaped), or undefined */
function commentValue(): string | undefined {
  if (r.atEnd()) return undefined;
  const S = r.line();
  const N = r.lineLength();
  let P = r.pos();
  if (S.charCodeAt(P) !== 34) {
    // bare: [A-Za-z0-9_-]+ (not starting with `-`, which the full parser may read otherwise)
    const start = P;
    while (P < N && bareChar(S.charCodeAt(P))) P++;
    if (P === start || S.charCodeAt(start) === 45) return undefined;
    r.setPos(P);
    const v = S.slice(start, P);
    return r.sep() ? v : undefined;
  }
  // quoted: printable ASCII, `"` `\` `'` escaped by a backslash, and not all bare characters
  const start = ++P;
  let v = '';
  let from = P;
  let plain = true;
  for (;;) {
    if (P >= N) return undefined;
    const c = S.charCodeAt(P);
    if (c === 34) break;
    if (c < 32 || c > 126 || c === 39) return undefined;
    if (c === 92) {
      const e = P + 1 < N ? S.charCodeAt(P + 1) : -1;
      if (e !== 34 && e !== 92 && e !== 39) return undefined;
      v += S.slice(from, P);
      from = P + 1;
      P += 2;
      plain = false;
      continue;
    }
    if (!bareChar(c)) plain = false;
    P++;
  }
  // an empty or all-bare value would be printed bare; one starting with `-` is left to the full parser
  if (plain || P === start || S.charCodeAt(start) === 45) return undefined;
  const raw = S.slice(start, P);
  v = from === start ? raw : v + S.slice(from, P);
  r.setPos(P + 1); // after the closing quote
  if (v.length > 255 || v === '!' || !r.sep()) return undefined;
  return v;
}

export const comment: MatchExt<CommentMatch> = {
  name: 'comment',
  opts: [opt('comment', 'comment', true, false)],
  parser() {
    let v: string | undefined;
    return {
      option(_id, arg) {
        if (v !== undefined) fail('comment: option "--comment" can only be used once.');
        v = truncateBytes(arg, 255); // iptables 1.8.9 (nf_tables) silently keeps the first 255 bytes
      },
      finish() {
        if (v === undefined) fail('comment: option "--comment" must be specified');
        return { kind: 'comment', comment: v };
      },
    };
  },
  save: (m) => `-m comment --comment ${saveString(m.comment)}`,
  // kube-proxy repeats a comment on consecutive rules: the same spelling gives the same match object
  fast(c) {
    if (!r.word('--comment')) return undefined;
    const intern = c.intern;
    const last = intern.lastCommentText;
    if (last !== '' && r.lookingAt(last)) {
      r.skip(last.length);
      return r.sep() ? (intern.lastComment as CommentMatch) : undefined;
    }
    const start = r.pos();
    const value = commentValue();
    if (value === undefined) return undefined;
    const m: CommentMatch = { kind: 'comment', comment: value };
    intern.lastCommentText = r.atEnd() ? r.sliceFrom(start) : r.line().slice(start, r.pos() - 1);
    intern.lastComment = m;
    return m;
  },
  match: () => true,
  passesAll: true,
};

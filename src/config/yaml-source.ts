// A parsed YAML file that can answer "where is this key?": the position of a
// value, of a key, or of the mapping that should have held a missing key.
import { CST, LineCounter, Parser, isAlias, isMap, isScalar, isSeq, parseDocument } from 'yaml';
import type { Document, Node, YAMLMap } from 'yaml';
import type { ConfigIssue } from './issues.ts';

export interface Position {
  line: number;
  col: number;
}

/** A YAML file parsed with positions; `syntaxIssues` is empty when it parsed cleanly. */
export class YamlSource {
  readonly doc: Document.Parsed;
  readonly syntaxIssues: ConfigIssue[];
  private readonly lines = new LineCounter();

  constructor(
    readonly file: string,
    text: string,
  ) {
    this.doc = parseDocument(text, { lineCounter: this.lines, prettyErrors: false, uniqueKeys: true });
    this.syntaxIssues = this.doc.errors.map((e) => {
      const message = `YAML syntax error: ${e.message.split('\n')[0]}`;
      // yaml reports an unclosed quote or bracket where the file ends; the opener is where the mistake is.
      const kind = /closing (["'])quote|end with a ([\]}])/.exec(e.message);
      const opener = kind ? unclosedOpener(text, e.pos[0], kind[1] ?? (kind[2] === ']' ? '[' : '{')) : undefined;
      if (opener === undefined) return { file, ...this.at(e.pos[0]), key: '', message };
      const end = this.at(e.pos[0]);
      return { file, ...this.at(opener), key: '', message: `${message} (opened here, still open at ${end.line}:${end.col})` };
    });
  }

  /** The plain JS value of the document (null for an empty file). */
  value(): unknown {
    return this.doc.toJS({ maxAliasCount: 100 });
  }

  /** Converts a character offset to a 1-based line and column. */
  at(offset: number): Position {
    const { line, col } = this.lines.linePos(offset);
    return { line, col };
  }

  /** Position of the value at `path`; an empty value points at its key; a missing one at its nearest ancestor. */
  valuePos(path: readonly PropertyKey[]): Position {
    const { node, keyNode } = this.walk(path);
    const empty = isScalar(node) && node.value === null && node.source === '';
    const target = empty && keyNode ? keyNode : node;
    return this.at(target?.range?.[0] ?? 0);
  }

  /** Position of the key `key` inside the mapping at `mapPath` (for unknown keys). */
  keyPos(mapPath: readonly PropertyKey[], key: string): Position {
    const map = this.walk(mapPath).node;
    if (isMap(map)) {
      const pair = map.items.find((p) => isScalar(p.key) && String(p.key.value) === key);
      const range = (pair?.key as Node | undefined)?.range;
      if (range) return this.at(range[0]);
    }
    return this.valuePos(mapPath);
  }

  /** Walks `path` through mappings and lists, following aliases; stops at the deepest node found. */
  private walk(path: readonly PropertyKey[]): { node: Node | null; keyNode: Node | null } {
    let node: Node | null = (this.doc.contents as Node | null) ?? null;
    let keyNode: Node | null = null;
    for (const seg of path) {
      const resolved = this.resolve(node);
      if (isMap(resolved)) {
        const pair = (resolved as YAMLMap<Node, Node>).items.find(
          (p) => isScalar(p.key) && String(p.key.value) === String(seg),
        );
        if (!pair) break;
        keyNode = pair.key;
        node = pair.value ?? pair.key;
      } else if (isSeq(resolved) && typeof seg === 'number' && resolved.items[seg]) {
        keyNode = null;
        node = resolved.items[seg] as Node;
      } else {
        break;
      }
    }
    return { node, keyNode };
  }

  private resolve(node: Node | null): Node | null {
    return isAlias(node) ? ((node.resolve(this.doc) as Node | undefined) ?? null) : node;
  }
}

/** Offset of the last quoted scalar or flow collection opened by `open` before `pos` and never closed. */
function unclosedOpener(text: string, pos: number, open: string): number | undefined {
  let found: number | undefined;
  const check = (token: CST.Token | undefined) => {
    if (!token || token.offset > pos || (found !== undefined && token.offset <= found)) return;
    if (token.type === 'double-quoted-scalar' || token.type === 'single-quoted-scalar') {
      const body = token.source.trimEnd();
      const closed = open === '"' ? /^"(?:[^"\\]|\\[\s\S])*"$/.test(body) : /^'(?:[^']|'')*'$/.test(body);
      if (token.source[0] === open && !closed) found = token.offset;
    } else if (token.type === 'flow-collection' && token.start.source === open) {
      if (!token.end.some((t) => t.type === 'flow-seq-end' || t.type === 'flow-map-end')) found = token.offset;
    }
  };
  for (const doc of new Parser().parse(text)) {
    if (doc.type !== 'document') continue;
    check(doc.value);
    CST.visit(doc, (item) => {
      check(item.key ?? undefined);
      check(item.value);
    });
  }
  return found;
}

// A parsed YAML file that can answer "where is this key?": the position of a
// value, of a key, or of the mapping that should have held a missing key.
import { CST, LineCounter, Parser, isAlias, isMap, isScalar, isSeq, parseDocument, visit } from 'yaml';
import type { Alias, Document, Node, Pair, YAMLMap } from 'yaml';
import type { ConfigIssue } from './issues.ts';

/** Alias expansions allowed when the document is turned into data: a board file needs few or none. */
const MAX_ALIAS_COUNT = 100;

export interface Position {
  line: number;
  col: number;
}

/** A YAML file parsed with positions; `syntaxIssues` is empty when it parsed cleanly. */
export class YamlSource {
  readonly doc: Document.Parsed;
  readonly syntaxIssues: ConfigIssue[];
  private readonly lines = new LineCounter();
  /** Each mapping's pairs by key text (first one wins), built when first asked: one lookup per issue, not a scan. */
  private readonly pairIndex = new WeakMap<YAMLMap, Map<string, Pair<Node, Node>>>();

  constructor(
    readonly file: string,
    text: string,
  ) {
    // yaml's own uniqueKeys check compares each key with every earlier one
    // (16k keys: 5 s); duplicateKeys does the same in one pass.
    this.doc = parseDocument(text, { lineCounter: this.lines, prettyErrors: false, uniqueKeys: false });
    const syntax = this.doc.errors.map((e) => {
      const message = `YAML syntax error: ${e.message.split('\n')[0]}`;
      // yaml reports an unclosed quote or bracket where the file ends; the opener is where the mistake is.
      const kind = /closing (["'])quote|end with a ([\]}])/.exec(e.message);
      const opener = kind ? unclosedOpener(text, e.pos[0], kind[1] ?? (kind[2] === ']' ? '[' : '{')) : undefined;
      if (opener === undefined) return { file, ...this.at(e.pos[0]), key: '', message };
      const end = this.at(e.pos[0]);
      return { file, ...this.at(opener), key: '', message: `${message} (opened here, still open at ${end.line}:${end.col})` };
    });
    this.syntaxIssues = [...syntax, ...this.duplicateKeys()].sort((a, b) => a.line - b.line || a.col - b.col);
  }

  /** The plain JS value of the document (null for an empty file), or the issue that kept it from being made. */
  value(): { data: unknown } | { issue: ConfigIssue } {
    try {
      return { data: this.doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }) };
    } catch (error) {
      // yaml throws a ReferenceError for an alias bomb and for an alias to an unknown anchor.
      if (!(error instanceof ReferenceError)) throw error;
      const unresolved = /^Unresolved alias.*: (.*)$/.exec(error.message)?.[1];
      const aliases: Alias[] = [];
      visit(this.doc, { Alias: (_, node) => void aliases.push(node) });
      const alias = unresolved === undefined ? aliases[0] : aliases.find((a) => a.source === unresolved);
      const message =
        unresolved === undefined
          ? `YAML: more than ${MAX_ALIAS_COUNT} alias expansions (an alias bomb?): a board file needs few or no aliases`
          : `YAML: alias *${unresolved} names no anchor defined before it`;
      return { issue: { file: this.file, ...this.at(alias?.range?.[0] ?? 0), key: '', message } };
    }
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
    const map = this.resolve(this.walk(mapPath).node);
    if (isMap(map)) {
      const range = this.pairOf(map as YAMLMap<Node, Node>, key)?.key.range;
      if (range) return this.at(range[0]);
    }
    return this.valuePos(mapPath);
  }

  /** The pair of `map` whose scalar key reads `key`, through the index. */
  private pairOf(map: YAMLMap<Node, Node>, key: string): Pair<Node, Node> | undefined {
    let index = this.pairIndex.get(map);
    if (!index) {
      index = new Map();
      for (const pair of map.items) {
        if (isScalar(pair.key) && !index.has(String(pair.key.value))) index.set(String(pair.key.value), pair);
      }
      this.pairIndex.set(map, index);
    }
    return index.get(key);
  }

  /** A syntax issue for each repeated key of a mapping, pointing at the repeat and naming the first. */
  private duplicateKeys(): ConfigIssue[] {
    const issues: ConfigIssue[] = [];
    visit(this.doc, {
      Map: (_, map) => {
        const seen = new Map<unknown, Node>();
        for (const pair of map.items) {
          const key = pair.key as Node | null;
          if (!isScalar(key)) continue;
          const first = seen.get(key.value);
          if (first === undefined) {
            seen.set(key.value, key);
            continue;
          }
          const at = this.at(first.range?.[0] ?? 0);
          issues.push({
            file: this.file,
            ...this.at(key.range?.[0] ?? 0),
            key: '',
            message: `YAML syntax error: duplicate key ${JSON.stringify(String(key.value))} (first at ${at.line}:${at.col})`,
          });
        }
      },
    });
    return issues;
  }

  /** Walks `path` through mappings and lists, following aliases; stops at the deepest node found. */
  private walk(path: readonly PropertyKey[]): { node: Node | null; keyNode: Node | null } {
    let node: Node | null = (this.doc.contents as Node | null) ?? null;
    let keyNode: Node | null = null;
    for (const seg of path) {
      const resolved = this.resolve(node);
      if (isMap(resolved)) {
        const pair = this.pairOf(resolved as YAMLMap<Node, Node>, String(seg));
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

/**
 * The guides' shell examples, read out of the markdown and compared with what the guides show
 * (CONTRIBUTING.md, "Examples in the guides"):
 *
 * - every ```sh (or bash, shell) block is run, in order, in one bash per guide, unless the line
 *   before it is `<!-- illustrative -->`;
 * - a ```json or ```text block that follows a run block (blank lines between at most) is that
 *   block's output: each JSON value and each text line it shows must appear in the real output,
 *   in that order (other lines and values may come between);
 * - a JSON object shows the fields that are compared (others may exist; a `"...": "..."` member
 *   only says so); an array shows its first items, and ends with `"..."` when more may follow
 *   (without it the length must be the same); a string with `…` or `...` in it matches any text
 *   in their place, `"<in 7 days>"` (any string in angle brackets) matches any value, and a UUID
 *   or an RFC 3339 time matches any UUID or time: ids and times differ from run to run.
 */

export interface Example {
  /** 1-based line of the opening fence. */
  line: number;
  code: string;
  /** The output the guide shows, when it shows one. */
  expected?: string;
}

export interface GuideExamples {
  run: Example[];
  illustrative: number;
}

const FENCE = /^(\s*)(`{3,}|~{3,})\s*([\w-]*)/;
const SHELL = new Set(["sh", "bash", "shell"]);
const OUTPUT = new Set(["json", "text"]);
export const ILLUSTRATIVE = "<!-- illustrative -->";

interface Block {
  info: string;
  body: string;
  start: number;
  end: number;
}

function blocks(lines: string[]): Block[] {
  const out: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = FENCE.exec(lines[i]!);
    if (!open) continue;
    const [, indent, fence, info] = open;
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length; j++) {
      const l = lines[j]!;
      if (l.trimStart().startsWith(fence!) && l.trim() === l.trim().replace(/[^`~]/g, "") && l.trim().length >= fence!.length) break;
      body.push(l.startsWith(indent!) ? l.slice(indent!.length) : l.trimStart());
    }
    out.push({ info: info!.toLowerCase(), body: body.join("\n"), start: i, end: j });
    i = j;
  }
  return out;
}

export function extractExamples(markdown: string): GuideExamples {
  const lines = markdown.split("\n");
  const all = blocks(lines);
  const run: Example[] = [];
  let illustrative = 0;
  all.forEach((b, k) => {
    if (!SHELL.has(b.info)) return;
    let p = b.start - 1;
    while (p >= 0 && lines[p]!.trim() === "") p--;
    if (p >= 0 && lines[p]!.trim() === ILLUSTRATIVE) {
      illustrative++;
      return;
    }
    const example: Example = { line: b.start + 1, code: b.body };
    const next = all[k + 1];
    if (next && OUTPUT.has(next.info) && lines.slice(b.end + 1, next.start).every((l) => l.trim() === "")) example.expected = next.body;
    run.push(example);
  });
  return { run, illustrative };
}

type Item = { json: unknown; text: string } | { text: string; json?: undefined };

/** The output as a list of JSON values and text lines (a line that starts a JSON value takes as many lines as the value). */
export function items(output: string): Item[] {
  const out: Item[] = [];
  let i = 0;
  while (i < output.length) {
    while (i < output.length && /\s/.test(output[i]!)) i++;
    if (i >= output.length) break;
    const c = output[i]!;
    if (c === "{" || c === "[") {
      const end = jsonEnd(output, i);
      if (end > 0) {
        const text = output.slice(i, end);
        try {
          out.push({ json: JSON.parse(text), text });
          i = end;
          continue;
        } catch {
          // Not JSON after all: a text line.
        }
      }
    }
    let e = output.indexOf("\n", i);
    if (e < 0) e = output.length;
    out.push({ text: output.slice(i, e).trimEnd() });
    i = e;
  }
  return out;
}

/** The index after the bracketed value starting at `start`, or -1. */
function jsonEnd(s: string, start: number): number {
  let depth = 0;
  let inString = false;
  for (let i = start; i < s.length; i++) {
    const c = s[i]!;
    if (inString) {
      if (c === "\\") i++;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') inString = true;
    else if (c === "{" || c === "[") depth++;
    else if (c === "}" || c === "]") {
      depth--;
      if (depth === 0) return i + 1;
    }
  }
  return -1;
}

const UUID_SRC = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}";
const TIME_SRC = "\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(?:\\.\\d+)?(?:Z|[+-]\\d{2}:\\d{2})";
const UUID = new RegExp(`^${UUID_SRC}$`, "i");
const TIME = new RegExp(`^${TIME_SRC}$`);

/** A shown string or line as a pattern: `…`/`...` match anything, ids and times match any id or time. */
function pattern(shown: string): RegExp {
  const parts = shown.split(
    /(…|\.\.\.|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2}))/i,
  );
  const src = parts
    .map((p, k) => {
      if (k % 2 === 0) return p.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
      if (p === "…" || p === "...") return "[\\s\\S]*";
      return UUID.test(p) ? UUID_SRC : TIME_SRC;
    })
    .join("");
  return new RegExp(`^${src}$`, "i");
}

/** Why `actual` does not match `shown`, or undefined when it does. */
export function jsonMismatch(shown: unknown, actual: unknown, path = "$"): string | undefined {
  if (typeof shown === "string") {
    if (/^<[^<>]+>$/.test(shown)) return actual === undefined ? `${path}: missing` : undefined;
    if (typeof actual !== "string") return `${path}: expected a string like ${JSON.stringify(shown)}, got ${JSON.stringify(actual)}`;
    if (UUID.test(shown)) return UUID.test(actual) ? undefined : `${path}: expected a UUID, got ${JSON.stringify(actual)}`;
    if (TIME.test(shown)) return TIME.test(actual) ? undefined : `${path}: expected an RFC 3339 time, got ${JSON.stringify(actual)}`;
    return pattern(shown).test(actual) ? undefined : `${path}: expected ${JSON.stringify(shown)}, got ${JSON.stringify(actual)}`;
  }
  if (Array.isArray(shown)) {
    if (!Array.isArray(actual)) return `${path}: expected an array, got ${JSON.stringify(actual)}`;
    const more = shown.length > 0 && (shown.at(-1) === "..." || shown.at(-1) === "…");
    const head = more ? shown.slice(0, -1) : shown;
    if (more ? actual.length < head.length : actual.length !== head.length) {
      return `${path}: expected ${more ? "at least " : ""}${head.length} items, got ${actual.length}`;
    }
    for (let i = 0; i < head.length; i++) {
      const why = jsonMismatch(head[i], actual[i], `${path}[${i}]`);
      if (why) return why;
    }
    return undefined;
  }
  if (shown !== null && typeof shown === "object") {
    if (actual === null || typeof actual !== "object" || Array.isArray(actual)) return `${path}: expected an object, got ${JSON.stringify(actual)}`;
    for (const [k, v] of Object.entries(shown)) {
      if (k === "..." || k === "…") continue;
      if (!(k in actual)) return `${path}.${k}: missing`;
      const why = jsonMismatch(v, (actual as Record<string, unknown>)[k], `${path}.${k}`);
      if (why) return why;
    }
    return undefined;
  }
  return Object.is(shown, actual) ? undefined : `${path}: expected ${JSON.stringify(shown)}, got ${JSON.stringify(actual)}`;
}

/**
 * Why `output` does not show what `expected` shows, or undefined when it does: each shown item
 * must match a later item of the output than the one before it.
 */
export function outputMismatch(expected: string, output: string): string | undefined {
  const shown = items(expected);
  const actual = items(output);
  let at = 0;
  for (const s of shown) {
    let closest: string | undefined;
    let found = -1;
    for (let i = at; i < actual.length; i++) {
      const a = actual[i]!;
      if (s.json !== undefined) {
        if (a.json === undefined) continue;
        const why = jsonMismatch(s.json, a.json);
        if (!why) {
          found = i;
          break;
        }
        closest ??= why;
      } else if (pattern(s.text.trim()).test(a.text.trim())) {
        found = i;
        break;
      }
    }
    if (found < 0) {
      const what = s.json !== undefined ? `the JSON ${s.text.replace(/\s+/g, " ").slice(0, 200)}` : `the line ${JSON.stringify(s.text)}`;
      return `${what} is not in the output${closest ? ` (nearest JSON: ${closest})` : ""}`;
    }
    at = found + 1;
  }
  return undefined;
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens. */
export function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, "")
    .replace(/ /g, "-");
}

/** The anchors of a markdown file's headings (outside code blocks). */
export function anchors(markdown: string): Set<string> {
  const out = new Set<string>();
  let fence: string | undefined;
  for (const line of markdown.split("\n")) {
    const f = /^\s*(`{3,}|~{3,})/.exec(line);
    if (f) {
      if (!fence) fence = f[1];
      else if (line.trim().startsWith(fence) && /^[`~]+$/.test(line.trim())) fence = undefined;
      continue;
    }
    const h = fence ? null : /^#{1,6}\s+(.*)$/.exec(line);
    if (h) out.add(slug(h[1]!));
  }
  return out;
}

/** The relative links of a markdown file: [text](path#anchor), outside code blocks. */
export function relativeLinks(markdown: string): { path: string; anchor?: string }[] {
  const out: { path: string; anchor?: string }[] = [];
  let fence: string | undefined;
  for (const line of markdown.split("\n")) {
    const f = /^\s*(`{3,}|~{3,})/.exec(line);
    if (f) {
      if (!fence) fence = f[1];
      else if (line.trim().startsWith(fence) && /^[`~]+$/.test(line.trim())) fence = undefined;
      continue;
    }
    if (fence) continue;
    for (const m of line.matchAll(/\]\(([^)\s]*)\)/g)) {
      const target = m[1]!;
      if (/^[a-z]+:/i.test(target)) continue;
      const [path, anchor] = target.split("#", 2);
      out.push({ path: path!, anchor });
    }
  }
  return out;
}

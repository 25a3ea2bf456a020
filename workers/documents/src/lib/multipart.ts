/**
 * A small streaming multipart/form-data parser (RFC 7578 over RFC 2046).
 *
 * Why not a library: request.formData() and the maintained parsers for web streams
 * (@remix-run/multipart-parser among them) hand over each part as one buffer, so a file part
 * would be held whole in memory. This reader gives a part's body as a sequence of chunks, in
 * the order they arrive, holding at most one network chunk plus a delimiter's length.
 *
 * Use: `for (let part; (part = await reader.nextPart()); )` then `reader.read()` until null
 * for that part's body. Calling nextPart() skips whatever of the current body was not read.
 */

export class MultipartError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "MultipartError";
  }
}

/** A text field longer than readText() was allowed to read. */
export class FieldTooLongError extends MultipartError {
  constructor(readonly maxBytes: number) {
    super(`A form field is longer than ${maxBytes} bytes.`);
    this.name = "FieldTooLongError";
  }
}

export interface PartHeaders {
  /** The form field name from Content-Disposition. */
  name: string;
  /** The file name, when the part is a file (filename* per RFC 8187 wins over filename). */
  filename?: string;
  contentType?: string;
}

export interface MultipartLimits {
  /** Largest header block of one part. */
  maxHeaderBytes: number;
  /** Most parts in one body. */
  maxParts: number;
}

const DEFAULT_LIMITS: MultipartLimits = { maxHeaderBytes: 8 * 1024, maxParts: 32 };
const CR = 13;
const LF = 10;
const DASH = 45;
const SPACE = 32;
const TAB = 9;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The boundary of a multipart Content-Type, or null when there is none (RFC 2046 §5.1.1). */
export function boundaryOf(contentType: string | undefined | null): string | null {
  if (!contentType) return null;
  const m = /;\s*boundary\s*=\s*(?:"([^"]{1,70})"|([^\s;"]{1,70}))\s*(?:;|$)/i.exec(contentType);
  const boundary = m?.[1] ?? m?.[2];
  if (!boundary || !/^[0-9A-Za-z'()+_,\-./:=? ]*[0-9A-Za-z'()+_,\-./:=?]$/.test(boundary)) return null;
  return boundary;
}

export function isMultipartFormData(contentType: string | undefined | null): boolean {
  return /^multipart\/form-data\s*(;|$)/i.test(contentType ?? "");
}

function indexOf(haystack: Uint8Array, needle: Uint8Array, from = 0): number {
  const first = needle[0]!;
  const last = haystack.byteLength - needle.byteLength;
  for (let i = haystack.indexOf(first, from); i !== -1 && i <= last; i = haystack.indexOf(first, i + 1)) {
    let j = 1;
    while (j < needle.byteLength && haystack[i + j] === needle[j]) j++;
    if (j === needle.byteLength) return i;
  }
  return -1;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.byteLength + b.byteLength);
  out.set(a, 0);
  out.set(b, a.byteLength);
  return out;
}

/** Splits `form-data; name="x"; filename="y"` into its parameters (names lower-cased). */
function dispositionParams(value: string): Map<string, string> {
  const params = new Map<string, string>();
  const re = /;\s*([^\s=;]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;]*))/g;
  for (let m; (m = re.exec(value)); ) {
    const key = m[1]!.toLowerCase();
    const raw = m[2] !== undefined ? m[2].replace(/\\(.)/g, "$1") : m[3]!.trim();
    if (!params.has(key)) params.set(key, raw);
  }
  return params;
}

/** RFC 8187 ext-value: charset'lang'pct-encoded. Only UTF-8 is accepted (browsers send nothing else). */
function decodeExtValue(value: string): string | undefined {
  const m = /^utf-8'[^']*'(.*)$/i.exec(value);
  if (!m) return undefined;
  try {
    return decodeURIComponent(m[1]!);
  } catch {
    return undefined;
  }
}

function parseHeaders(block: string): PartHeaders {
  const headers = new Map<string, string>();
  for (const line of block.split("\r\n")) {
    const colon = line.indexOf(":");
    if (colon <= 0) throw new MultipartError("A part header line is malformed.");
    headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  const disposition = headers.get("content-disposition");
  if (!disposition || !/^form-data\s*(;|$)/i.test(disposition)) {
    throw new MultipartError("Every part needs Content-Disposition: form-data.");
  }
  const params = dispositionParams(disposition);
  const name = params.get("name");
  if (name === undefined) throw new MultipartError("A part has no field name.");
  const extended = params.has("filename*") ? decodeExtValue(params.get("filename*")!) : undefined;
  const filename = extended ?? params.get("filename");
  return { name, filename, contentType: headers.get("content-type") };
}

type State = "preamble" | "headers" | "body" | "delimiter" | "done";

export class MultipartReader {
  private readonly reader: ReadableStreamDefaultReader<Uint8Array>;
  private readonly delimiter: Uint8Array;
  private readonly limits: MultipartLimits;
  // Seeded with CRLF so a body that opens with its first delimiter (no preamble) matches too.
  private buf: Uint8Array = new Uint8Array([CR, LF]);
  private state: State = "preamble";
  private parts = 0;

  constructor(body: ReadableStream<Uint8Array>, boundary: string, limits: Partial<MultipartLimits> = {}) {
    this.reader = body.getReader();
    this.delimiter = encoder.encode(`\r\n--${boundary}`);
    this.limits = { ...DEFAULT_LIMITS, ...limits };
  }

  /** Reads one more network chunk into the buffer; false at the end of the stream. */
  private async fill(): Promise<boolean> {
    const { done, value } = await this.reader.read();
    if (done) return false;
    this.buf = this.buf.byteLength ? concat(this.buf, value) : value;
    return true;
  }

  private async ensure(bytes: number): Promise<void> {
    while (this.buf.byteLength < bytes) {
      if (!(await this.fill())) throw new MultipartError("The multipart body ended early.");
    }
  }

  /** Moves to the next part's headers; null after the closing delimiter. */
  async nextPart(): Promise<PartHeaders | null> {
    if (this.state === "done") return null;
    if (this.state === "body" || this.state === "headers") {
      this.state = "body";
      while ((await this.read()) !== null);
    }
    if (this.state === "preamble") await this.skipPreamble();

    // The buffer now starts right after a delimiter: "--" closes the body, else padding + CRLF.
    await this.ensure(2);
    if (this.buf[0] === DASH && this.buf[1] === DASH) {
      this.state = "done";
      await this.reader.cancel().catch(() => {});
      return null;
    }
    let i = 0;
    for (;;) {
      await this.ensure(i + 1);
      if (this.buf[i] !== SPACE && this.buf[i] !== TAB) break;
      if (++i > 64) throw new MultipartError("A multipart delimiter line is malformed.");
    }
    await this.ensure(i + 2);
    if (this.buf[i] !== CR || this.buf[i + 1] !== LF) throw new MultipartError("A multipart delimiter line is malformed.");
    this.buf = this.buf.subarray(i + 2);

    if (++this.parts > this.limits.maxParts) throw new MultipartError(`The form has more than ${this.limits.maxParts} parts.`);
    this.state = "headers";
    const headers = await this.readHeaders();
    this.state = "body";
    return headers;
  }

  private async skipPreamble(): Promise<void> {
    const keep = this.delimiter.byteLength - 1;
    for (;;) {
      const at = indexOf(this.buf, this.delimiter);
      if (at >= 0) {
        this.buf = this.buf.subarray(at + this.delimiter.byteLength);
        this.state = "delimiter";
        return;
      }
      if (this.buf.byteLength > keep) this.buf = this.buf.subarray(this.buf.byteLength - keep);
      if (!(await this.fill())) throw new MultipartError("The body holds no multipart delimiter.");
    }
  }

  private async readHeaders(): Promise<PartHeaders> {
    const end = encoder.encode("\r\n\r\n");
    await this.ensure(2);
    if (this.buf[0] === CR && this.buf[1] === LF) throw new MultipartError("A part has no headers.");
    for (;;) {
      const at = indexOf(this.buf, end);
      if (at >= 0) {
        if (at > this.limits.maxHeaderBytes) break;
        const block = decoder.decode(this.buf.subarray(0, at));
        this.buf = this.buf.subarray(at + end.byteLength);
        return parseHeaders(block);
      }
      if (this.buf.byteLength > this.limits.maxHeaderBytes + end.byteLength) break;
      if (!(await this.fill())) throw new MultipartError("The multipart body ended inside a part's headers.");
    }
    throw new MultipartError(`A part's headers are longer than ${this.limits.maxHeaderBytes} bytes.`);
  }

  /** The next chunk of the current part's body, or null at its end. */
  async read(): Promise<Uint8Array | null> {
    if (this.state !== "body") return null;
    const keep = this.delimiter.byteLength - 1;
    for (;;) {
      const at = indexOf(this.buf, this.delimiter);
      if (at >= 0) {
        const chunk = this.buf.subarray(0, at);
        this.buf = this.buf.subarray(at + this.delimiter.byteLength);
        this.state = "delimiter";
        return chunk.byteLength ? chunk : null;
      }
      // Everything but a tail that could be the start of the delimiter is body.
      if (this.buf.byteLength > keep) {
        const chunk = this.buf.subarray(0, this.buf.byteLength - keep);
        this.buf = this.buf.subarray(this.buf.byteLength - keep);
        return chunk;
      }
      if (!(await this.fill())) throw new MultipartError("The multipart body ended inside a part.");
    }
  }

  /** Reads the current part whole, for small text fields; longer than maxBytes is an error. */
  async readText(maxBytes: number): Promise<string> {
    let out: Uint8Array = new Uint8Array(0);
    for (let chunk; (chunk = await this.read()); ) {
      if (out.byteLength + chunk.byteLength > maxBytes) throw new FieldTooLongError(maxBytes);
      out = concat(out, chunk);
    }
    return decoder.decode(out);
  }

  async cancel(): Promise<void> {
    this.state = "done";
    await this.reader.cancel().catch(() => {});
  }
}

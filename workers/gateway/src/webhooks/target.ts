/**
 * Where a webhook may be sent (no SSRF). Checked when a subscription is created or changed, before
 * every delivery, and on every redirect hop.
 *
 * The URL is parsed by the WHATWG URL parser first, the same one `fetch` uses, so every literal
 * form of an IPv4 address (decimal `2130706433`, octal `0177.0.0.1`, hex `0x7f.1`, short `127.1`)
 * reaches these checks as the dotted quad fetch would connect to, and IPv6 literals arrive
 * compressed and lower-case. Only then are the address ranges checked, so no spelling slips by.
 *
 * Names are checked by their form only (the Workers runtime has no DNS lookup): `localhost`,
 * single-label names and the private-use suffixes are refused. A public name that resolves to a
 * private address is not reachable from a deployed Worker either: Cloudflare's network does not
 * route a Worker's subrequests to private networks.
 */

export interface TargetPolicy {
  /** Development only (scripts/dev.sh sets WEBHOOKS_ALLOW_LOOPBACK): http or https to a loopback address. */
  allowLoopback: boolean;
}

export function targetPolicy(env: Env): TargetPolicy {
  // Not declared in wrangler.toml (so absent from Env): only `wrangler dev --var` sets it.
  const value = Reflect.get(env, "WEBHOOKS_ALLOW_LOOPBACK");
  return { allowLoopback: typeof value === "string" && ["1", "true", "on", "yes"].includes(value.trim().toLowerCase()) };
}

export const MAX_URL_LENGTH = 2048;

/** Suffixes of names that never denote a public host (RFC 6761, RFC 8375, common private zones). */
const PRIVATE_SUFFIXES = [".localhost", ".local", ".internal", ".localdomain", ".home.arpa", ".lan", ".intranet", ".corp", ".private", ".test", ".invalid"];

/** The reason a URL may not be a webhook target, or null when it may. */
export function targetProblem(raw: string, policy: TargetPolicy): string | null {
  if (raw.length > MAX_URL_LENGTH) return `The URL is longer than ${MAX_URL_LENGTH} characters.`;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return "Not an absolute URL.";
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") return `The scheme ${url.protocol.replace(/:$/, "")} is not allowed; use https.`;
  if (url.username || url.password) return "A URL with user information (user:password@) is not allowed.";
  if (url.hash) return "A URL with a fragment (#...) is not allowed.";
  const host = url.hostname.toLowerCase();
  const loopback = isLoopbackHost(host);
  if (loopback && policy.allowLoopback) return null;
  if (url.protocol !== "https:") return "Only https URLs are allowed.";
  if (loopback) return "Loopback addresses and localhost are not allowed.";

  if (host.startsWith("[")) {
    const ip = parseIPv6(host.slice(1, -1));
    if (!ip) return "Not a valid IPv6 address.";
    const why = ipv6Problem(ip);
    return why ? `The address ${host} is ${why}; only public addresses are allowed.` : null;
  }
  const v4 = parseIPv4(host);
  if (v4 !== null) {
    const why = ipv4Problem(v4);
    return why ? `The address ${host} is ${why}; only public addresses are allowed.` : null;
  }
  const name = host.replace(/\.$/, "");
  if (!name.includes(".")) return "Single-label host names are not allowed; use a public domain name.";
  if (PRIVATE_SUFFIXES.some((s) => name.endsWith(s))) return `Host names under ${PRIVATE_SUFFIXES.find((s) => name.endsWith(s))} are not public.`;
  return null;
}

function isLoopbackHost(host: string): boolean {
  const name = host.replace(/\.$/, "");
  if (name === "localhost" || name.endsWith(".localhost")) return true;
  const v4 = parseIPv4(host);
  if (v4 !== null) return v4 >>> 24 === 127;
  if (host.startsWith("[")) {
    const ip = parseIPv6(host.slice(1, -1));
    if (!ip) return false;
    if (ip.every((w, i) => w === (i === 7 ? 1 : 0))) return true;
    const mapped = embeddedIPv4(ip);
    return mapped !== null && mapped >>> 24 === 127;
  }
  return false;
}

/** A dotted quad (what the URL parser leaves of any IPv4 literal) as a 32-bit number. */
export function parseIPv4(host: string): number | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
  if (!m) return null;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return null;
  return ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
}

const V4_BLOCKS: [string, number, string][] = [
  ["0.0.0.0", 8, 'a "this network" address'],
  ["10.0.0.0", 8, "a private address"],
  ["100.64.0.0", 10, "a carrier-grade NAT (shared) address"],
  ["127.0.0.0", 8, "a loopback address"],
  ["169.254.0.0", 16, "a link-local address"],
  ["172.16.0.0", 12, "a private address"],
  ["192.0.0.0", 24, "an IETF protocol assignment"],
  ["192.0.2.0", 24, "a documentation address"],
  ["192.88.99.0", 24, "a 6to4 relay address"],
  ["192.168.0.0", 16, "a private address"],
  ["198.18.0.0", 15, "a benchmarking address"],
  ["198.51.100.0", 24, "a documentation address"],
  ["203.0.113.0", 24, "a documentation address"],
  ["224.0.0.0", 4, "a multicast address"],
  ["240.0.0.0", 4, "a reserved address"],
];

function ipv4Problem(ip: number): string | null {
  for (const [base, bits, why] of V4_BLOCKS) {
    const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
    if ((ip & mask) >>> 0 === (parseIPv4(base)! & mask) >>> 0) return why;
  }
  return null;
}

/** Eight 16-bit words, or null. Accepts a trailing dotted IPv4 part (`::ffff:1.2.3.4`). */
export function parseIPv6(text: string): number[] | null {
  if (text.includes("%")) return null;
  let s = text;
  const tail: number[] = [];
  const dotted = /(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})$/.exec(s);
  if (dotted) {
    const v4 = parseIPv4(dotted[1]!);
    if (v4 === null) return null;
    tail.push(v4 >>> 16, v4 & 0xffff);
    s = s.slice(0, -dotted[1]!.length);
    if (s.endsWith(":") && !s.endsWith("::")) s = s.slice(0, -1);
  }
  const halves = s.split("::");
  if (halves.length > 2) return null;
  const words = (part: string) => (part === "" ? [] : part.split(":"));
  const head = words(halves[0]!);
  const rest = halves.length === 2 ? words(halves[1]!) : [];
  const parse = (w: string) => (/^[0-9a-f]{1,4}$/i.test(w) ? Number.parseInt(w, 16) : Number.NaN);
  const h = head.map(parse);
  const r = [...rest.map(parse), ...tail];
  if ([...h, ...r].some(Number.isNaN)) return null;
  const missing = 8 - h.length - r.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return null;
  return [...h, ...new Array(halves.length === 2 ? missing : 0).fill(0), ...r];
}

/** The IPv4 address an IPv6 address carries (mapped, compatible, NAT64, 6to4), if any. */
function embeddedIPv4(ip: number[]): number | null {
  const low = ((ip[6]! << 16) | ip[7]!) >>> 0;
  const zeros = (n: number) => ip.slice(0, n).every((w) => w === 0);
  if (zeros(5) && ip[5] === 0xffff) return low; // ::ffff:a.b.c.d (IPv4-mapped)
  if (zeros(6)) return low; // ::a.b.c.d (IPv4-compatible, deprecated)
  if (ip[0] === 0x64 && ip[1] === 0xff9b) return low; // 64:ff9b::/96 NAT64
  if (ip[0] === 0x2002) return ((ip[1]! << 16) | ip[2]!) >>> 0; // 6to4
  return null;
}

function ipv6Problem(ip: number[]): string | null {
  if (ip.every((w) => w === 0)) return "the unspecified address";
  if (ip.every((w, i) => w === (i === 7 ? 1 : 0))) return "a loopback address";
  if (ip.slice(0, 5).every((w) => w === 0) && ip[5] === 0xffff) return "an IPv4-mapped address";
  if (ip.slice(0, 6).every((w) => w === 0)) return "an IPv4-compatible address";
  if (ip[0] === 0x64 && ip[1] === 0xff9b) return "a NAT64 address";
  if (ip[0] === 0x2002) return "a 6to4 address";
  if (ip[0] === 0x2001 && ip[1] === 0) return "a Teredo address";
  if (ip[0] === 0x2001 && ip[1] === 0xdb8) return "a documentation address";
  if (ip[0] === 0x100 && ip[1] === 0 && ip[2] === 0 && ip[3] === 0) return "a discard-only address";
  if ((ip[0]! & 0xfe00) === 0xfc00) return "a unique-local address";
  if ((ip[0]! & 0xffc0) === 0xfe80) return "a link-local address";
  if ((ip[0]! & 0xffc0) === 0xfec0) return "a site-local address";
  if ((ip[0]! & 0xff00) === 0xff00) return "a multicast address";
  // Global unicast is 2000::/3; everything else is reserved.
  if ((ip[0]! & 0xe000) !== 0x2000) return "a reserved address";
  return null;
}

/**
 * The caller's IP address, from the one request header the deployment trusts
 * (`CLIENT_IP_HEADER`). Cloudflare's edge sets `CF-Connecting-IP` itself and overwrites any
 * copy a client sends, so there it is the truth; anywhere else a client can send any value in
 * any header, so only a header that a proxy of your own sets may be named. Unset or empty: no
 * header is believed. A list (X-Forwarded-For) counts by its last entry, the one the nearest
 * proxy appended. A value that is not an IP address is no address.
 */
export function clientIp(headers: Headers, trustedHeader: string | undefined): string | undefined {
  const name = trustedHeader?.trim();
  if (!name) return undefined;
  const last = headers.get(name)?.split(",").pop()?.trim();
  if (!last) return undefined;
  const v4 = ipv4(last);
  if (v4) return v4;
  const groups = ipv6Groups(last);
  if (!groups) return undefined;
  // An IPv4-mapped address (::ffff:192.0.2.1) is that IPv4 caller.
  if (groups.slice(0, 6).join(":") === "0:0:0:0:0:ffff") {
    return [groups[6]!, groups[7]!].flatMap((g) => [parseInt(g, 16) >> 8, parseInt(g, 16) & 255]).join(".");
  }
  return groups.join(":");
}

/**
 * The key an anonymous caller is counted under: its address, an IPv6 address by its /64 (one
 * subscriber usually holds a whole /64 and could take a fresh address per call), and without
 * a trusted address "unknown", one allowance shared by all such callers, which no one can
 * dodge by inventing addresses.
 */
export function ipLimitKey(ip: string | undefined): string {
  if (!ip) return "unknown";
  const groups = ipv6Groups(ip);
  return groups ? `${groups.slice(0, 4).join(":")}::/64` : ip;
}

function ipv4(value: string): string | undefined {
  const parts = value.split(".");
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)) return undefined;
  return parts.map(Number).join(".");
}

/** The eight groups of an IPv6 address, expanded and without leading zeros; undefined if it is not one. */
function ipv6Groups(value: string): string[] | undefined {
  const bare = value
    .replace(/^\[(.*)\]$/, "$1")
    .replace(/%.*$/, "")
    .toLowerCase();
  // An IPv4 tail (::ffff:192.0.2.1) is two groups.
  const v4 = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(bare);
  let text = bare;
  if (v4) {
    const a = ipv4(v4[2]!)?.split(".").map(Number);
    if (!a) return undefined;
    text = `${v4[1]}${((a[0]! << 8) | a[1]!).toString(16)}:${((a[2]! << 8) | a[3]!).toString(16)}`;
  }
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const left = halves[0] ? halves[0].split(":") : [];
  const right = halves[1] ? halves[1].split(":") : [];
  const missing = 8 - left.length - right.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  if (![...left, ...right].every((g) => /^[0-9a-f]{1,4}$/.test(g))) return undefined;
  return [...left, ...Array<string>(halves.length === 1 ? 0 : missing).fill("0"), ...right].map((g) => g.replace(/^0+(?=.)/, ""));
}

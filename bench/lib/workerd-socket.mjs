// Finds the socket on which a `wrangler dev`'s own workerd serves the Workers, behind wrangler's
// proxy: the workerd started with `--socket-addr=entry=127.0.0.1:0`, in process group <pgid>.
// Of its listening ports, the one whose answer to <path> contains <expect> is printed.
// Only for the opt-in BENCH_NO_PROXY rows: it leans on how wrangler starts workerd today.
//   node workerd-socket.mjs <pgid> <path> <expect> [access token]
import { readFileSync, readdirSync, readlinkSync } from "node:fs";

const [pgidText, path, expect, token] = process.argv.slice(2);
const pgid = Number(pgidText);

function pgidOf(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[2]);
}

const pids = readdirSync("/proc").filter((d) => /^\d+$/.test(d)).filter((pid) => {
  try {
    const cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
    return pgidOf(pid) === pgid && cmd.some((a) => a.endsWith("/workerd")) && cmd.includes("--socket-addr=entry=127.0.0.1:0");
  } catch {
    return false;
  }
});

const ports = [];
for (const pid of pids) {
  const inodes = new Set();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]);
    } catch {
      // closed meanwhile
    }
  }
  for (const line of readFileSync(`/proc/${pid}/net/tcp`, "utf8").split("\n").slice(1)) {
    const f = line.trim().split(/\s+/);
    // local address, state 0A = LISTEN, inode
    if (f.length > 9 && f[3] === "0A" && inodes.has(f[9])) ports.push(parseInt(f[1].split(":")[1], 16));
  }
}

for (const port of ports) {
  try {
    const res = await fetch(`http://127.0.0.1:${port}${path}`, {
      signal: AbortSignal.timeout(3000),
      headers: token ? { authorization: `Bearer ${token}` } : {},
    });
    if (res.ok && (await res.text()).includes(expect)) {
      console.log(port);
      process.exit(0);
    }
  } catch {
    // not this one
  }
}
console.error(`no workerd socket in process group ${pgid} answers ${path}`);
process.exit(1);

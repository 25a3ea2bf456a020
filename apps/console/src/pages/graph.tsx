import type { Schema } from "@buildly/sdk";

type Template = Schema<"WorkflowTemplate">;

const W = 132;
const H = 36;
const GAP_X = 124;
const GAP_Y = 44;
const PAD = 24;

/**
 * A template drawn as a graph: states in columns by their distance from the initial state (a
 * breadth-first walk of the transitions), transitions as arrows, forward ones straight, those
 * going back or within a column curved below. Small by design: templates have tens of states.
 */
export function TemplateGraph({ template }: { template: Template }) {
  const depth = new Map<string, number>([[template.initial_state, 0]]);
  const queue = [template.initial_state];
  while (queue.length) {
    const at = queue.shift()!;
    for (const t of template.transitions)
      if (t.from.includes(at) && !depth.has(t.to)) {
        depth.set(t.to, depth.get(at)! + 1);
        queue.push(t.to);
      }
  }
  const deepest = Math.max(0, ...depth.values());
  for (const s of template.states) if (!depth.has(s.key)) depth.set(s.key, deepest + 1);
  const columns = new Map<number, string[]>();
  for (const s of template.states) {
    const d = depth.get(s.key)!;
    columns.set(d, [...(columns.get(d) ?? []), s.key]);
  }
  const pos = new Map<string, { x: number; y: number }>();
  for (const [d, keys] of columns) for (const [row, k] of keys.entries()) pos.set(k, { x: PAD + d * (W + GAP_X), y: PAD + row * (H + GAP_Y) });
  const width = PAD * 2 + (Math.max(...columns.keys()) + 1) * (W + GAP_X) - GAP_X;
  const height = PAD * 2 + Math.max(...[...columns.values()].map((c) => c.length)) * (H + GAP_Y) - GAP_Y + 40;
  const marker = `arrow-${template.id}`;
  const seen = new Map<string, number>();
  const edges = template.transitions.flatMap((t) =>
    t.from.map((f) => {
      const a = pos.get(f);
      const b = pos.get(t.to);
      if (!a || !b) return null;
      const pair = `${f}>${t.to}`;
      const nth = seen.get(pair) ?? 0;
      seen.set(pair, nth + 1);
      let d: string;
      let lx: number;
      let ly: number;
      if (f === t.to) {
        d = `M${a.x + W / 2 - 12},${a.y} C${a.x + W / 2 - 30},${a.y - 30} ${a.x + W / 2 + 30},${a.y - 30} ${a.x + W / 2 + 12},${a.y}`;
        lx = a.x + W / 2;
        ly = a.y - 26;
      } else if (b.x > a.x) {
        const y1 = a.y + H / 2 + nth * 8;
        const y2 = b.y + H / 2 + nth * 8;
        d = `M${a.x + W},${y1} L${b.x},${y2}`;
        lx = (a.x + W + b.x) / 2;
        ly = (y1 + y2) / 2 - 5 + nth * 14;
      } else {
        // Back (or within a column): a curve below both boxes.
        const sx = a.x + W / 2 - 10;
        const ex = b.x + W / 2 + 10;
        const bottom = Math.max(a.y, b.y) + H + 26 + nth * 14;
        d = `M${sx},${a.y + H} C${sx},${bottom} ${ex},${bottom} ${ex},${b.y + H}`;
        lx = (sx + ex) / 2;
        ly = bottom - 2;
      }
      return { key: `${t.key}:${f}`, d, lx, ly, label: t.name, system: Boolean(t.system_only) };
    }),
  );
  const names = new Map(template.states.map((s) => [s.key, s.name]));
  const description = template.transitions
    .map((t) => `${t.from.map((f) => names.get(f) ?? f).join(" or ")} to ${names.get(t.to) ?? t.to} by ${t.name}`)
    .join("; ");
  return (
    <svg class="graph" viewBox={`0 0 ${width} ${height}`} role="img" aria-label={`${template.name} as a graph: ${description}`} data-testid="template-graph">
      <defs>
        <marker id={marker} viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
          <path d="M0,0 L10,5 L0,10 z" fill="#57606a" />
        </marker>
      </defs>
      {edges.map(
        (e) =>
          e && (
            <g key={e.key} class={`edge${e.system ? " system" : ""}`}>
              <path d={e.d} marker-end={`url(#${marker})`} />
              <text x={e.lx} y={e.ly} text-anchor="middle">
                {e.label.length > 20 ? `${e.label.slice(0, 19)}…` : e.label}
              </text>
            </g>
          ),
      )}
      {template.states.map((s) => {
        const p = pos.get(s.key)!;
        const kind = s.key === template.initial_state ? " initial" : s.terminal ? " terminal" : "";
        return (
          <g key={s.key} class={`state${kind}`} data-state={s.key}>
            <rect x={p.x} y={p.y} width={W} height={H} rx={s.terminal ? 18 : 6} />
            <text x={p.x + W / 2} y={p.y + H / 2 + 4} text-anchor="middle">
              {s.name.length > 18 ? `${s.name.slice(0, 17)}…` : s.name}
            </text>
          </g>
        );
      })}
    </svg>
  );
}

// Statistics of rows measured interleaved: each block holds one short segment of every row,
// measured back to back, so a goal line compares two rows within each block (a pair) and reports
// the median over the pairs with its range and middle half. A drift of the machine (other load,
// a database growing, what the process ran just before) then lands on both rows of a pair instead
// of on whichever row ran at the bad moment. Used by table.mjs (npm run bench) and bench/events/run.sh.

/** The median of the finite numbers in xs (NaN when there are none). */
export const median = (xs) => {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** Median, range and middle half (the quartiles by nearest rank, as bench/events/run.sh prints them). */
export const spread = (xs) => {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  const q = (p) => s[Math.round(p * (s.length - 1))];
  return {
    n: s.length,
    median: median(s),
    min: s[0] ?? NaN,
    max: s[s.length - 1] ?? NaN,
    q1: s.length >= 4 ? q(0.25) : NaN,
    q3: s.length >= 4 ? q(0.75) : NaN,
  };
};

/**
 * "median of 12 pairs, range 1.0% to 3.0%, middle half 1.5% to 2.5%" (the middle half from 4 pairs).
 * format turns one value into text (with its unit).
 */
export const describe = (sp, format) =>
  `median of ${sp.n} pair${sp.n === 1 ? "" : "s"}, range ${format(sp.min)} to ${format(sp.max)}` +
  (Number.isFinite(sp.q1) ? `, middle half ${format(sp.q1)} to ${format(sp.q3)}` : "");

/**
 * The pairs of two rows: for every block (a line's `block`, or its `round` when it has none) in
 * which both ids were measured, [base line, other line]. A block with a row measured more than
 * once pairs its last measurements.
 */
export const pairsOf = (lines, baseId, otherId) => {
  const blocks = new Map();
  for (const l of lines) {
    if (l.id !== baseId && l.id !== otherId) continue;
    const key = l.block ?? l.round ?? 0;
    const b = blocks.get(key) ?? {};
    b[l.id] = l;
    blocks.set(key, b);
  }
  return [...blocks.values()].filter((b) => b[baseId] && b[otherId]).map((b) => [b[baseId], b[otherId]]);
};

/** spread(f(base, other)) over the pairs of baseId and otherId. */
export const paired = (lines, baseId, otherId, f) => spread(pairsOf(lines, baseId, otherId).map(([a, b]) => f(a, b)));

/**
 * The first `take` items of several sorted sequences, in order (a k-way merge over a binary
 * heap): it pulls one item past each sequence's head, so a page of a long window costs its
 * sequences plus `take` steps instead of every item of every sequence.
 */
export function mergeSorted<T>(sources: Iterator<T>[], compare: (a: T, b: T) => number, take: number): T[] {
  const heap: { value: T; source: Iterator<T> }[] = [];
  const less = (i: number, j: number) => compare(heap[i]!.value, heap[j]!.value) < 0;
  const swap = (i: number, j: number) => ([heap[i], heap[j]] = [heap[j]!, heap[i]!]);
  const push = (source: Iterator<T>) => {
    const next = source.next();
    if (next.done) return;
    heap.push({ value: next.value, source });
    for (let i = heap.length - 1; i > 0 && less(i, (i - 1) >> 1); i = (i - 1) >> 1) swap(i, (i - 1) >> 1);
  };
  const pop = (): { value: T; source: Iterator<T> } => {
    const top = heap[0]!;
    const last = heap.pop()!;
    if (heap.length) {
      heap[0] = last;
      for (let i = 0; ; ) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < heap.length && less(l, m)) m = l;
        if (r < heap.length && less(r, m)) m = r;
        if (m === i) break;
        swap(i, m);
        i = m;
      }
    }
    return top;
  };
  sources.forEach(push);
  const out: T[] = [];
  while (out.length < take && heap.length) {
    const { value, source } = pop();
    out.push(value);
    push(source);
  }
  return out;
}

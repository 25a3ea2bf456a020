/** A page of a collection, as every list endpoint answers. */
export interface Page<T> {
  data: readonly T[];
  next_cursor?: string | null;
}

/**
 * Every item of a collection, page after page: `call` gets the cursor of the next page
 * (undefined for the first) and fetches it, e.g.
 *   paginate((cursor) => api.GET("/v1/crm/contacts", { params: { query: { cursor, limit: 100 } } }))
 */
export async function* paginate<P extends Page<unknown>>(call: (cursor: string | undefined) => Promise<P>): AsyncGenerator<P["data"][number], void, undefined> {
  let cursor: string | undefined;
  for (;;) {
    const page = await call(cursor);
    for (const item of page.data) yield item as P["data"][number];
    if (!page.next_cursor) return;
    if (page.next_cursor === cursor) throw new Error("The collection answered the same cursor twice.");
    cursor = page.next_cursor;
  }
}

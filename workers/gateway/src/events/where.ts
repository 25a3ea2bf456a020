/** A WHERE clause built from optional filters, each `?` numbered in order (?1, ?2, ...). */
export class Where {
  readonly clauses: string[] = [];
  readonly params: unknown[] = [];

  add(clause: string, ...values: unknown[]): this {
    let i = 0;
    this.clauses.push(
      clause.replace(/\?/g, () => {
        this.params.push(values[i++]);
        return `?${this.params.length}`;
      }),
    );
    return this;
  }

  toString(): string {
    return this.clauses.join(" AND ");
  }
}

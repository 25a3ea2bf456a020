// The part of Vite's import.meta the tests use (vite/client is not a dependency of this package).
interface ImportMeta {
  glob<T = unknown>(pattern: string | string[], options?: { query?: string; import?: string; eager?: boolean }): Record<string, T>;
}

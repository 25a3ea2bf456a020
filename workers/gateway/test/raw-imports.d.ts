/** Vite's `?raw` imports (a file's text), which the Workers vitest integration resolves. */
declare module "*?raw" {
  const text: string;
  export default text;
}

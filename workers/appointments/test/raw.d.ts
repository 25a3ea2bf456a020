// Vite's ?raw imports (the test reads seed/demo.sql as text).
declare module "*?raw" {
  const text: string;
  export default text;
}

import { COMMON_PASSWORDS_FRONT_CODED } from "./common-passwords";

/** The list's entries: each line is a base-36 digit (characters shared with the entry before) and the rest. */
export function decodeCommonPasswords(frontCoded: string): string[] {
  const out: string[] = [];
  let prev = "";
  for (const line of frontCoded.split("\n")) {
    prev = prev.slice(0, Number.parseInt(line[0]!, 36)) + line.slice(1);
    out.push(prev);
  }
  return out;
}

let common: Set<string> | undefined;
// Decoded on the first password checked in an isolate, never at start-up.
const commonPasswords = () => (common ??= new Set(decodeCommonPasswords(COMMON_PASSWORDS_FRONT_CODED)));

/**
 * Whether `password` is on the list of common passwords, after the folding the list was made with
 * (NFKC, lower case, no whitespace), also with digits or symbols around it (Dragon2024!): the
 * gateway's password rules (its identity/password-policy.ts) ask this last.
 */
export function isCommonPassword(password: string): boolean {
  const compact = password.normalize("NFKC").toLowerCase().replace(/\s+/gu, "");
  const core = compact.replace(/^\P{L}+|\P{L}+$/gu, "");
  return commonPasswords().has(compact) || (core.length >= 4 && commonPasswords().has(core));
}

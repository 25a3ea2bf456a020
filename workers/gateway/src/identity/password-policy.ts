import { env } from "cloudflare:workers";
import { ApiError } from "@buildly/shared";
import { normalizeEmail } from "./accounts";
import { isCommonPassword } from "./credentials-client";

/**
 * What a new password must not be, after NIST SP 800-63B 5.1.1.2: no composition rules, but no
 * password that is common, trivial or made from the account's own email. Applies wherever a
 * password is set (registration, invitations, users created by an admin, password change and
 * reset), never to a login: an older password keeps working until it is changed.
 */
export const PASSWORD_RULES =
  "At least 10 characters; not only whitespace; not one character repeated, a sequence (1234567890, abcdefghij) " +
  "or a short piece repeated (abababab); not containing the part of your email before the @; " +
  "not on a list of commonly used passwords (also with digits or symbols around it, as in Dragon2024!).";

/** -1, 0 or 1 when b follows a descending, repeating or ascending run from a; digits wrap (…8, 9, 0, 1…). */
function step(a: string, b: string): number {
  const x = a.codePointAt(0)!;
  const y = b.codePointAt(0)!;
  if (/\d/.test(a) && /\d/.test(b)) return [0, 1, -1][[0, 1, 9].indexOf((y - x + 10) % 10)] ?? 2;
  return Math.abs(y - x) <= 1 ? y - x : 2;
}

/** Splits into maximal runs of one step (-1, 0 or 1): "aaaa1234" is two runs, "qwerty" six. */
function runs(chars: string[]): number[] {
  const steps: number[] = [];
  let i = 0;
  while (i < chars.length) {
    const s = i + 1 < chars.length ? step(chars[i]!, chars[i + 1]!) : 2;
    if (s === 2) {
      steps.push(2);
      i++;
      continue;
    }
    let j = i + 1;
    while (j + 1 < chars.length && step(chars[j]!, chars[j + 1]!) === s) j++;
    steps.push(s);
    i = j + 1;
  }
  return steps;
}

/**
 * The first rule `password` breaks, as a sentence for the 422 `errors` message; undefined if none.
 * The common-password list is asked last, of the credentials Worker (it holds the list, off the
 * gateway's bundle): a 503 when it cannot be reached.
 */
export async function passwordProblem(password: string, email?: string): Promise<string | undefined> {
  if (/^\s*$/u.test(password)) return "Passwords cannot be only whitespace.";
  const compact = password.normalize("NFKC").toLowerCase().replace(/\s+/gu, "");
  const chars = [...compact];
  const r = runs(chars);
  if (r.length === 1 && r[0] === 0) return "Passwords cannot be the same character repeated.";
  if (r.length === 1 && r[0] !== 2) return "Passwords cannot be a sequence of consecutive characters, such as 1234567890 or abcdefghij.";
  if (r.length <= 2 && !r.includes(2)) return "Passwords cannot be just a sequence or repetition of characters, such as abcde12345 or aaaaa11111.";
  // A piece too short to be a password by itself does not become one by repeating it.
  const piece = /^(.+?)\1+$/su.exec(compact)?.[1];
  if (piece && [...piece].length < 10) return "Passwords cannot be a short piece repeated, such as abababab or 123123123123.";
  const local = email ? normalizeEmail(email).split("@")[0]!.replace(/\s+/gu, "") : "";
  if (local.length >= 3 && compact.includes(local)) return "Passwords cannot contain the part of your email before the @.";
  if (await isCommonPassword(env, password)) {
    return "This password is on a list of commonly used passwords (digits or symbols around it do not change that); choose a longer, less predictable one, such as several unrelated words.";
  }
  return undefined;
}

/** 422 with the broken rule under `path`, for the checks that need the account's email. */
export async function assertPasswordAllowed(password: string, email: string, path: string): Promise<void> {
  const problem = await passwordProblem(password, email);
  if (problem) throw new ApiError(422, "The password does not meet the password rules.", { errors: [{ path, message: problem }] });
}

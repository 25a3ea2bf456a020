import { z } from "@hono/zod-openapi";

/** Field schemas shared by several CRM resources. */

export const TagsSchema = z
  .array(z.string().trim().min(1).max(50))
  .max(20)
  .transform((tags) => [...new Set(tags)])
  .openapi({ example: ["vip"], description: "Up to 20 tags of 1..50 characters; duplicates are dropped." });

export const CUSTOM_FIELDS_MAX_KEYS = 50;
export const CUSTOM_FIELDS_MAX_BYTES = 4096;

// No leading underscore: keeps "__proto__" and friends out of the objects we build.
const CUSTOM_FIELD_KEY = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;
const CustomFieldKey = z.string().regex(CUSTOM_FIELD_KEY, "Keys are 1..64 letters, digits or _, starting with a letter");
const CustomFieldValue = z.union([z.string().max(1000), z.number(), z.boolean()]);

export const CustomFieldsSchema = z
  .record(CustomFieldKey, CustomFieldValue)
  .refine((o) => Object.keys(o).length <= CUSTOM_FIELDS_MAX_KEYS, { message: `At most ${CUSTOM_FIELDS_MAX_KEYS} custom fields` })
  .refine((o) => new TextEncoder().encode(JSON.stringify(o)).byteLength <= CUSTOM_FIELDS_MAX_BYTES, {
    message: `Custom fields take at most ${CUSTOM_FIELDS_MAX_BYTES} bytes as JSON`,
  })
  .openapi({
    example: { industry: "Manufacturing", employees: 120, newsletter: true },
    description:
      `A flat JSON object of string, number or boolean values: at most ${CUSTOM_FIELDS_MAX_KEYS} keys of 1..64 letters, digits or _ ` +
      `starting with a letter, strings up to 1000 characters, ${CUSTOM_FIELDS_MAX_BYTES} bytes as JSON in all. A write replaces the whole object.`,
    maxProperties: CUSTOM_FIELDS_MAX_KEYS,
    // JSON Schema 2020-12 (OpenAPI 3.1); the OpenAPI 3.0 types this library carries lack it.
    ...({ propertyNames: { pattern: CUSTOM_FIELD_KEY.source } } as object),
  });

/** The stored shape, for responses. */
export const CustomFieldsOutSchema = z
  .record(z.string(), z.union([z.string(), z.number(), z.boolean()]))
  .openapi({ example: { industry: "Manufacturing", employees: 120 } });

export const PhoneSchema = z
  .string()
  .regex(/^\+[1-9]\d{1,14}$/, "Phone numbers are E.164, e.g. +442079460000")
  .openapi({ example: "+442079460000" });

const CURRENCIES = new Set(Intl.supportedValuesOf("currency"));

export const CurrencySchema = z
  .string()
  .regex(/^[A-Z]{3}$/, "Use an upper-case ISO 4217 code, e.g. EUR")
  .refine((code) => CURRENCIES.has(code), { message: "Not an ISO 4217 currency code" })
  .openapi({ description: 'An upper-case ISO 4217 code the runtime knows (Intl.supportedValuesOf("currency")).', example: "EUR" });

/** A calendar date, YYYY-MM-DD, that exists (no 2026-02-30). */
export const DateSchema = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, "Use YYYY-MM-DD")
  .refine(
    (d) => {
      const parsed = new Date(`${d}T00:00:00.000Z`);
      return !Number.isNaN(parsed.getTime()) && parsed.toISOString().startsWith(d);
    },
    { message: "Not a calendar date" },
  )
  .openapi({ format: "date", description: "A calendar date that exists, YYYY-MM-DD.", example: "2026-12-15" });

/** RFC 3339 in UTC, normalised to millisecond precision so stored values sort as text. */
const utc = z.iso.datetime();
export const UtcInstantSchema = utc
  .transform((v) => new Date(v).toISOString())
  // The pattern zod checks: Z only, seconds required.
  .openapi({ pattern: utc._zod.def.pattern?.source, example: "2026-11-25T12:00:00.000Z" });

export const DomainSchema = z
  .string()
  .trim()
  .toLowerCase()
  .max(253)
  .regex(/^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]$/, "A host name such as example.com")
  .openapi({ example: "analytical.example" });

export function atLeastOneField(v: object): boolean {
  return Object.keys(v).length > 0;
}

/** What a reference field's OpenAPI schema says about the check in lib/references.ts. */
export const SAME_ORGANIZATION = "The id of a record of the caller's organization (another id is a 422).";

/** What a PATCH body's OpenAPI schema says about atLeastOneField. */
export const PATCH_BODY = { description: "At least one field to change; only the fields given change.", minProperties: 1 } as const;

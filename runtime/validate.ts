/**
 * Request validation on zod schemas, with this platform's conventions: strict objects (a typo
 * never passes silently), strings trimmed and bounded, every field at fault named by its JSON
 * Pointer path in one 400 problem response, in the house's words (`is required`, `must be one
 * of A, B`), one error a field.
 *
 * Contexts write their schemas with `z` directly; what is here is only what they would otherwise
 * each write again: the conventions, and the mapping from zod's issues to problem fields.
 */
import { z } from 'zod';
import { validationProblem, type FieldError } from './errors';

/** A schema's own words for a value of the wrong type; the rest (absent, bounds) are the house's. */
const typeIssue =
  (message: string) =>
  (issue: z.core.$ZodRawIssue): string | undefined =>
    issue.code === 'invalid_type' && issue.input !== undefined ? message : undefined;

/** A trimmed string of `min`–`max` characters (default 1–200), optionally matching a pattern. */
export function text(
  options: { min?: number; max?: number; pattern?: RegExp; patternText?: string } = {},
): z.ZodType<string> {
  const { min = 1, max = 200, pattern, patternText } = options;
  const bounded = z.string().trim().min(min).max(max);
  return pattern === undefined
    ? bounded
    : bounded.regex(pattern, { error: `must match ${patternText ?? String(pattern)}` });
}

/** A whole number, `min`–`max` inclusive. */
export function wholeNumber(options: { min?: number; max?: number } = {}): z.ZodType<number> {
  const { min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER } = options;
  // "must be an integer" for a string too, not zod's "number" (its first check).
  return z
    .int({ error: typeIssue('must be an integer') })
    .min(min)
    .max(max);
}

/** A decimal amount with at most `decimals` fraction digits, as a number in JSON. */
export function amount(options: { min?: number; max?: number; decimals?: number } = {}): z.ZodType<number> {
  const { min = 0, max = 1e12, decimals = 2 } = options;
  const scale = 10 ** decimals;
  return z
    .number()
    .min(min)
    .max(max)
    .refine((value) => Math.abs(Math.round(value * scale) - value * scale) <= 1e-6, {
      error: `must have at most ${decimals} decimal places`,
    });
}

/** Whether a `YYYY-MM-DD` names a day that exists: `Date` rolls 30 February over into March. */
export function isCalendarDate(date: string): boolean {
  const parsed = new Date(`${date}T00:00:00Z`);
  return !Number.isNaN(parsed.getTime()) && parsed.toISOString().slice(0, 10) === date;
}

/** A calendar date `YYYY-MM-DD` that exists. */
export function calendarDate(): z.ZodType<string> {
  return z
    .string({ error: typeIssue('must be a date YYYY-MM-DD') })
    .regex(/^\d{4}-\d{2}-\d{2}$/, { error: 'must be a date YYYY-MM-DD' })
    .refine(isCalendarDate, { error: 'is not a calendar date', abort: true });
}

/** A field that may be absent or null; both become `null`. */
export function optional<T>(schema: z.ZodType<T>): z.ZodType<T | null> {
  return schema.nullish().transform((value) => value ?? null);
}

type Issue = z.core.$ZodRawIssue;

function sized(issue: Issue & { code: 'too_small' | 'too_big' }): string {
  const small = issue.code === 'too_small';
  const bound = Number(small ? issue.minimum : issue.maximum);
  switch (issue.origin) {
    case 'string':
      if (small) return bound === 1 ? 'must not be empty' : `must have at least ${bound} characters`;
      return `must have at most ${bound} characters`;
    case 'array':
      if (small) return bound === 1 ? 'must not be empty' : `needs ${bound} items`;
      return `must have at most ${bound} items`;
    default:
      if (small) return bound === 1 ? 'must be positive' : `must be at least ${bound}`;
      return `must be at most ${bound}`;
  }
}

const typeMessages: Readonly<Record<string, string>> = {
  string: 'must be a string',
  number: 'must be a number',
  int: 'must be an integer',
  boolean: 'must be true or false',
  array: 'must be an array',
  object: 'must be an object',
};

/** The house's words for what a schema did not say itself. */
function houseMessage(issue: Issue): string {
  switch (issue.code) {
    case 'invalid_type':
      return issue.input === undefined
        ? 'is required'
        : (typeMessages[issue.expected] ?? `must be ${issue.expected}`);
    case 'too_small':
    case 'too_big':
      return sized(issue);
    case 'invalid_value':
      return `must be one of ${issue.values.map(String).join(', ')}`;
    case 'unrecognized_keys':
      return 'is not a known field';
    default:
      return 'is invalid';
  }
}

const pointer = (path: readonly PropertyKey[]): string =>
  path.length === 0 ? '/' : path.map((segment) => `/${String(segment)}`).join('');

/** Parses a request body, or throws a 400 problem listing every field at fault. */
export function parse<T>(schema: z.ZodType<T>, value: unknown): T {
  const result = schema.safeParse(value, { error: houseMessage });
  if (result.success) return result.data;
  const errors = new Map<string, FieldError>();
  for (const issue of result.error.issues) {
    const fields =
      issue.code === 'unrecognized_keys' ? issue.keys.map((key) => [...issue.path, key]) : [issue.path];
    for (const path of fields) {
      const field = pointer(path);
      // One error a field, the first: "must not be empty" says enough without "must match …".
      if (!errors.has(field)) errors.set(field, { field, message: issue.message });
    }
  }
  throw validationProblem([...errors.values()]);
}

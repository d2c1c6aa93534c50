/**
 * Strict request validation that names every field at fault (JSON Pointer paths), for RFC 7807
 * problem responses. Small on purpose: objects refuse unknown fields, numbers and strings carry
 * their bounds, and a failed parse reports all errors at once rather than the first.
 */
import { validationProblem, type FieldError } from './errors';

export type Rule<T> = (value: unknown, path: string, errors: FieldError[]) => T | undefined;

const invalid = <T>(errors: FieldError[], field: string, message: string): T | undefined => {
  errors.push({ field: field === '' ? '/' : field, message });
  return undefined;
};

export function string(
  options: { min?: number; max?: number; pattern?: RegExp; patternText?: string } = {},
): Rule<string> {
  const { min = 1, max = 200, pattern, patternText } = options;
  return (value, path, errors) => {
    if (typeof value !== 'string') return invalid(errors, path, 'must be a string');
    const trimmed = value.trim();
    if (trimmed.length < min)
      return invalid(errors, path, min === 1 ? 'must not be empty' : `must have at least ${min} characters`);
    if (trimmed.length > max) return invalid(errors, path, `must have at most ${max} characters`);
    if (pattern !== undefined && !pattern.test(trimmed))
      return invalid(errors, path, `must match ${patternText ?? String(pattern)}`);
    return trimmed;
  };
}

export function integer(options: { min?: number; max?: number } = {}): Rule<number> {
  const { min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER } = options;
  return (value, path, errors) => {
    if (typeof value !== 'number' || !Number.isInteger(value))
      return invalid(errors, path, 'must be an integer');
    if (value < min) return invalid(errors, path, min === 1 ? 'must be positive' : `must be at least ${min}`);
    if (value > max) return invalid(errors, path, `must be at most ${max}`);
    return value;
  };
}

/** A decimal amount with at most `decimals` fraction digits, as a number in JSON. */
export function amount(options: { min?: number; max?: number; decimals?: number } = {}): Rule<number> {
  const { min = 0, max = 1e12, decimals = 2 } = options;
  return (value, path, errors) => {
    if (typeof value !== 'number' || !Number.isFinite(value))
      return invalid(errors, path, 'must be a number');
    if (value < min) return invalid(errors, path, `must be at least ${min}`);
    if (value > max) return invalid(errors, path, `must be at most ${max}`);
    if (Math.abs(Math.round(value * 10 ** decimals) - value * 10 ** decimals) > 1e-6)
      return invalid(errors, path, `must have at most ${decimals} decimal places`);
    return value;
  };
}

export function oneOf<const T extends string>(values: readonly T[]): Rule<T> {
  return (value, path, errors) =>
    typeof value === 'string' && (values as readonly string[]).includes(value)
      ? (value as T)
      : invalid(errors, path, `must be one of ${values.join(', ')}`);
}

/** A calendar date `YYYY-MM-DD` that exists. */
export function isoDate(): Rule<string> {
  return (value, path, errors) => {
    if (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(value))
      return invalid(errors, path, 'must be a date YYYY-MM-DD');
    const parsed = new Date(`${value}T00:00:00Z`);
    if (Number.isNaN(parsed.getTime()) || parsed.toISOString().slice(0, 10) !== value)
      return invalid(errors, path, 'is not a calendar date');
    return value;
  };
}

export function array<T>(item: Rule<T>, options: { min?: number; max?: number } = {}): Rule<T[]> {
  const { min = 0, max = 1000 } = options;
  return (value, path, errors) => {
    if (!Array.isArray(value)) return invalid(errors, path, 'must be an array');
    if (value.length < min)
      return invalid(errors, path, min === 1 ? 'must not be empty' : `needs ${min} items`);
    if (value.length > max) return invalid(errors, path, `must have at most ${max} items`);
    const before = errors.length;
    const items = value.map((entry, index) => item(entry, `${path}/${index}`, errors));
    return errors.length === before ? (items as T[]) : undefined;
  };
}

/** Marks a field that may be absent (or null); absent fields become `null`. */
export interface Optional<T> {
  readonly optional: Rule<T>;
}
export const optional = <T>(rule: Rule<T>): Optional<T> => ({ optional: rule });

type Shape = Readonly<Record<string, Rule<unknown> | Optional<unknown>>>;
type Parsed<S extends Shape> = {
  -readonly [K in keyof S]: S[K] extends Optional<infer T>
    ? T | null
    : S[K] extends Rule<infer T>
      ? T
      : never;
};

/** An object with exactly these fields: unknown fields are errors, so typos never pass silently. */
export function object<S extends Shape>(shape: S): Rule<Parsed<S>> {
  return (value, path, errors) => {
    if (typeof value !== 'object' || value === null || Array.isArray(value))
      return invalid(errors, path, 'must be an object');
    const before = errors.length;
    const input = value as Readonly<Record<string, unknown>>;
    for (const key of Object.keys(input)) {
      if (!Object.hasOwn(shape, key)) invalid(errors, `${path}/${key}`, 'is not a known field');
    }
    const result: Record<string, unknown> = {};
    for (const [key, rule] of Object.entries(shape)) {
      const field = input[key];
      const fieldPath = `${path}/${key}`;
      if (typeof rule === 'function') {
        if (field === undefined) invalid(errors, fieldPath, 'is required');
        else result[key] = rule(field, fieldPath, errors);
      } else {
        result[key] = field === undefined || field === null ? null : rule.optional(field, fieldPath, errors);
      }
    }
    return errors.length === before ? (result as Parsed<S>) : undefined;
  };
}

/** Parses a request body, or throws a 400 problem listing every field at fault. */
export function parse<T>(rule: Rule<T>, value: unknown): T {
  const errors: FieldError[] = [];
  const result = rule(value, '', errors);
  if (result === undefined || errors.length > 0) throw validationProblem(errors);
  return result;
}

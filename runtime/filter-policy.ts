/**
 * Declarative filter policies over Kafka record headers, with the semantics of AWS SNS
 * subscription filter policies, so that a consumer drops events it has no use for before paying
 * for decoding them:
 *
 * - a policy maps header names to lists of conditions;
 * - a header matches when ANY of its conditions matches (OR);
 * - a record matches when EVERY header named in the policy matches (AND); headers the policy
 *   does not name are ignored, and the empty policy matches everything;
 * - a header carrying several values (kafkajs gives an array when a key repeats) matches a
 *   condition when any one of its values does, as SNS treats String.Array attributes;
 * - only `{ exists: false }` can match a header that is absent: as in SNS, `anythingBut`,
 *   `prefix` and `numeric` need a value to judge.
 *
 * ```ts
 * const policy: FilterPolicy = {
 *   eventType: ['OrderPlaced', 'OrderCancelled'],
 *   channel: [{ anythingBut: ['test'] }],
 *   priority: [{ numeric: ['>=', 1, '<', 5] }],
 *   replay: [{ exists: false }],
 * };
 * ```
 */
import type { IHeaders } from 'kafkajs';
import { errorCodes, permanent } from './errors';

export type LowerBoundOperator = '>' | '>=';
export type UpperBoundOperator = '<' | '<=';
export type NumericOperator = '=' | LowerBoundOperator | UpperBoundOperator;

export type NumericCondition =
  | readonly [NumericOperator, number]
  | readonly [LowerBoundOperator, number, UpperBoundOperator, number];

export type Condition =
  | string
  | { readonly anythingBut: string | readonly string[] }
  | { readonly prefix: string }
  | { readonly numeric: NumericCondition }
  | { readonly exists: boolean };

export type FilterPolicy = Readonly<Record<string, readonly Condition[]>>;

export type HeaderPredicate = (headers: IHeaders | undefined) => boolean;

/** A header's values, decoded; empty when the header is absent. */
type Values = readonly string[];
type ValueTest = (values: Values) => boolean;

const conditionKinds = ['anythingBut', 'prefix', 'numeric', 'exists'] as const;

/**
 * Checks a policy and turns it into a predicate over record headers. Throws a permanent
 * INVALID_FILTER_POLICY error naming the header and condition at fault: a policy is written by
 * a developer, so a mistake should stop the process at start-up, not silently filter
 * everything out. The checks hold for untyped input too (see `assertFilterPolicy`).
 */
export function compilePolicy(policy: FilterPolicy): HeaderPredicate {
  return compileUnknown(policy);
}

/** For policies read from configuration: throws like `compilePolicy` unless `value` is a valid policy. */
export function assertFilterPolicy(value: unknown): asserts value is FilterPolicy {
  compileUnknown(value);
}

function compileUnknown(policy: unknown): HeaderPredicate {
  if (!isRecord(policy)) {
    throw invalid('a filter policy must be an object of header names to condition lists');
  }
  const tests = Object.entries(policy).map(([header, conditions]) => {
    const anyOf = compileConditions(header, conditions);
    // Own properties only: a policy on a header named `constructor` must not read Object's.
    return (headers: IHeaders | undefined): boolean =>
      anyOf(headers !== undefined && Object.hasOwn(headers, header) ? valuesOf(headers[header]) : []);
  });
  if (tests.length === 0) return () => true;
  return (headers) => tests.every((test) => test(headers));
}

/** One-off evaluation; consumers should compile their policy once instead. */
export function matches(policy: FilterPolicy, headers: IHeaders | undefined): boolean {
  return compilePolicy(policy)(headers);
}

/** A one-line rendering for logs and start-up banners: `eventType: "A" | "B"; channel: anything-but ["test"]`. */
export function describePolicy(policy: FilterPolicy): string {
  const entries = Object.entries(policy);
  if (entries.length === 0) return '(every record)';
  return entries
    .map(([header, conditions]) => `${header}: ${conditions.map(describeCondition).join(' | ')}`)
    .join('; ');
}

function describeCondition(condition: Condition): string {
  if (typeof condition === 'string') return JSON.stringify(condition);
  if ('anythingBut' in condition) {
    const excluded =
      typeof condition.anythingBut === 'string' ? [condition.anythingBut] : condition.anythingBut;
    return `anything-but ${JSON.stringify(excluded)}`;
  }
  if ('prefix' in condition) return `prefix ${JSON.stringify(condition.prefix)}`;
  if ('numeric' in condition) return condition.numeric.join(' ');
  return condition.exists ? 'exists' : 'absent';
}

function compileConditions(header: string, conditions: unknown): ValueTest {
  if (!isList(conditions) || conditions.length === 0) {
    throw invalid(`header "${header}": expected a non-empty list of conditions`);
  }
  const tests = conditions.map((condition, index) =>
    compileCondition(condition, `header "${header}", condition ${index + 1}`),
  );
  return (values) => tests.some((test) => test(values));
}

function compileCondition(condition: unknown, where: string): ValueTest {
  if (typeof condition === 'string') return (values) => values.includes(condition);
  if (!isRecord(condition)) {
    throw invalid(`${where}: expected a string or an object with one of ${conditionKinds.join(', ')}`);
  }
  const keys = Object.keys(condition);
  const [kind] = keys;
  if (keys.length !== 1 || kind === undefined) {
    throw invalid(`${where}: expected exactly one of ${conditionKinds.join(', ')}, got {${keys.join(', ')}}`);
  }
  const operand = condition[kind];
  switch (kind) {
    case 'anythingBut':
      return compileAnythingBut(operand, where);
    case 'prefix':
      return compilePrefix(operand, where);
    case 'numeric':
      return compileNumeric(operand, where);
    case 'exists':
      return compileExists(operand, where);
    default:
      throw invalid(`${where}: unknown condition "${kind}"; expected one of ${conditionKinds.join(', ')}`);
  }
}

function compileAnythingBut(operand: unknown, where: string): ValueTest {
  const excluded = typeof operand === 'string' ? [operand] : operand;
  if (!isList(excluded) || excluded.length === 0 || !excluded.every(isString)) {
    throw invalid(`${where}: anythingBut takes a string or a non-empty list of strings`);
  }
  const set = new Set(excluded);
  // `some` over no values is false: an absent header is not "anything but" (SNS semantics).
  return (values) => values.some((value) => !set.has(value));
}

function compilePrefix(operand: unknown, where: string): ValueTest {
  if (typeof operand !== 'string' || operand === '') {
    throw invalid(`${where}: prefix takes a non-empty string`);
  }
  return (values) => values.some((value) => value.startsWith(operand));
}

function compileExists(operand: unknown, where: string): ValueTest {
  if (typeof operand !== 'boolean') throw invalid(`${where}: exists takes true or false`);
  return operand ? (values) => values.length > 0 : (values) => values.length === 0;
}

function compileNumeric(operand: unknown, where: string): ValueTest {
  const shape = `numeric takes ['=', n], ['>' | '>=' | '<' | '<=', n] or ['>' | '>=', low, '<' | '<=', high]`;
  if (!isList(operand)) throw invalid(`${where}: ${shape}`);
  const [op1, n1, op2, n2] = operand;
  if (operand.length === 2 && isNumericOperator(op1) && isFiniteNumber(n1)) {
    const test = comparison(op1, n1);
    return (values) => values.some((value) => satisfies(value, test));
  }
  if (
    operand.length === 4 &&
    isLowerBoundOperator(op1) &&
    isFiniteNumber(n1) &&
    isUpperBoundOperator(op2) &&
    isFiniteNumber(n2)
  ) {
    if (n1 >= n2) throw invalid(`${where}: numeric range needs its lower bound below its upper bound`);
    const low = comparison(op1, n1);
    const high = comparison(op2, n2);
    return (values) => values.some((value) => satisfies(value, (n) => low(n) && high(n)));
  }
  throw invalid(`${where}: ${shape} (numbers must be finite), got ${JSON.stringify(operand)}`);
}

function comparison(operator: NumericOperator, bound: number): (n: number) => boolean {
  switch (operator) {
    case '=':
      return (n) => n === bound;
    case '>':
      return (n) => n > bound;
    case '>=':
      return (n) => n >= bound;
    case '<':
      return (n) => n < bound;
    case '<=':
      return (n) => n <= bound;
    default: {
      const unreachable: never = operator;
      return unreachable;
    }
  }
}

// Plain decimal notation only: Number() would also accept '', ' 7 ', '0x1A' and 'Infinity',
// which would let a malformed header slip into a numeric range.
const decimal = /^-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

function satisfies(value: string, test: (n: number) => boolean): boolean {
  if (!decimal.test(value)) return false;
  const n = Number(value);
  return Number.isFinite(n) && test(n);
}

function valuesOf(header: IHeaders[string]): Values {
  if (header === undefined) return [];
  const raw = Array.isArray(header) ? header : [header];
  // Header bytes are UTF-8 by convention (Kafka leaves them opaque; every Kafka client writes
  // strings as UTF-8).
  return raw.map((value) => (typeof value === 'string' ? value : value.toString('utf8')));
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isList(value: unknown): value is readonly unknown[] {
  return Array.isArray(value);
}

function isString(value: unknown): value is string {
  return typeof value === 'string';
}

function isFiniteNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

function isNumericOperator(value: unknown): value is NumericOperator {
  return value === '=' || isLowerBoundOperator(value) || isUpperBoundOperator(value);
}

function isLowerBoundOperator(value: unknown): value is LowerBoundOperator {
  return value === '>' || value === '>=';
}

function isUpperBoundOperator(value: unknown): value is UpperBoundOperator {
  return value === '<' || value === '<=';
}

function invalid(message: string): Error {
  return permanent(errorCodes.INVALID_FILTER_POLICY, `invalid filter policy: ${message}`);
}

/** Validation of a mapping update sent by an operator (`POST /adapters/order-scm/mapping/updates`). */
import { validationProblem } from '@runtime/errors';
import { array, integer, object, oneOf, parse, string, type Rule } from '@runtime/validate';
import type { MappingUpdate } from './mapping';

const code = string({ max: 64, pattern: /^[A-Za-z0-9_-]+$/, patternText: 'letters, digits, _ or -' });
const sku = string({ max: 64, pattern: /^[A-Z0-9-]+$/, patternText: 'upper-case letters, digits or -' });
const flag: Rule<boolean> = (value, path, errors) => {
  if (typeof value === 'boolean') return value;
  errors.push({ field: path, message: 'must be true or false' });
  return undefined;
};

const rules = {
  SkuDefined: object({
    type: oneOf(['SkuDefined']),
    sku,
    definition: object({ name: string({ max: 100 }), cookedToOrder: flag }),
  }),
  ProductMapped: object({
    type: oneOf(['ProductMapped']),
    productCode: code,
    components: array(object({ sku, quantity: integer({ min: 1, max: 1000 }) }), { min: 1, max: 20 }),
  }),
  ProductUnmapped: object({ type: oneOf(['ProductUnmapped']), productCode: code }),
  SlotDefined: object({
    type: oneOf(['SlotDefined']),
    slot: code,
    definition: object({
      startMinute: integer({ min: 0, max: 1439 }),
      durationMinutes: integer({ min: 1, max: 1440 }),
    }),
  }),
  SlotRemoved: object({ type: oneOf(['SlotRemoved']), slot: code }),
  ZoneAssigned: object({
    type: oneOf(['ZoneAssigned']),
    postalPrefix: string({ pattern: /^\d{1,5}$/, patternText: '1 to 5 digits' }),
    zone: code,
  }),
  ZoneUnassigned: object({ type: oneOf(['ZoneUnassigned']), postalPrefix: string({ max: 5 }) }),
} satisfies { [T in MappingUpdate['type']]: Rule<Extract<MappingUpdate, { type: T }>> };

const types = Object.keys(rules) as (keyof typeof rules)[];

export function parseMappingUpdate(body: unknown): MappingUpdate {
  const type = typeof body === 'object' && body !== null && 'type' in body ? body.type : undefined;
  const known = types.find((candidate) => candidate === type);
  if (known === undefined)
    throw validationProblem([{ field: '/type', message: `must be one of ${types.join(', ')}` }]);
  return parse<MappingUpdate>(rules[known], body);
}

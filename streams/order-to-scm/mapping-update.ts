/** Validation of a mapping update sent by an operator (`POST /adapters/order-scm/mapping/updates`). */
import { validationProblem } from '@runtime/errors';
import { z } from 'zod';
import { parse, text, wholeNumber } from '@runtime/validate';
import type { MappingUpdate } from './mapping';

const code = text({ max: 64, pattern: /^[A-Za-z0-9_-]+$/, patternText: 'letters, digits, _ or -' });
const sku = text({ max: 64, pattern: /^[A-Z0-9-]+$/, patternText: 'upper-case letters, digits or -' });
const flag = z.boolean();

const rules = {
  SkuDefined: z.strictObject({
    type: z.enum(['SkuDefined']),
    sku,
    definition: z.strictObject({ name: text({ max: 100 }), cookedToOrder: flag }),
  }),
  ProductMapped: z.strictObject({
    type: z.enum(['ProductMapped']),
    productCode: code,
    components: z
      .array(z.strictObject({ sku, quantity: wholeNumber({ min: 1, max: 1000 }) }))
      .min(1)
      .max(20),
  }),
  ProductUnmapped: z.strictObject({ type: z.enum(['ProductUnmapped']), productCode: code }),
  SlotDefined: z.strictObject({
    type: z.enum(['SlotDefined']),
    slot: code,
    definition: z.strictObject({
      startMinute: wholeNumber({ min: 0, max: 1439 }),
      durationMinutes: wholeNumber({ min: 1, max: 1440 }),
    }),
  }),
  SlotRemoved: z.strictObject({ type: z.enum(['SlotRemoved']), slot: code }),
  ZoneAssigned: z.strictObject({
    type: z.enum(['ZoneAssigned']),
    postalPrefix: text({ pattern: /^\d{1,5}$/, patternText: '1 to 5 digits' }),
    zone: code,
  }),
  ZoneUnassigned: z.strictObject({ type: z.enum(['ZoneUnassigned']), postalPrefix: text({ max: 5 }) }),
} satisfies { [T in MappingUpdate['type']]: z.ZodType<Extract<MappingUpdate, { type: T }>> };

const types = Object.keys(rules) as (keyof typeof rules)[];

export function parseMappingUpdate(body: unknown): MappingUpdate {
  const type = typeof body === 'object' && body !== null && 'type' in body ? body.type : undefined;
  const known = types.find((candidate) => candidate === type);
  if (known === undefined)
    throw validationProblem([{ field: '/type', message: `must be one of ${types.join(', ')}` }]);
  return parse<MappingUpdate>(rules[known], body);
}

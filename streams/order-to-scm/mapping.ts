/**
 * The order->scm adapter's own vocabulary map: storefront product codes to SKUs, delivery time
 * windows to named slots, postal codes to delivery zones. Neither side owns this knowledge, so it
 * lives here, seeded at start and changed at run time only through `applyMappingUpdate`.
 *
 * Tables are plain records read through `lookup` (own keys only), so a product code such as
 * `constructor` or `__proto__` can never hit `Object.prototype`.
 */

/** One SKU that a product consists of, per ordered unit of the product. */
export interface SkuComponent {
  readonly sku: string;
  /** Units of the SKU per ordered unit of the product, at least 1. */
  readonly quantity: number;
}

export interface SkuDefinition {
  /** Name for operators; SCM events carry only the code. */
  readonly name: string;
  /** Prepared in the kitchen for each order, rather than picked from packaged stock. */
  readonly cookedToOrder: boolean;
}

export interface SlotDefinition {
  /** Local start of the window, minutes after midnight in the mapping's time zone. */
  readonly startMinute: number;
  /** Length of the window in minutes; the storefront's window must match it exactly. */
  readonly durationMinutes: number;
}

export interface Mapping {
  /** Incremented by every applied update, so logs can say which map a translation used. */
  readonly revision: number;
  /** Offset of the storefront's local time from UTC. KST has no daylight saving time. */
  readonly utcOffsetMinutes: number;
  readonly skus: Readonly<Record<string, SkuDefinition>>;
  /** Product code -> the SKUs one unit of the product consists of (never empty). */
  readonly products: Readonly<Record<string, readonly SkuComponent[]>>;
  /** Slot code (e.g. `DAWN`) -> its local time window. */
  readonly slots: Readonly<Record<string, SlotDefinition>>;
  /** Postal code prefix -> delivery zone; the longest matching prefix wins. */
  readonly zones: Readonly<Record<string, string>>;
}

/** Reads an own entry of a table; `undefined` for anything else, prototype keys included. */
export function lookup<T>(table: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.hasOwn(table, key) ? table[key] : undefined;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

const hour = 60;

/** The seeded map: a small kitchen-and-grocery catalogue, two Seoul-area slots, Seoul/Gyeonggi/Incheon zones. */
export const seedMapping: Mapping = deepFreeze({
  revision: 1,
  utcOffsetMinutes: 9 * hour,
  skus: {
    'SKU-BIBIMBAP-REG': { name: '돌솥비빔밥 (보통)', cookedToOrder: true },
    'SKU-BULGOGI-300G': { name: '불고기 300g', cookedToOrder: true },
    'SKU-KIMCHI-JJIGAE': { name: '김치찌개', cookedToOrder: true },
    'SKU-DOENJANG-SOUP': { name: '된장국', cookedToOrder: true },
    'SKU-RICE-210G': { name: '즉석밥 210g', cookedToOrder: false },
    'SKU-KIMCHI-500G': { name: '포기김치 500g', cookedToOrder: false },
    'SKU-SOYMILK-190ML': { name: '두유 190ml', cookedToOrder: false },
  },
  products: {
    'PRD-BIBIMBAP': [{ sku: 'SKU-BIBIMBAP-REG', quantity: 1 }],
    'PRD-BULGOGI': [{ sku: 'SKU-BULGOGI-300G', quantity: 1 }],
    'PRD-KIMCHI-JJIGAE': [
      { sku: 'SKU-KIMCHI-JJIGAE', quantity: 1 },
      { sku: 'SKU-RICE-210G', quantity: 1 },
    ],
    'PRD-BULGOGI-SET': [
      { sku: 'SKU-BULGOGI-300G', quantity: 1 },
      { sku: 'SKU-RICE-210G', quantity: 1 },
      { sku: 'SKU-DOENJANG-SOUP', quantity: 1 },
    ],
    'PRD-RICE-3PACK': [{ sku: 'SKU-RICE-210G', quantity: 3 }],
    'PRD-KIMCHI': [{ sku: 'SKU-KIMCHI-500G', quantity: 1 }],
    'PRD-SOYMILK-24': [{ sku: 'SKU-SOYMILK-190ML', quantity: 24 }],
  },
  slots: {
    // 새벽배송: delivered before the customer wakes up.
    DAWN: { startMinute: 0, durationMinutes: 7 * hour },
    // 주간배송.
    DAY: { startMinute: 10 * hour, durationMinutes: 8 * hour },
  },
  zones: {
    '01': 'SEOUL-NORTH',
    '02': 'SEOUL-NORTH',
    '03': 'SEOUL-CENTRAL',
    '04': 'SEOUL-CENTRAL',
    '05': 'SEOUL-SOUTHEAST',
    '06': 'SEOUL-SOUTHEAST',
    '07': 'SEOUL-SOUTHWEST',
    '08': 'SEOUL-SOUTHWEST',
    '13': 'GYEONGGI-SEONGNAM',
    '134': 'GYEONGGI-PANGYO',
    '21': 'INCHEON',
    '22': 'INCHEON',
  },
});

/** A change to the map, e.g. from the adapter's mapping topic or an operator command. */
export type MappingUpdate =
  | { readonly type: 'SkuDefined'; readonly sku: string; readonly definition: SkuDefinition }
  | {
      readonly type: 'ProductMapped';
      readonly productCode: string;
      readonly components: readonly SkuComponent[];
    }
  | { readonly type: 'ProductUnmapped'; readonly productCode: string }
  | { readonly type: 'SlotDefined'; readonly slot: string; readonly definition: SlotDefinition }
  | { readonly type: 'SlotRemoved'; readonly slot: string }
  | { readonly type: 'ZoneAssigned'; readonly postalPrefix: string; readonly zone: string }
  | { readonly type: 'ZoneUnassigned'; readonly postalPrefix: string };

export type MappingUpdateOutcome =
  | { readonly kind: 'applied'; readonly mapping: Mapping }
  | { readonly kind: 'refused'; readonly reason: string };

function withEntry<T>(table: Readonly<Record<string, T>>, key: string, value: T): Record<string, T> {
  return { ...table, [key]: value };
}

function withoutEntry<T>(table: Readonly<Record<string, T>>, key: string): Record<string, T> {
  return Object.fromEntries(Object.entries(table).filter(([name]) => name !== key));
}

const postalPrefixPattern = /^\d{1,5}$/;
const minutesPerDay = 24 * hour;

/**
 * Applies one update, returning a new frozen map (the old one is untouched, so a translation in
 * flight keeps a consistent view). Updates that would leave the map inconsistent are refused: a
 * product pointing at an undefined SKU would turn every later order for it into a dead letter.
 * There is deliberately no way to remove a SKU, for the same reason.
 */
export function applyMappingUpdate(mapping: Mapping, update: MappingUpdate): MappingUpdateOutcome {
  const next = (changes: Partial<Omit<Mapping, 'revision'>>): MappingUpdateOutcome => ({
    kind: 'applied',
    mapping: deepFreeze({ ...mapping, ...changes, revision: mapping.revision + 1 }),
  });
  switch (update.type) {
    case 'SkuDefined':
      return next({ skus: withEntry(mapping.skus, update.sku, update.definition) });
    case 'ProductMapped': {
      if (update.components.length === 0) {
        return { kind: 'refused', reason: `product ${update.productCode} must map to at least one SKU` };
      }
      for (const component of update.components) {
        if (lookup(mapping.skus, component.sku) === undefined) {
          return { kind: 'refused', reason: `SKU ${component.sku} is not defined` };
        }
        if (!Number.isInteger(component.quantity) || component.quantity < 1) {
          return { kind: 'refused', reason: `quantity of ${component.sku} must be a positive integer` };
        }
      }
      return next({ products: withEntry(mapping.products, update.productCode, update.components) });
    }
    case 'ProductUnmapped':
      return next({ products: withoutEntry(mapping.products, update.productCode) });
    case 'SlotDefined': {
      const { startMinute, durationMinutes } = update.definition;
      const valid =
        Number.isInteger(startMinute) &&
        Number.isInteger(durationMinutes) &&
        startMinute >= 0 &&
        startMinute < minutesPerDay &&
        durationMinutes > 0 &&
        durationMinutes <= minutesPerDay;
      if (!valid) return { kind: 'refused', reason: `slot ${update.slot} has an invalid window` };
      return next({ slots: withEntry(mapping.slots, update.slot, update.definition) });
    }
    case 'SlotRemoved':
      return next({ slots: withoutEntry(mapping.slots, update.slot) });
    case 'ZoneAssigned':
      if (!postalPrefixPattern.test(update.postalPrefix)) {
        return { kind: 'refused', reason: `postal prefix ${update.postalPrefix} is not 1 to 5 digits` };
      }
      return next({ zones: withEntry(mapping.zones, update.postalPrefix, update.zone) });
    case 'ZoneUnassigned':
      return next({ zones: withoutEntry(mapping.zones, update.postalPrefix) });
    default: {
      const unreachable: never = update;
      return unreachable;
    }
  }
}

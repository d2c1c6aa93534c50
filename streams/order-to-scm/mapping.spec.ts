import { applyMappingUpdate, lookup, seedMapping, type MappingUpdate } from './mapping';

describe('seedMapping', () => {
  it('is immutable, down to its tables', () => {
    expect(Object.isFrozen(seedMapping)).toBe(true);
    expect(Object.isFrozen(seedMapping.products)).toBe(true);
    expect(Object.isFrozen(seedMapping.products['PRD-BIBIMBAP'])).toBe(true);
  });

  it('maps every product only to defined SKUs', () => {
    for (const components of Object.values(seedMapping.products)) {
      expect(components.length).toBeGreaterThan(0);
      for (const { sku } of components) expect(lookup(seedMapping.skus, sku)).toBeDefined();
    }
  });

  it('never finds prototype keys', () => {
    expect(lookup(seedMapping.products, 'constructor')).toBeUndefined();
    expect(lookup(seedMapping.products, '__proto__')).toBeUndefined();
  });
});

describe('applyMappingUpdate', () => {
  it('maps a product without touching the map it was given', () => {
    // given the seed, when a new product is mapped
    const outcome = applyMappingUpdate(seedMapping, {
      type: 'ProductMapped',
      productCode: 'PRD-BULGOGI-DOUBLE',
      components: [{ sku: 'SKU-BULGOGI-300G', quantity: 2 }],
    });
    // then a new frozen revision has it, and the seed does not
    if (outcome.kind !== 'applied') throw new Error(outcome.reason);
    expect(outcome.mapping.revision).toBe(seedMapping.revision + 1);
    expect(lookup(outcome.mapping.products, 'PRD-BULGOGI-DOUBLE')).toEqual([
      { sku: 'SKU-BULGOGI-300G', quantity: 2 },
    ]);
    expect(Object.isFrozen(outcome.mapping.products)).toBe(true);
    expect(lookup(seedMapping.products, 'PRD-BULGOGI-DOUBLE')).toBeUndefined();
  });

  it.each<[string, MappingUpdate, (mapping: typeof seedMapping) => unknown, unknown]>([
    [
      'SkuDefined',
      { type: 'SkuDefined', sku: 'SKU-JAPCHAE', definition: { name: '잡채', cookedToOrder: true } },
      (m) => lookup(m.skus, 'SKU-JAPCHAE'),
      { name: '잡채', cookedToOrder: true },
    ],
    [
      'ProductUnmapped',
      { type: 'ProductUnmapped', productCode: 'PRD-KIMCHI' },
      (m) => lookup(m.products, 'PRD-KIMCHI'),
      undefined,
    ],
    [
      'SlotDefined',
      { type: 'SlotDefined', slot: 'EVENING', definition: { startMinute: 18 * 60, durationMinutes: 4 * 60 } },
      (m) => lookup(m.slots, 'EVENING'),
      { startMinute: 1080, durationMinutes: 240 },
    ],
    ['SlotRemoved', { type: 'SlotRemoved', slot: 'DAY' }, (m) => lookup(m.slots, 'DAY'), undefined],
    [
      'ZoneAssigned',
      { type: 'ZoneAssigned', postalPrefix: '10', zone: 'GYEONGGI-GOYANG' },
      (m) => lookup(m.zones, '10'),
      'GYEONGGI-GOYANG',
    ],
    [
      'ZoneUnassigned',
      { type: 'ZoneUnassigned', postalPrefix: '21' },
      (m) => lookup(m.zones, '21'),
      undefined,
    ],
  ])('%s applies', (_case, update, read, expected) => {
    const outcome = applyMappingUpdate(seedMapping, update);
    if (outcome.kind !== 'applied') throw new Error(outcome.reason);
    expect(read(outcome.mapping)).toEqual(expected);
  });

  it.each<[string, MappingUpdate, string]>([
    [
      'a product mapped to an undefined SKU',
      { type: 'ProductMapped', productCode: 'PRD-X', components: [{ sku: 'SKU-NOPE', quantity: 1 }] },
      'SKU SKU-NOPE is not defined',
    ],
    [
      'a product mapped to no SKU',
      { type: 'ProductMapped', productCode: 'PRD-X', components: [] },
      'product PRD-X must map to at least one SKU',
    ],
    [
      'a component quantity below 1',
      { type: 'ProductMapped', productCode: 'PRD-X', components: [{ sku: 'SKU-RICE-210G', quantity: 0 }] },
      'quantity of SKU-RICE-210G must be a positive integer',
    ],
    [
      'a slot starting after midnight of the next day',
      { type: 'SlotDefined', slot: 'LATE', definition: { startMinute: 24 * 60, durationMinutes: 60 } },
      'slot LATE has an invalid window',
    ],
    [
      'a postal prefix that is not digits',
      { type: 'ZoneAssigned', postalPrefix: 'ab', zone: 'NOWHERE' },
      'postal prefix ab is not 1 to 5 digits',
    ],
  ])('refuses %s, leaving the map as it was', (_case, update, reason) => {
    expect(applyMappingUpdate(seedMapping, update)).toEqual({ kind: 'refused', reason });
  });
});

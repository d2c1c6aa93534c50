import { seedMapping } from '@streams/order-to-scm/mapping';
import {
  catalogueOf,
  checkMix,
  deliveredOnlyMix,
  dueAtMs,
  expectedOutcome,
  isBadFate,
  mapViewOf,
  percentiles,
  planOrder,
  plannedCount,
  realisticMix,
  seededRandom,
  shortageQuantity,
  sumMetric,
  topUpQuantity,
  type Fate,
  type TrafficMix,
} from './plan';

const catalogue = catalogueOf(seedMapping);
const plans = (seed: number, count: number, mix: TrafficMix = realisticMix) => {
  const random = seededRandom(seed);
  return Array.from({ length: count }, (_, n) =>
    planOrder(random, n, { mix, catalogue, storefronts: 2, deliveryDate: '2030-01-02' }),
  );
};

describe('the seeded random source', () => {
  it('gives the same numbers for the same seed, other numbers for another', () => {
    const draw = (seed: number) => Array.from({ length: 5 }, seededRandom(seed));
    expect(draw(7)).toEqual(draw(7));
    expect(draw(7)).not.toEqual(draw(8));
    expect(draw(7).every((value) => value >= 0 && value < 1)).toBe(true);
  });

  it('makes a run reproducible: the same seed plans the same orders', () => {
    expect(plans(42, 50)).toEqual(plans(42, 50));
    expect(plans(42, 50)).not.toEqual(plans(43, 50));
  });
});

describe('the catalogue read from the adapter map', () => {
  it('keeps the 24-pack soy milk scarce for shortages and out of ordinary orders', () => {
    expect(catalogue.shortage).toEqual({
      productCode: 'PRD-SOYMILK-24',
      sku: 'SKU-SOYMILK-190ML',
      unitsPerProduct: 24,
    });
    expect(catalogue.products).not.toContain('PRD-SOYMILK-24');
    expect(catalogue.stockedSkus).not.toContain('SKU-SOYMILK-190ML');
    expect(catalogue.stockedSkus).toContain('SKU-RICE-210G');
  });

  it('finds what the map cannot translate: the storefront EVENING slot, a zone-less postal code, a product', () => {
    expect(catalogue.slots).toEqual(['DAWN', 'DAY']);
    expect(catalogue.unknownSlot).toBe('EVENING');
    expect(catalogue.unknownPostalCode).toBe('99999');
    expect(Object.hasOwn(seedMapping.products, catalogue.unknownProduct)).toBe(false);
  });

  it('reads the mapping API answer and refuses something else', () => {
    const view = mapViewOf(JSON.parse(JSON.stringify(seedMapping)));
    if ('problem' in view) throw new Error(view.problem);
    expect(catalogueOf(view)).toEqual(catalogue);
    expect(mapViewOf({ skus: {} })).toEqual({ problem: 'the mapping lacks skus, products, slots or zones' });
  });
});

describe('the traffic mix', () => {
  const fatesOf = (mix: TrafficMix, count = 20_000) => {
    const counts: Partial<Record<Fate, number>> = {};
    for (const plan of plans(1, count, mix)) counts[plan.fate] = (counts[plan.fate] ?? 0) + 1;
    return { share: (fate: Fate) => (counts[fate] ?? 0) / count, plans: plans(1, count, mix) };
  };

  it('respects the shares, roughly', () => {
    const { share, plans: all } = fatesOf(realisticMix);
    expect(share('cancelBeforeDispatch')).toBeCloseTo(realisticMix.cancelBeforeDispatch, 1);
    expect(share('cancelAfterDispatch')).toBeCloseTo(realisticMix.cancelAfterDispatch, 1);
    expect(share('shortage')).toBeCloseTo(realisticMix.shortage, 1);
    const bad = all.filter((plan) => isBadFate(plan.fate)).length / all.length;
    expect(Math.abs(bad - realisticMix.badOrder)).toBeLessThan(0.01);
    const coupons = all.filter((plan) => plan.couponCode !== null && !isBadFate(plan.fate)).length;
    expect(coupons / all.length).toBeGreaterThan(realisticMix.coupon * 0.85);
    expect(coupons / all.length).toBeLessThan(realisticMix.coupon * 1.1);
    for (const fate of ['unknownProduct', 'unknownSlot', 'unknownZone', 'invalidBody'] as const)
      expect(share(fate)).toBeGreaterThan(0);
  });

  it('delivered-only: every order is good and goes to delivered', () => {
    const all = plans(3, 2_000, deliveredOnlyMix);
    expect(new Set(all.map((plan) => plan.fate))).toEqual(new Set(['deliver']));
    expect(all.every((plan) => plan.newAddress === null)).toBe(true);
    expect(all.some((plan) => plan.review !== null)).toBe(true);
  });

  it('refuses shares that cannot be', () => {
    expect(checkMix(realisticMix)).toBeUndefined();
    expect(checkMix({ ...realisticMix, badOrder: 1.5 })).toMatch(/badOrder/);
    expect(checkMix({ ...realisticMix, cancelBeforeDispatch: 0.6, shortage: 0.5 })).toMatch(/> 1/);
  });
});

describe('an order plan', () => {
  const all = plans(5, 3_000);
  const first = (fate: Fate) => all.find((plan) => plan.fate === fate);

  it('spreads orders over the storefronts round-robin', () => {
    expect(all.slice(0, 4).map((plan) => plan.storefront)).toEqual([0, 1, 0, 1]);
  });

  it('makes each bad order bad in its own way', () => {
    const lines = (fate: Fate) => first(fate)?.body.lines as { productCode: string }[];
    expect(lines('unknownProduct').map((line) => line.productCode)).toContain(catalogue.unknownProduct);
    expect(first('unknownSlot')?.body.delivery).toMatchObject({ slot: 'EVENING' });
    expect(first('unknownZone')?.body.deliveryAddress).toMatchObject({ postalCode: '99999' });
    const invalid = all.filter((plan) => plan.fate === 'invalidBody');
    expect(invalid.length).toBeGreaterThan(0);
    expect(invalid.every((plan) => plan.couponCode === null && plan.review === null)).toBe(true);
  });

  it('says what the customer should end up seeing', () => {
    expect(expectedOutcome('deliver')).toEqual(['DELIVERED']);
    expect(expectedOutcome('cancelAfterDispatch')).toEqual(['DELIVERED']);
    expect(expectedOutcome('cancelBeforeDispatch')).toContain('CANCELLED');
    expect(expectedOutcome('unknownZone')).toEqual(['REJECTED']);
    expect(expectedOutcome('invalidBody')).toEqual(['refused']);
  });

  it('orders more of the scarce SKU than is on hand, and top-ups bring stock back over its floor', () => {
    expect(shortageQuantity(0, 24)).toBe(1);
    expect(shortageQuantity(23, 24)).toBe(1);
    expect(shortageQuantity(24, 24)).toBe(2);
    expect(shortageQuantity(30, 24) * 24).toBeGreaterThan(30);
    expect(topUpQuantity(60, 50, 100)).toBe(0);
    expect(topUpQuantity(10, 50, 100)).toBe(90);
    expect(topUpQuantity(-3, 50, 100)).toBe(100);
  });
});

describe('the open-loop clock', () => {
  it('places order n at n / rate, whatever happens to earlier orders', () => {
    expect([0, 1, 2, 3].map((n) => dueAtMs(n, 5))).toEqual([0, 200, 400, 600]);
    expect(dueAtMs(3, 0.5)).toBe(6_000);
  });

  it('offers rate × duration orders', () => {
    expect(plannedCount(5, 2_000)).toBe(10);
    expect(plannedCount(0.5, 10_000)).toBe(5);
    expect(plannedCount(0.3, 10_000)).toBe(3);
    expect(plannedCount(1, Infinity)).toBe(Infinity);
  });
});

describe('numbers read back', () => {
  it('percentiles by nearest rank', () => {
    expect(percentiles([])).toBeNull();
    const samples = Array.from({ length: 100 }, (_, i) => 100 - i);
    expect(percentiles(samples)).toEqual({ count: 100, p50: 50, p90: 90, p99: 99, max: 100 });
    expect(percentiles([7])).toEqual({ count: 1, p50: 7, p90: 7, p99: 7, max: 7 });
  });

  it('sums every series of a metric in Prometheus text, and only that metric', () => {
    const text = [
      '# HELP scm_consumer_lag Records between ...',
      '# TYPE scm_consumer_lag gauge',
      'scm_consumer_lag{group="a",topic="t",partition="0"} 3',
      'scm_consumer_lag{group="b",topic="t",partition="1"} 4',
      'scm_consumer_lag_other{group="b"} 100',
      'scm_messages_dead_lettered_total{group="a",topic="t",category="INVALID_CONTENT"} 2',
    ].join('\n');
    expect(sumMetric(text, 'scm_consumer_lag')).toBe(7);
    expect(sumMetric(text, 'scm_messages_dead_lettered_total')).toBe(2);
    expect(sumMetric('', 'scm_consumer_lag')).toBe(0);
  });
});

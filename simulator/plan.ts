/**
 * The pure half of the traffic simulator: a seeded random source, the traffic mix, what each order
 * will be and do (its plan), when it is due, and the numbers read back (percentiles, Prometheus
 * text). Everything here is a function of its arguments, so a run is reproducible from its seed.
 */
import type { Mapping } from '@streams/order-to-scm/mapping';
import { coupons, slotCodes, type StorefrontStatus } from '@services/order/domain';

/** Shares of orders, each from 0 to 1. The first five are exclusive fates; the rest are extras. */
export interface TrafficMix {
  /** Cancelled soon after placing, before the courier has it (expect 취소). */
  readonly cancelBeforeDispatch: number;
  /** Cancelled once it is 배송중 (expect a 409: too late; the order is still delivered). */
  readonly cancelAfterDispatch: number;
  /** Untranslatable or invalid: unknown product, slot or zone (주문보류), or a body the API refuses (400). */
  readonly badOrder: number;
  /** More of a rarely stocked SKU than is on hand: 입고대기 until the simulator posts a receipt. */
  readonly shortage: number;
  /** Extras on good orders: a new delivery address before dispatch, a coupon, a review after delivery. */
  readonly addressChange: number;
  readonly coupon: number;
  readonly review: number;
}

/** What a day at the storefront looks like, give or take. */
export const realisticMix: TrafficMix = {
  cancelBeforeDispatch: 0.06,
  cancelAfterDispatch: 0.03,
  badOrder: 0.05,
  shortage: 0.04,
  addressChange: 0.08,
  coupon: 0.15,
  review: 0.2,
};

/** Every order is good and is delivered: a clean load for latency measurements. */
export const deliveredOnlyMix: TrafficMix = {
  cancelBeforeDispatch: 0,
  cancelAfterDispatch: 0,
  badOrder: 0,
  shortage: 0,
  addressChange: 0,
  coupon: 0.15,
  review: 0.2,
};

export const mixes = { realistic: realisticMix, delivered: deliveredOnlyMix } as const;
export type MixName = keyof typeof mixes;

/** Refuses a mix whose exclusive fates take more than every order, or a share outside 0..1. */
export function checkMix(mix: TrafficMix): string | undefined {
  const bad = Object.entries(mix).find(([, share]) => !(share >= 0 && share <= 1));
  if (bad) return `share ${bad[0]} must be from 0 to 1, got ${String(bad[1])}`;
  const exclusive = mix.cancelBeforeDispatch + mix.cancelAfterDispatch + mix.badOrder + mix.shortage;
  return exclusive > 1 ? `cancellations, bad orders and shortages add up to ${exclusive} > 1` : undefined;
}

/** A random source: the next number in [0, 1). */
export type Random = () => number;

/** mulberry32 (Tommy Ettinger): tiny, fast and good enough for traffic; reproducible from a 32-bit seed. */
export function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

export const pick = <T>(random: Random, items: readonly T[]): T => {
  if (items.length === 0) throw new Error('nothing to pick from');
  return items[Math.floor(random() * items.length)] as T;
};
const between = (random: Random, min: number, max: number): number =>
  min + Math.floor(random() * (max - min + 1));

/** Open loop: order n is due at n / rate, whether or not earlier orders have finished. */
export const dueAtMs = (n: number, ratePerSec: number): number => (n * 1000) / ratePerSec;

/** How many orders a run of `durationMs` offers at `ratePerSec` (those due before the end). */
export const plannedCount = (ratePerSec: number, durationMs: number): number =>
  Number.isFinite(durationMs) ? Math.ceil((durationMs * ratePerSec) / 1000 - 1e-9) : Infinity;

/** How the order ends, as the plan intends it. */
export type Fate =
  | 'deliver'
  | 'cancelBeforeDispatch'
  | 'cancelAfterDispatch'
  | 'shortage'
  | 'unknownProduct'
  | 'unknownSlot'
  | 'unknownZone'
  | 'invalidBody';

export const badFates = ['unknownProduct', 'unknownSlot', 'unknownZone', 'invalidBody'] as const;
export const isBadFate = (fate: Fate): boolean => (badFates as readonly Fate[]).includes(fate);

/** What the customer should end up seeing; `refused` is a 4xx on placing. */
export function expectedOutcome(fate: Fate): readonly (StorefrontStatus | 'refused')[] {
  switch (fate) {
    case 'deliver':
    case 'cancelAfterDispatch':
    case 'shortage':
      return ['DELIVERED'];
    // The cancel races the kitchen and the couriers; delivery first is a legitimate outcome.
    case 'cancelBeforeDispatch':
      return ['CANCELLED', 'DELIVERED'];
    case 'unknownProduct':
    case 'unknownSlot':
    case 'unknownZone':
      return ['REJECTED'];
    case 'invalidBody':
      return ['refused'];
    default: {
      const unreachable: never = fate;
      return unreachable;
    }
  }
}

/** Statuses after which the simulator stops following an order (주문보류 waits for a person). */
export const finalStatuses: readonly StorefrontStatus[] = ['DELIVERED', 'CANCELLED', 'FAILED', 'REJECTED'];
export const isFinal = (status: string): boolean => (finalStatuses as readonly string[]).includes(status);

/** What the simulator knows of the platform's catalogue, from the adapter's map. */
export interface Catalogue {
  /** Products ordinary orders choose from. */
  readonly products: readonly string[];
  /** The product whose SKU is kept scarce for shortages, with units of that SKU per product unit. */
  readonly shortage: {
    readonly productCode: string;
    readonly sku: string;
    readonly unitsPerProduct: number;
  } | null;
  /** SKUs kept stocked so that ordinary orders never wait. */
  readonly stockedSkus: readonly string[];
  /** Slots both the storefront and the adapter know. */
  readonly slots: readonly string[];
  /** A slot the storefront sells and the adapter's map lacks, if any (the storefront's EVENING). */
  readonly unknownSlot: string | null;
  /** Postal-code prefixes that map to a zone. */
  readonly zonePrefixes: readonly string[];
  /** A postal code no zone covers. */
  readonly unknownPostalCode: string | null;
  /** A well-formed product code the map does not know. */
  readonly unknownProduct: string;
}

/** The longest zone prefix covering a postal code, as the adapter reads its map. */
const zoneOf = (zones: Readonly<Record<string, string>>, postalCode: string): string | undefined =>
  Object.keys(zones)
    .filter((prefix) => postalCode.startsWith(prefix))
    .sort((a, b) => b.length - a.length)
    .map((prefix) => zones[prefix])[0];

/** The parts of the adapter's map the simulator reads. */
export type MapView = Pick<Mapping, 'skus' | 'products' | 'slots' | 'zones'>;

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Reads `GET /adapters/order-scm/mapping`, or says what is wrong with it. */
export function mapViewOf(body: unknown): MapView | { readonly problem: string } {
  if (!isRecord(body)) return { problem: 'the mapping is not an object' };
  const { skus, products, slots, zones } = body;
  if (!isRecord(skus) || !isRecord(products) || !isRecord(slots) || !isRecord(zones))
    return { problem: 'the mapping lacks skus, products, slots or zones' };
  const parsedProducts: Record<string, { sku: string; quantity: number }[]> = {};
  for (const [code, components] of Object.entries(products)) {
    if (!Array.isArray(components)) return { problem: `product ${code} has no components` };
    parsedProducts[code] = components.map((component: unknown) =>
      isRecord(component)
        ? { sku: String(component.sku), quantity: Number(component.quantity) }
        : { sku: '', quantity: 0 },
    );
  }
  const names = (table: Record<string, unknown>): Record<string, string> =>
    Object.fromEntries(Object.entries(table).map(([key, value]) => [key, String(value)]));
  return {
    skus: Object.fromEntries(
      Object.entries(skus).map(([sku, definition]) => [
        sku,
        {
          name: isRecord(definition) ? String(definition.name) : sku,
          cookedToOrder: isRecord(definition) && definition.cookedToOrder === true,
        },
      ]),
    ),
    products: parsedProducts,
    slots: Object.fromEntries(
      Object.entries(slots).map(([slot, window]) => [
        slot,
        {
          startMinute: isRecord(window) ? Number(window.startMinute) : 0,
          durationMinutes: isRecord(window) ? Number(window.durationMinutes) : 0,
        },
      ]),
    ),
    zones: names(zones),
  };
}

export function catalogueOf(mapping: MapView): Catalogue {
  // The scarce SKU is the one a single product takes the most of (24 soy milks a box): a few
  // orders of it exhaust any stock, and no other product draws on it.
  const single = Object.entries(mapping.products).flatMap(([productCode, components]) =>
    components.length === 1 && components[0] ? [{ productCode, ...components[0] }] : [],
  );
  const scarce = single
    .filter(
      (candidate) =>
        Object.entries(mapping.products).filter(([, components]) =>
          components.some((component) => component.sku === candidate.sku),
        ).length === 1,
    )
    .sort((a, b) => b.quantity - a.quantity || a.productCode.localeCompare(b.productCode))[0];
  const shortage =
    scarce && scarce.quantity > 1
      ? { productCode: scarce.productCode, sku: scarce.sku, unitsPerProduct: scarce.quantity }
      : null;
  const products = Object.keys(mapping.products)
    .filter((code) => code !== shortage?.productCode)
    .sort();
  const unknownPostalCode =
    Array.from({ length: 100 }, (_, i) => `${String(99 - i).padStart(2, '0')}999`).find(
      (code) => zoneOf(mapping.zones, code) === undefined,
    ) ?? null;
  let unknownProduct = 'PRD-PIZZA';
  for (let i = 2; Object.hasOwn(mapping.products, unknownProduct); i += 1) unknownProduct = `PRD-PIZZA-${i}`;
  return {
    products,
    shortage,
    stockedSkus: Object.keys(mapping.skus)
      .filter((sku) => sku !== shortage?.sku)
      .sort(),
    slots: slotCodes.filter((slot) => Object.hasOwn(mapping.slots, slot)),
    unknownSlot: slotCodes.find((slot) => !Object.hasOwn(mapping.slots, slot)) ?? null,
    zonePrefixes: Object.keys(mapping.zones).sort(),
    unknownPostalCode,
    unknownProduct,
  };
}

export interface PlannedLine {
  readonly productCode: string;
  readonly quantity: number;
  readonly unitPrice: number;
}

export interface Address {
  readonly recipientName: string;
  readonly phone: string;
  readonly postalCode: string;
  readonly roadAddress: string;
  readonly detailAddress?: string;
}

/** Everything random about one order, drawn in order from the seeded source. */
export interface OrderPlan {
  readonly n: number;
  readonly fate: Fate;
  /** Index into the storefronts: round-robin, so v1 and v2 producers share the traffic evenly. */
  readonly storefront: number;
  /** The POST /orders body; for `invalidBody` deliberately wrong. */
  readonly body: Record<string, unknown>;
  /** Set when the order changes its address before dispatch, with the new one. */
  readonly newAddress: Address | null;
  readonly review: { readonly rating: number; readonly comment: string } | null;
  readonly couponCode: string | null;
  /** Delay after placing before a cancel or an address change (a customer's second thoughts). */
  readonly afterthoughtMs: number;
  /** Delay between seeing 입고대기 and the goods arriving. */
  readonly receiptDelayMs: number;
}

const people = [
  ['김민지', '010-1234-5678'],
  ['이서준', '010-9876-5432'],
  ['박지후', '010-5555-0101'],
  ['최유나', '010-2468-1357'],
  ['정하준', '02-555-0199'],
] as const;
const roads = [
  '서울특별시 강남구 테헤란로 123',
  '경기도 성남시 분당구 판교역로 235',
  '서울특별시 종로구 세종대로 175',
  '인천광역시 연수구 컨벤시아대로 165',
  '서울특별시 마포구 월드컵북로 396',
];
const memos = ['문 앞에 놓아주세요', '경비실에 맡겨주세요', '도착 전에 연락주세요'];
const reviewComments = ['맛있어요', '배송이 빨라요', '포장이 꼼꼼해요', '조금 식었어요'];

function addressIn(random: Random, postalCode: string): Address {
  const [recipientName, phone] = pick(random, people);
  return {
    recipientName,
    phone,
    postalCode,
    roadAddress: pick(random, roads),
    detailAddress: `${between(random, 1, 20)}층`,
  };
}

const postalCodeIn = (random: Random, prefix: string): string =>
  (prefix + String(between(random, 0, 99_999)).padStart(5, '0')).slice(0, 5);

function fateOf(random: Random, mix: TrafficMix, catalogue: Catalogue): Fate {
  const draw = random();
  const kind = random();
  const shares: [Fate | 'bad', number][] = [
    ['bad', mix.badOrder],
    ['shortage', catalogue.shortage ? mix.shortage : 0],
    ['cancelBeforeDispatch', mix.cancelBeforeDispatch],
    ['cancelAfterDispatch', mix.cancelAfterDispatch],
  ];
  let floor = 0;
  for (const [fate, share] of shares) {
    floor += share;
    if (draw >= floor) continue;
    if (fate !== 'bad') return fate;
    const possible = badFates.filter(
      (bad) =>
        (bad !== 'unknownSlot' || catalogue.unknownSlot !== null) &&
        (bad !== 'unknownZone' || catalogue.unknownPostalCode !== null),
    );
    return possible[Math.floor(kind * possible.length)] ?? 'unknownProduct';
  }
  return 'deliver';
}

/**
 * Plans order `n`. The draws happen in a fixed order whatever the fate, so order n's plan depends
 * only on the seed, n and the catalogue — not on timing, and not on which fates came before.
 */
export function planOrder(
  random: Random,
  n: number,
  options: { mix: TrafficMix; catalogue: Catalogue; storefronts: number; deliveryDate: string },
): OrderPlan {
  const { mix, catalogue } = options;
  const fate = fateOf(random, mix, catalogue);
  const lineCount = between(random, 1, 3);
  const lines: PlannedLine[] = Array.from({ length: lineCount }, () => ({
    productCode: pick(random, catalogue.products),
    quantity: between(random, 1, 2),
    unitPrice: 1000 * between(random, 5, 19),
  }));
  const slot = pick(random, catalogue.slots);
  const address = addressIn(random, postalCodeIn(random, pick(random, catalogue.zonePrefixes)));
  const newAddress = addressIn(random, postalCodeIn(random, pick(random, catalogue.zonePrefixes)));
  const wantsNewAddress = random() < mix.addressChange;
  const wantsCoupon = random() < mix.coupon;
  const couponCode = pick(random, Object.keys(coupons).sort());
  const wantsReview = random() < mix.review;
  const review = { rating: between(random, 1, 5), comment: pick(random, reviewComments) };
  const afterthoughtMs = between(random, 50, 400);
  const receiptDelayMs = between(random, 300, 1500);
  const customerId = `SIM-${between(random, 1, 500)}`;
  const memo = pick(random, memos);
  const payment = pick(random, ['CARD', 'KAKAOPAY', 'NAVERPAY', 'BANK_TRANSFER']);
  const channel = pick(random, ['APP', 'WEB']);
  const invalidKind = random();

  const good = ['deliver', 'shortage', 'cancelAfterDispatch'].includes(fate);
  const body: Record<string, unknown> = {
    customerId,
    lines:
      fate === 'shortage' && catalogue.shortage
        ? // The quantity is set when placing, from the stock on hand then.
          [{ productCode: catalogue.shortage.productCode, quantity: 1, unitPrice: 18_000 }]
        : fate === 'unknownProduct'
          ? [...lines.slice(1), { productCode: catalogue.unknownProduct, quantity: 1, unitPrice: 23_000 }]
          : lines,
    deliveryAddress:
      fate === 'unknownZone' && catalogue.unknownPostalCode
        ? { ...address, postalCode: catalogue.unknownPostalCode }
        : address,
    delivery: {
      date: options.deliveryDate,
      slot: fate === 'unknownSlot' && catalogue.unknownSlot ? catalogue.unknownSlot : slot,
    },
    deliveryMemo: memo,
    payment: { method: payment },
    salesChannel: channel,
    ...(wantsCoupon && !isBadFate(fate) ? { couponCode } : {}),
  };
  if (fate === 'invalidBody') {
    // Mistakes a buggy client makes: each is a 400 naming the field.
    if (invalidKind < 1 / 3) body.lines = [{ ...lines[0], quantity: 0 }];
    else if (invalidKind < 2 / 3) body.deliveryAddress = { ...address, phone: 'call me' };
    else delete body.payment;
  }
  return {
    n,
    fate,
    storefront: n % Math.max(1, options.storefronts),
    body,
    newAddress: wantsNewAddress && good ? newAddress : null,
    review: wantsReview && !isBadFate(fate) ? review : null,
    couponCode: wantsCoupon && !isBadFate(fate) ? couponCode : null,
    afterthoughtMs,
    receiptDelayMs,
  };
}

/** Units of the scarce product to order so that it needs more than `available` of its SKU. */
export const shortageQuantity = (available: number, unitsPerProduct: number): number =>
  Math.min(999, Math.floor(Math.max(0, available) / unitsPerProduct) + 1);

/** A receipt that brings `available` up to `target` (nothing when it is there already). */
export const topUpQuantity = (available: number, floor: number, target: number): number =>
  available >= floor ? 0 : target - Math.max(0, available);

/** How much stock to keep per SKU: enough for a top-up interval of traffic several times over. */
export const stockFloorFor = (ratePerSec: number, topUpEveryMs: number): number =>
  Math.max(50, Math.ceil(((ratePerSec * topUpEveryMs) / 1000) * 12));

/** The KST date `daysAhead` after `now`, as the storefront wants it (`YYYY-MM-DD`). */
export const kstDate = (now: number, daysAhead = 1): string =>
  new Date(now + 9 * 3_600_000 + daysAhead * 86_400_000).toISOString().slice(0, 10);

export interface Percentiles {
  readonly count: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
}

/** Nearest-rank percentiles; null for no samples. */
export function percentiles(samples: readonly number[]): Percentiles | null {
  if (samples.length === 0) return null;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = (p: number): number => sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
  return { count: sorted.length, p50: rank(50), p90: rank(90), p99: rank(99), max: rank(100) };
}

/** The sum of every series of one metric in Prometheus text exposition format. */
export function sumMetric(text: string, name: string): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (rest[0] !== '{' && rest[0] !== ' ') continue;
    const value = Number(
      rest
        .slice(rest.lastIndexOf('}') + 1)
        .trim()
        .split(/\s+/)[0],
    );
    if (Number.isFinite(value)) sum += value;
  }
  return sum;
}

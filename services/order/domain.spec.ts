import type { OrderStatus } from '@contracts/generated';
import { evolveAll, type Decision } from '@runtime/decider';
import {
  isForward,
  couponDiscount,
  orderDecider,
  slotWindow,
  type Order,
  type OrderFact,
  type OrderInput,
  type PlaceOrder,
  type StorefrontStatus,
} from './domain';

const now = new Date('2025-01-01T03:00:00.000Z');
const address = {
  recipientName: '김민지',
  phone: '010-1234-5678',
  postalCode: '06236',
  roadAddress: '서울특별시 강남구 테헤란로 123',
  detailAddress: '5층',
};
const placeOrder: PlaceOrder = {
  orderId: 'ORD-20250101-000001',
  customerId: 'CUST-1',
  lines: [
    { productCode: 'PRD-BIBIMBAP', productName: '돌솥비빔밥', quantity: 2, unitPrice: 9500 },
    { productCode: 'PRD-KIMCHI', productName: '포기김치', quantity: 1, unitPrice: 12000.5 },
  ],
  couponCode: null,
  deliveryAddress: address,
  delivery: { date: '2025-01-02', slot: 'DAWN', ...slotWindow('2025-01-02', 'DAWN') },
  deliveryMemo: '문 앞에 놓아주세요',
  salesChannel: 'APP',
  payment: { method: 'CARD' },
};

function given(...inputs: OrderInput[]): Order | undefined {
  return inputs.reduce<Order | undefined>((state, input) => {
    const decision = orderDecider.decide(input, state, now);
    if (decision.kind === 'refused') throw new Error(decision.reason);
    return evolveAll(orderDecider, state, decision.facts);
  }, undefined);
}

const place = (eventVersion: 1 | 2 = 2, order: Partial<PlaceOrder> = {}): OrderInput => ({
  kind: 'Place',
  order: { ...placeOrder, ...order },
  eventVersion,
});
const status = (next: OrderStatus, reason: string | null = null): OrderInput => ({
  kind: 'ApplyStatus',
  status: next,
  reason,
});
const cancel: OrderInput = { kind: 'Cancel', reason: 'CUSTOMER_REQUEST', comment: '마음이 바뀌었어요' };

function published(decision: Decision<OrderFact>, state: Order | undefined) {
  if (decision.kind === 'refused') throw new Error(decision.reason);
  const after = evolveAll(orderDecider, state, decision.facts);
  if (after === undefined) return [];
  return decision.facts.flatMap((fact) => orderDecider.publish(fact, after));
}

describe('slotWindow: storefront slots are KST windows of the delivery date', () => {
  it.each([
    ['DAWN', '2025-01-01T15:00:00.000Z', '2025-01-01T22:00:00.000Z'],
    ['DAY', '2025-01-02T01:00:00.000Z', '2025-01-02T09:00:00.000Z'],
    ['EVENING', '2025-01-02T09:00:00.000Z', '2025-01-02T13:00:00.000Z'],
  ] as const)('%s on 2025-01-02 is %s to %s', (slot, startsAt, endsAt) => {
    expect(slotWindow('2025-01-02', slot)).toEqual({ startsAt, endsAt });
  });
});

describe('placing an order', () => {
  it('v2: publishes OrderPlaced v2 with memo and channel, totals in KRW', () => {
    const decision = orderDecider.decide(place(2), undefined, now);
    expect(published(decision, undefined)).toEqual([
      {
        type: 'OrderPlaced',
        version: 2,
        data: {
          orderId: 'ORD-20250101-000001',
          customerId: 'CUST-1',
          lines: [
            {
              productCode: 'PRD-BIBIMBAP',
              productName: '돌솥비빔밥',
              quantity: 2,
              unitPrice: { amount: '9500.00', currency: 'KRW' },
            },
            {
              productCode: 'PRD-KIMCHI',
              productName: '포기김치',
              quantity: 1,
              unitPrice: { amount: '12000.50', currency: 'KRW' },
            },
          ],
          totalAmount: { amount: '31000.50', currency: 'KRW' },
          deliveryAddress: address,
          deliverySlot: {
            startsAt: new Date('2025-01-01T15:00:00.000Z'),
            endsAt: new Date('2025-01-01T22:00:00.000Z'),
          },
          deliveryMemo: '문 앞에 놓아주세요',
          salesChannel: 'APP',
        },
      },
    ]);
  });

  it('v1: publishes OrderPlaced v1, which has no memo or channel', () => {
    const [event] = published(orderDecider.decide(place(1), undefined, now), undefined);
    expect(event).toMatchObject({ type: 'OrderPlaced', version: 1 });
    expect(event?.data).not.toHaveProperty('deliveryMemo');
    expect(event?.data).not.toHaveProperty('salesChannel');
  });

  it('with a coupon: the total is discounted and CouponRedeemed is published too', () => {
    const events = published(
      orderDecider.decide(place(2, { couponCode: 'WELCOME3000' }), undefined, now),
      undefined,
    );
    expect(events.map((event) => event.type)).toEqual(['OrderPlaced', 'CouponRedeemed']);
    expect(events[0]?.data).toMatchObject({ totalAmount: { amount: '28000.50', currency: 'KRW' } });
    expect(events[1]).toEqual({
      type: 'CouponRedeemed',
      version: 1,
      data: {
        orderId: 'ORD-20250101-000001',
        customerId: 'CUST-1',
        couponCode: 'WELCOME3000',
        discount: { amount: '3000.00', currency: 'KRW' },
      },
    });
  });

  it('a coupon named like a property every object has is no coupon: no discount, a number total', () => {
    for (const code of ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf']) {
      expect(couponDiscount(code)).toBeUndefined();
      const [event] = published(
        orderDecider.decide(place(2, { couponCode: code }), undefined, now),
        undefined,
      );
      expect(event?.data).toMatchObject({ totalAmount: { amount: '31000.50', currency: 'KRW' } });
    }
    expect(couponDiscount('WELCOME3000')).toBe(3000);
  });

  it('starts as 주문완료 (PLACED); placing the same order again changes nothing', () => {
    const order = given(place());
    expect(order).toMatchObject({ status: 'PLACED', history: [{ status: 'PLACED', at: now.toISOString() }] });
    expect(orderDecider.decide(place(), order, now)).toEqual({ kind: 'accepted', facts: [] });
  });
});

describe('cancelling', () => {
  it.each<StorefrontStatus>([
    'PLACED',
    'REJECTED',
    'WAITING_FOR_STOCK',
    'RECEIVED',
    'COOKING',
    'PICKED',
    'PACKED',
  ])(
    'before shipping (%s): publishes OrderCancelled; 취소 follows when SCM released the stock',
    (current) => {
      const order = current === 'PLACED' ? given(place()) : given(place(), status(current));
      const decision = orderDecider.decide(cancel, order, now);
      expect(published(decision, order)).toEqual([
        {
          type: 'OrderCancelled',
          version: 1,
          data: { orderId: 'ORD-20250101-000001', reason: 'CUSTOMER_REQUEST', comment: '마음이 바뀌었어요' },
        },
      ]);
      expect(evolveAll(orderDecider, order, decision.kind === 'accepted' ? decision.facts : [])?.status).toBe(
        current,
      );
    },
  );

  it('after dispatch (배송중): refused with a reason the customer reads', () => {
    const order = given(place(), status('SHIPPING'));
    expect(orderDecider.decide(cancel, order, now)).toEqual({
      kind: 'refused',
      code: 'CONFLICT',
      reason: '이미 배송이 시작되어 취소할 수 없습니다 (the order has left with the courier)',
    });
  });

  it.each<OrderStatus>(['DELIVERED', 'CANCELLED', 'FAILED'])('once %s: refused', (terminal) => {
    const decision = orderDecider.decide(cancel, given(place(), status(terminal)), now);
    expect(decision).toMatchObject({ kind: 'refused', code: 'CONFLICT' });
  });

  it('twice: the second request changes nothing', () => {
    expect(orderDecider.decide(cancel, given(place(), cancel), now)).toEqual({ kind: 'accepted', facts: [] });
  });

  it('an unknown order: NOT_FOUND', () => {
    expect(orderDecider.decide(cancel, undefined, now)).toMatchObject({ kind: 'refused', code: 'NOT_FOUND' });
  });
});

describe('changing the delivery address', () => {
  const newAddress = { ...address, postalCode: '13487', roadAddress: '경기도 성남시 분당구 판교역로 235' };
  const change: OrderInput = { kind: 'ChangeAddress', address: newAddress };

  it('before shipping: publishes DeliveryAddressChanged and keeps the new address', () => {
    const order = given(place(), status('PACKED'));
    const decision = orderDecider.decide(change, order, now);
    expect(published(decision, order)).toEqual([
      {
        type: 'DeliveryAddressChanged',
        version: 1,
        data: { orderId: 'ORD-20250101-000001', deliveryAddress: newAddress },
      },
    ]);
  });

  it('after dispatch: refused', () => {
    expect(orderDecider.decide(change, given(place(), status('SHIPPING')), now)).toMatchObject({
      kind: 'refused',
      code: 'CONFLICT',
      reason: '이미 배송이 시작되어 주소를 바꿀 수 없습니다 (the order has left with the courier)',
    });
  });

  it('while a cancellation is pending: refused', () => {
    expect(orderDecider.decide(change, given(place(), cancel), now)).toMatchObject({ kind: 'refused' });
  });

  it('to the same address: nothing happens', () => {
    const same: OrderInput = { kind: 'ChangeAddress', address };
    expect(orderDecider.decide(same, given(place()), now)).toEqual({ kind: 'accepted', facts: [] });
  });
});

describe('reviews (storefront-only events)', () => {
  const review: OrderInput = { kind: 'Review', rating: 5, comment: '맛있어요' };

  it('after delivery: publishes OrderReviewed', () => {
    const order = given(place(), status('DELIVERED'));
    expect(published(orderDecider.decide(review, order, now), order)).toEqual([
      {
        type: 'OrderReviewed',
        version: 1,
        data: { orderId: 'ORD-20250101-000001', customerId: 'CUST-1', rating: 5, comment: '맛있어요' },
      },
    ]);
  });

  it('before delivery: refused', () => {
    expect(orderDecider.decide(review, given(place(), status('COOKING')), now)).toMatchObject({
      kind: 'refused',
      code: 'CONFLICT',
    });
  });
});

describe('status updates apply monotonically', () => {
  const journey: readonly StorefrontStatus[] = [
    'PLACED',
    'REJECTED',
    'WAITING_FOR_STOCK',
    'RECEIVED',
    'COOKING',
    'PICKED',
    'PACKED',
    'SHIPPING',
  ];
  const terminals = ['DELIVERED', 'CANCELLED', 'FAILED'] as const;

  it('each later stage applies over an earlier one, including skipped stages', () => {
    for (const [i, current] of journey.entries()) {
      for (const next of journey.slice(i + 1)) {
        if (next === 'PLACED') continue;
        expect([current, next, isForward(current, next)]).toEqual([current, next, true]);
      }
    }
  });

  it('a late or duplicate stage never moves an order backwards', () => {
    for (const [i, current] of journey.entries()) {
      for (const next of journey.slice(1, i + 1)) {
        if (next === 'PLACED') continue;
        expect([current, next, isForward(current, next)]).toEqual([current, next, false]);
      }
    }
  });

  it('a terminal status applies from every stage, and the first terminal status wins', () => {
    for (const current of journey)
      for (const next of terminals)
        expect([current, next, isForward(current, next)]).toEqual([current, next, true]);
    for (const current of terminals)
      for (const next of [...journey.slice(1), ...terminals])
        if (next !== 'PLACED')
          expect([current, next, isForward(current, next)]).toEqual([current, next, false]);
  });

  it('UNKNOWN (a status newer than this reader) never applies', () => {
    expect(isForward('PLACED', 'UNKNOWN')).toBe(false);
  });

  it('given a reordered, duplicated stream of updates, the order ends on the furthest status', () => {
    const arrivals: OrderStatus[] = [
      'COOKING',
      'RECEIVED',
      'PICKED',
      'COOKING',
      'PICKED',
      'SHIPPING',
      'PACKED',
    ];
    const order = given(place(), ...arrivals.map((next) => status(next)));
    expect(order?.status).toBe('SHIPPING');
    expect(order?.history.map((entry) => entry.status)).toEqual(['PLACED', 'COOKING', 'PICKED', 'SHIPPING']);
  });

  it('a shortage (입고대기) resolves into 주문접수 when stock arrives', () => {
    const order = given(place(), status('WAITING_FOR_STOCK', '재고 부족'), status('RECEIVED'));
    expect(order).toMatchObject({ status: 'RECEIVED', statusReason: null });
  });

  it('status updates publish nothing (the storefront does not echo SCM)', () => {
    const order = given(place());
    expect(published(orderDecider.decide(status('COOKING'), order, now), order)).toEqual([]);
  });
});

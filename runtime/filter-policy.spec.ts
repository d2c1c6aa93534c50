import type { IHeaders } from 'kafkajs';
import { PlatformError } from './errors';
import {
  assertFilterPolicy,
  compilePolicy,
  describePolicy,
  matches,
  type FilterPolicy,
} from './filter-policy';

describe('matches', () => {
  const bytes = (text: string): Buffer => Buffer.from(text, 'utf8');

  it.each<[string, FilterPolicy, IHeaders | undefined, boolean]>([
    // exact
    ['exact: equal string', { eventType: ['OrderPlaced'] }, { eventType: 'OrderPlaced' }, true],
    ['exact: header as bytes', { eventType: ['OrderPlaced'] }, { eventType: bytes('OrderPlaced') }, true],
    ['exact: is case-sensitive', { eventType: ['OrderPlaced'] }, { eventType: 'orderplaced' }, false],
    ['exact: other value', { eventType: ['OrderPlaced'] }, { eventType: 'ReviewPosted' }, false],
    ['exact: absent header', { eventType: ['OrderPlaced'] }, {}, false],
    ['exact: no headers at all', { eventType: ['OrderPlaced'] }, undefined, false],
    [
      'exact: header names are case-sensitive',
      { eventType: ['OrderPlaced'] },
      { EventType: 'OrderPlaced' },
      false,
    ],
    [
      'OR within a header: second condition',
      { eventType: ['OrderPlaced', 'OrderCancelled'] },
      { eventType: 'OrderCancelled' },
      true,
    ],
    [
      'OR across condition kinds',
      { eventType: ['OrderPlaced', { prefix: 'Stock' }] },
      { eventType: 'StockReserved' },
      true,
    ],
    // anything-but
    ['anything-but: other value', { channel: [{ anythingBut: ['test', 'load'] }] }, { channel: 'web' }, true],
    [
      'anything-but: excluded value',
      { channel: [{ anythingBut: ['test', 'load'] }] },
      { channel: 'load' },
      false,
    ],
    ['anything-but: single string form', { channel: [{ anythingBut: 'test' }] }, { channel: 'test' }, false],
    ['anything-but: absent header does NOT match (SNS)', { channel: [{ anythingBut: ['test'] }] }, {}, false],
    ['anything-but: empty value is a value', { channel: [{ anythingBut: ['test'] }] }, { channel: '' }, true],
    // prefix
    ['prefix: matching', { source: [{ prefix: 'order.' }] }, { source: 'order.storefront' }, true],
    ['prefix: the prefix itself', { source: [{ prefix: 'order.' }] }, { source: 'order.' }, true],
    ['prefix: not matching', { source: [{ prefix: 'order.' }] }, { source: 'scm.inventory' }, false],
    ['prefix: absent header', { source: [{ prefix: 'order.' }] }, {}, false],
    // numeric
    ['numeric =: equal', { priority: [{ numeric: ['=', 3] }] }, { priority: '3' }, true],
    [
      'numeric =: other notation of the same number',
      { priority: [{ numeric: ['=', 3] }] },
      { priority: '3.0' },
      true,
    ],
    ['numeric >: at the bound', { priority: [{ numeric: ['>', 3] }] }, { priority: '3' }, false],
    ['numeric >=: at the bound', { priority: [{ numeric: ['>=', 3] }] }, { priority: '3' }, true],
    ['numeric <: negative value', { priority: [{ numeric: ['<', 0] }] }, { priority: '-1.5' }, true],
    ['numeric <=: exponent notation', { priority: [{ numeric: ['<=', 1000] }] }, { priority: '1e3' }, true],
    ['numeric range: inside', { amount: [{ numeric: ['>=', 10, '<', 20] }] }, { amount: '15' }, true],
    [
      'numeric range: at the inclusive lower bound',
      { amount: [{ numeric: ['>=', 10, '<', 20] }] },
      { amount: '10' },
      true,
    ],
    [
      'numeric range: at the exclusive upper bound',
      { amount: [{ numeric: ['>=', 10, '<', 20] }] },
      { amount: '20' },
      false,
    ],
    [
      'numeric range: at the exclusive lower bound',
      { amount: [{ numeric: ['>', 10, '<=', 20] }] },
      { amount: '10' },
      false,
    ],
    [
      'numeric range: at the inclusive upper bound',
      { amount: [{ numeric: ['>', 10, '<=', 20] }] },
      { amount: '20' },
      true,
    ],
    ['numeric range: below', { amount: [{ numeric: ['>=', 10, '<', 20] }] }, { amount: '9.99' }, false],
    ['numeric: non-numeric header', { amount: [{ numeric: ['>=', 0] }] }, { amount: 'ten' }, false],
    ['numeric: empty header', { amount: [{ numeric: ['<=', 0] }] }, { amount: '' }, false],
    [
      'numeric: padded number is not a number',
      { amount: [{ numeric: ['>=', 0] }] },
      { amount: ' 5 ' },
      false,
    ],
    ['numeric: hex is not a decimal', { amount: [{ numeric: ['>=', 0] }] }, { amount: '0x10' }, false],
    [
      'numeric: Infinity is not a number',
      { amount: [{ numeric: ['>=', 0] }] },
      { amount: 'Infinity' },
      false,
    ],
    ['numeric: absent header', { amount: [{ numeric: ['>=', 0] }] }, {}, false],
    // exists
    ['exists true: present', { traceId: [{ exists: true }] }, { traceId: 'abc' }, true],
    ['exists true: present but empty', { traceId: [{ exists: true }] }, { traceId: '' }, true],
    ['exists true: absent', { traceId: [{ exists: true }] }, {}, false],
    ['exists true: explicitly undefined', { traceId: [{ exists: true }] }, { traceId: undefined }, false],
    ['exists false: absent', { replay: [{ exists: false }] }, {}, true],
    ['exists false: no headers at all', { replay: [{ exists: false }] }, undefined, true],
    ['exists false: present', { replay: [{ exists: false }] }, { replay: 'true' }, false],
    ['exists false OR exact value', { replay: [{ exists: false }, 'no'] }, { replay: 'no' }, true],
    // multi-valued headers (a key repeated in the record)
    ['multi: exact matches any value', { tag: ['b'] }, { tag: ['a', bytes('b')] }, true],
    ['multi: exact matches no value', { tag: ['c'] }, { tag: ['a', 'b'] }, false],
    [
      'multi: anything-but when one value is not excluded',
      { tag: [{ anythingBut: ['a'] }] },
      { tag: ['a', 'b'] },
      true,
    ],
    [
      'multi: anything-but when every value is excluded',
      { tag: [{ anythingBut: ['a', 'b'] }] },
      { tag: ['a', 'b'] },
      false,
    ],
    [
      'multi: numeric when one value is in range',
      { n: [{ numeric: ['>', 5] }] },
      { n: ['x', '2', '7'] },
      true,
    ],
    ['multi: empty list is absent', { tag: [{ exists: false }] }, { tag: [] }, true],
    // AND across headers
    [
      'AND: every header matches',
      { eventType: ['OrderPlaced'], channel: [{ anythingBut: ['test'] }], replay: [{ exists: false }] },
      { eventType: 'OrderPlaced', channel: 'web', other: 'ignored' },
      true,
    ],
    [
      'AND: one header fails',
      { eventType: ['OrderPlaced'], channel: [{ anythingBut: ['test'] }] },
      { eventType: 'OrderPlaced', channel: 'test' },
      false,
    ],
    ['empty policy matches everything', {}, { anything: 'x' }, true],
    ['empty policy matches a record without headers', {}, undefined, true],
    [
      'a header named like an Object member is read as a header',
      { constructor: [{ exists: true }] },
      {},
      false,
    ],
  ])('%s', (_case, policy, headers, expected) => {
    expect(matches(policy, headers)).toBe(expected);
  });
});

describe('compilePolicy', () => {
  it('returns a reusable predicate', () => {
    const isOrderEvent = compilePolicy({ eventType: [{ prefix: 'Order' }] });
    expect(isOrderEvent({ eventType: 'OrderPlaced' })).toBe(true);
    expect(isOrderEvent({ eventType: 'CouponIssued' })).toBe(false);
    expect(isOrderEvent({ eventType: 'OrderCancelled' })).toBe(true);
  });

  // Policies can come from configuration files, so the checks must hold for untyped input too.
  const fromJson = (json: string): unknown => JSON.parse(json);

  it.each<[string, unknown, string]>([
    ['a list instead of an object', fromJson('[]'), 'a filter policy must be an object'],
    [
      'no conditions for a header',
      { eventType: [] },
      'header "eventType": expected a non-empty list of conditions',
    ],
    [
      'conditions not in a list',
      fromJson('{"eventType":"OrderPlaced"}'),
      'header "eventType": expected a non-empty list',
    ],
    [
      'a number as a condition',
      fromJson('{"n":[5]}'),
      'header "n", condition 1: expected a string or an object',
    ],
    [
      'null as a condition',
      fromJson('{"n":["a",null]}'),
      'header "n", condition 2: expected a string or an object',
    ],
    [
      'an unknown condition',
      fromJson('{"s":[{"suffix":"x"}]}'),
      'header "s", condition 1: unknown condition "suffix"',
    ],
    [
      'two kinds in one condition',
      fromJson('{"s":[{"prefix":"a","exists":true}]}'),
      'expected exactly one of',
    ],
    ['an empty condition object', fromJson('{"s":[{}]}'), 'expected exactly one of'],
    [
      'anything-but with an empty list',
      { s: [{ anythingBut: [] }] },
      'anythingBut takes a string or a non-empty list',
    ],
    ['anything-but with a number', fromJson('{"s":[{"anythingBut":[1]}]}'), 'anythingBut takes a string'],
    ['an empty prefix', { s: [{ prefix: '' }] }, 'prefix takes a non-empty string'],
    ['exists with a string', fromJson('{"s":[{"exists":"yes"}]}'), 'exists takes true or false'],
    ['numeric not a list', fromJson('{"n":[{"numeric":5}]}'), 'numeric takes'],
    ['numeric with an unknown operator', fromJson('{"n":[{"numeric":["!=",5]}]}'), 'numeric takes'],
    ['numeric with a string bound', fromJson('{"n":[{"numeric":[">","5"]}]}'), 'numeric takes'],
    ['numeric with an infinite bound', { n: [{ numeric: ['>', Infinity] }] }, 'numbers must be finite'],
    ['numeric range upper bound first', fromJson('{"n":[{"numeric":["<",5,">",1]}]}'), 'numeric takes'],
    ['numeric range with =', fromJson('{"n":[{"numeric":["=",1,"<",5]}]}'), 'numeric takes'],
    [
      'numeric range that is empty',
      { n: [{ numeric: ['>=', 5, '<', 5] }] },
      'lower bound below its upper bound',
    ],
    ['numeric with three elements', fromJson('{"n":[{"numeric":[">",1,"<"]}]}'), 'numeric takes'],
  ])('rejects %s', (_case, policy, message) => {
    let thrown: unknown;
    try {
      assertFilterPolicy(policy);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(PlatformError);
    expect(thrown).toMatchObject({ code: 'INVALID_FILTER_POLICY', category: 'permanent' });
    expect(thrown).toHaveProperty('message', expect.stringContaining(message));
  });
});

describe('assertFilterPolicy', () => {
  it('accepts a valid policy read from JSON and narrows its type', () => {
    const policy: unknown = JSON.parse(
      '{"eventType":["OrderPlaced",{"prefix":"Stock"}],"n":[{"numeric":[">",1,"<=",2]}]}',
    );
    assertFilterPolicy(policy);
    expect(describePolicy(policy)).toBe('eventType: "OrderPlaced" | prefix "Stock"; n: > 1 <= 2');
  });
});

describe('describePolicy', () => {
  it('renders every kind of condition on one line', () => {
    expect(
      describePolicy({
        eventType: ['OrderPlaced', 'OrderCancelled'],
        channel: [{ anythingBut: 'test' }],
        source: [{ prefix: 'order.' }],
        amount: [{ numeric: ['>=', 10, '<', 20] }],
        traceId: [{ exists: true }],
        replay: [{ exists: false }],
      }),
    ).toBe(
      'eventType: "OrderPlaced" | "OrderCancelled"; channel: anything-but ["test"]; source: prefix "order."; ' +
        'amount: >= 10 < 20; traceId: exists; replay: absent',
    );
  });

  it('says when a policy lets everything through', () => {
    expect(describePolicy({})).toBe('(every record)');
  });
});

import { evolveAll } from '@runtime/decider';
import { leaseDecider, type Lease, type LeaseInput } from './attempts';

const at = (iso: string): Date => new Date(iso);
const begin = (attemptId: string): LeaseInput => ({ kind: 'Begin', attemptId, ttlMs: 30_000 });

function given(...steps: [LeaseInput, string][]): Lease | undefined {
  return steps.reduce<Lease | undefined>((lease, [input, time]) => {
    const decision = leaseDecider.decide(input, lease, at(time));
    return decision.kind === 'accepted' ? evolveAll(leaseDecider, lease, decision.facts) : lease;
  }, undefined);
}

describe('the attempt lease', () => {
  it('is granted when free', () => {
    expect(leaseDecider.decide(begin('a'), undefined, at('2025-01-01T00:00:00Z'))).toEqual({
      kind: 'accepted',
      facts: [{ type: 'Began', attemptId: 'a', expiresAt: '2025-01-01T00:00:30.000Z' }],
    });
  });

  it('is refused to a second attempt while the first holds it', () => {
    const lease = given([begin('a'), '2025-01-01T00:00:00Z']);
    expect(leaseDecider.decide(begin('b'), lease, at('2025-01-01T00:00:10Z'))).toMatchObject({
      kind: 'refused',
      code: 'CONFLICT',
    });
  });

  it('is free again once ended, and ending is only for its holder', () => {
    const held = given([begin('a'), '2025-01-01T00:00:00Z']);
    expect(leaseDecider.decide({ kind: 'End', attemptId: 'b' }, held, at('2025-01-01T00:00:01Z'))).toEqual({
      kind: 'accepted',
      facts: [],
    });
    const ended = given(
      [begin('a'), '2025-01-01T00:00:00Z'],
      [{ kind: 'End', attemptId: 'a' }, '2025-01-01T00:00:01Z'],
    );
    expect(leaseDecider.decide(begin('b'), ended, at('2025-01-01T00:00:02Z'))).toMatchObject({
      kind: 'accepted',
    });
  });

  it('outlives a crashed holder by its ttl only', () => {
    const abandoned = given([begin('a'), '2025-01-01T00:00:00Z']);
    expect(leaseDecider.decide(begin('b'), abandoned, at('2025-01-01T00:00:31Z'))).toMatchObject({
      kind: 'accepted',
    });
  });
});

import type { SubjectReport } from '@runtime/serde';
import { renderReport } from './check-registry-cli';

const report = (overrides: Partial<SubjectReport>): SubjectReport => ({
  subject: 'order.events-com.scmplatform.order.OrderPlaced',
  type: 'OrderPlaced',
  level: 'FULL_TRANSITIVE',
  ownLevel: true,
  registered: [1, 2],
  versions: [
    { version: 1, compatible: true },
    { version: 2, compatible: true },
  ],
  problems: [],
  ...overrides,
});

describe('schemas:check:registry output', () => {
  it('passes when every registered subject is at FULL_TRANSITIVE and every version is accepted', () => {
    const { lines, exitCode } = renderReport(
      [report({}), report({ subject: 's-new', level: 'NONE', ownLevel: false, registered: [] })],
      'http://registry',
    );
    expect(lines).toEqual([
      'ok   order.events-com.scmplatform.order.OrderPlaced: FULL_TRANSITIVE; registered v1, v2; local v1 ok, v2 ok',
      'new  s-new: NONE (global); not registered yet; local v1 ok, v2 ok',
      'all 2 subjects at FULL_TRANSITIVE or not registered yet, all 4 schema versions compatible with http://registry',
    ]);
    expect(exitCode).toBe(0);
  });

  it('names every subject that is wrong, and fails', () => {
    const { lines, exitCode } = renderReport(
      [
        report({
          level: 'BACKWARD',
          problems: ['compatibility level is BACKWARD, expected FULL_TRANSITIVE'],
        }),
        report({
          subject: 's2',
          versions: [{ version: 1, compatible: false }],
          problems: ['v1 would be refused'],
        }),
      ],
      'http://registry',
    );
    expect(lines[0]).toBe(
      'FAIL order.events-com.scmplatform.order.OrderPlaced: BACKWARD; registered v1, v2; local v1 ok, v2 ok -- compatibility level is BACKWARD, expected FULL_TRANSITIVE',
    );
    expect(lines[1]).toBe(
      'FAIL s2: FULL_TRANSITIVE; registered v1, v2; local v1 refused -- v1 would be refused',
    );
    expect(lines[2]).toBe(
      '2 subject(s) wrong on http://registry: order.events-com.scmplatform.order.OrderPlaced, s2',
    );
    expect(exitCode).toBe(1);
  });
});

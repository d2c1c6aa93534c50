/**
 * The live part of the compatibility gate, against the real registry: after registration,
 * the committed schemas pass; a breaking new version is reported (and refused if someone
 * registers it anyway), a compatible one passes. And the registry in use is checked: a
 * subject the platform expects at another level than FULL_TRANSITIVE is named, by the
 * function and by `npm run schemas:check:registry`.
 */
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { eventSchemas, type GeneratedEventSchema } from '@contracts/generated/schemas';
import { isJsonObject, type JsonValue } from '@contracts/schema-model';
import { placementOf, subjectName } from '@contracts/topics';
import {
  checkAgainstRegistry,
  inspectRegistry,
  RegistryClient,
  registerSchemas,
  schemaRejectedCode,
} from '@runtime/serde';
import { testEndpoints } from '@test/harness/endpoints';
import { uniqueName } from '@test/harness/names';

const endpoints = testEndpoints();

describe('compatibility gate against the live registry', () => {
  const client = new RegistryClient({ url: endpoints.schemaRegistryUrl });
  const topic = uniqueName('gate');
  const topicOf = () => topic;
  const placed = eventSchemas.filter((schema) => schema.type === 'OrderPlaced');
  const latest = placed[placed.length - 1]!;
  const subject = `${topic}-${latest.fullName}`;

  afterAll(() => client.deleteSubject(subject, { permanent: true }));

  /** A version 3 of OrderPlaced whose fields are the latest ones, changed by `edit`. */
  const nextVersion = (edit: (fields: readonly JsonValue[]) => JsonValue[]): GeneratedEventSchema => {
    const schema = structuredClone(latest.schema);
    const fields = isJsonObject(schema) ? schema.fields : undefined;
    if (!isJsonObject(schema) || !Array.isArray(fields))
      throw new Error('OrderPlaced is not a record schema');
    return { ...latest, version: latest.version + 1, schema: { ...schema, fields: edit(fields) } };
  };
  const dataField = (fields: readonly JsonValue[]) =>
    fields.findIndex((f) => isJsonObject(f) && f.name === 'data');

  it('accepts the committed versions and a compatible change, and refuses a breaking one', async () => {
    await registerSchemas(client, { types: ['OrderPlaced'], topicOf });
    const committed = await checkAgainstRegistry(client, { types: ['OrderPlaced'], topicOf });
    expect(committed.map((v) => [v.version, v.compatible])).toEqual(placed.map((s) => [s.version, true]));

    // Breaking: the event loses its `data` field, which has no default.
    const breaking = nextVersion((fields) => fields.filter((_, i) => i !== dataField(fields)));
    const [refused] = await checkAgainstRegistry(client, {
      types: ['OrderPlaced'],
      topicOf,
      schemas: [breaking],
    });
    expect(refused).toMatchObject({ subject, version: latest.version + 1, compatible: false });
    await expect(client.register(subject, breaking.schema)).rejects.toMatchObject({
      code: schemaRejectedCode,
    });

    // Compatible: a new optional field with a default.
    const compatible = nextVersion((fields) => [
      ...fields,
      { name: 'giftWrap', type: ['null', 'string'], default: null, doc: 'test-only field' },
    ]);
    const [accepted] = await checkAgainstRegistry(client, {
      types: ['OrderPlaced'],
      topicOf,
      schemas: [compatible],
    });
    expect(accepted?.compatible).toBe(true);
  });
});

describe('the registry in use, checked', () => {
  const client = new RegistryClient({ url: endpoints.schemaRegistryUrl });
  const namespace = `${uniqueName('levels')}.`;
  const topicOf = (type: Parameters<typeof placementOf>[0]) => `${namespace}${placementOf(type).topic}`;
  const subjectOf = (type: 'OrderPlaced' | 'OrderCancelled' | 'OrderReviewed' | 'CouponRedeemed') =>
    subjectName(topicOf(type), `com.scmplatform.order.${type}`);

  afterAll(() =>
    Promise.all(
      (['OrderPlaced', 'OrderCancelled', 'OrderReviewed'] as const).map((type) =>
        client.deleteSubject(subjectOf(type), { permanent: true }),
      ),
    ),
  );

  it('names a subject at the wrong compatibility level, and reports the missing ones', async () => {
    await registerSchemas(client, { types: ['OrderPlaced', 'OrderCancelled'], topicOf });
    // Someone loosened one subject by hand: the registry would now let a breaking version in.
    await client.setCompatibility(subjectOf('OrderCancelled'), 'BACKWARD');
    // Someone else registered one without setting a level: it inherits the registry's default.
    const reviewed = eventSchemas.find((schema) => schema.type === 'OrderReviewed')!;
    await client.register(subjectOf('OrderReviewed'), reviewed.schema);
    const { level: globalLevel } = await client.compatibilityOf(uniqueName('no-such-subject'));

    const reports = await inspectRegistry(client, {
      types: ['OrderPlaced', 'OrderCancelled', 'OrderReviewed', 'CouponRedeemed'],
      topicOf,
    });
    expect(reports).toEqual([
      expect.objectContaining({
        subject: subjectOf('OrderPlaced'),
        level: 'FULL_TRANSITIVE',
        registered: [1, 2],
        versions: [
          { version: 1, compatible: true },
          { version: 2, compatible: true },
        ],
        problems: [],
      }),
      expect.objectContaining({
        subject: subjectOf('OrderCancelled'),
        level: 'BACKWARD',
        ownLevel: true,
        registered: [1],
        problems: ['compatibility level is BACKWARD, expected FULL_TRANSITIVE'],
      }),
      expect.objectContaining({
        subject: subjectOf('OrderReviewed'),
        level: globalLevel,
        registered: [1],
        problems: [
          expect.stringMatching(
            new RegExp(`^compatibility level is ${globalLevel}.*, expected FULL_TRANSITIVE$`),
          ),
        ],
      }),
      expect.objectContaining({ subject: subjectOf('CouponRedeemed'), registered: [], problems: [] }),
    ]);

    // The command an operator runs, on the same subjects.
    const cli = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', 'infra/check-registry-cli.ts', '--namespace', namespace],
      { cwd: resolve(__dirname, '../..'), env: process.env, timeout: 90_000 },
    ).then(
      ({ stdout }) => ({ code: 0, stdout }),
      (error: { code?: number; stdout?: string }) => ({ code: error.code, stdout: error.stdout ?? '' }),
    );
    expect(cli.code).toBe(1);
    const lines = cli.stdout.trim().split('\n');
    expect(lines).toContainEqual(
      expect.stringMatching(
        new RegExp(`^FAIL ${escape(subjectOf('OrderCancelled'))}: BACKWARD; .*expected FULL_TRANSITIVE$`),
      ),
    );
    expect(lines).toContainEqual(
      expect.stringMatching(
        new RegExp(`^ok   ${escape(subjectOf('OrderPlaced'))}: FULL_TRANSITIVE; registered v1, v2`),
      ),
    );
    expect(lines).toContainEqual(
      expect.stringMatching(new RegExp(`^new  ${escape(subjectOf('CouponRedeemed'))}: .*not registered yet`)),
    );
    expect(lines).toContainEqual(
      expect.stringMatching(new RegExp(`^FAIL ${escape(subjectOf('OrderReviewed'))}: `)),
    );
    expect(lines.at(-1)).toBe(
      `2 subject(s) wrong on ${endpoints.schemaRegistryUrl}: ${subjectOf('OrderCancelled')}, ${subjectOf('OrderReviewed')}`,
    );
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * The live part of the compatibility gate, against the real registry: after registration,
 * the committed schemas pass; a breaking new version is reported (and refused if someone
 * registers it anyway), a compatible one passes.
 */
import { eventSchemas, type GeneratedEventSchema } from '@contracts/generated/schemas';
import { isJsonObject, type JsonValue } from '@contracts/schema-model';
import { checkAgainstRegistry, RegistryClient, registerSchemas, schemaRejectedCode } from '@runtime/serde';
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

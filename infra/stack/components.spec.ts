import { newKafkaClusterId } from './components';

describe('a new Kafka cluster id', () => {
  it('is 16 bytes of URL-safe base64 that never starts with a dash (the format tool would take it for an option)', () => {
    const ids = Array.from({ length: 2_000 }, newKafkaClusterId);
    expect(ids.filter((id) => id.startsWith('-'))).toEqual([]);
    expect(ids.every((id) => /^[A-Za-z0-9_-]{22}$/.test(id))).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
  });
});

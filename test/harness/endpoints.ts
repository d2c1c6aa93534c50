/**
 * Where the real components of this test run live. The global setup fills these variables
 * (from the caller's environment, testcontainers, or the native stack) before any test
 * file loads, so a test only ever asks this module.
 */
export interface Endpoints {
  kafkaBrokers: string[];
  schemaRegistryUrl: string;
  mongoUrl: string;
  prometheusUrl: string | undefined;
}

export function testEndpoints(): Endpoints {
  const need = (name: string): string => {
    const value = process.env[name];
    if (!value) throw new Error(`${name} is not set: run integration tests through jest's global setup`);
    return value;
  };
  return {
    kafkaBrokers: need('KAFKA_BROKERS').split(','),
    schemaRegistryUrl: need('SCHEMA_REGISTRY_URL'),
    mongoUrl: need('MONGO_URL'),
    prometheusUrl: process.env.PROMETHEUS_URL || undefined,
  };
}

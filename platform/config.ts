import { readStackConfig, stackEndpoints } from '@infra/stack/config';
import { up } from '@infra/stack/stack';

export interface Endpoints {
  kafkaBrokers: string[];
  schemaRegistryUrl: string;
  mongoUrl: string;
}

/**
 * The components the platform talks to: the ones named in the environment, or else the
 * native local stack, brought up (and installed on first use) here.
 */
export async function resolveEndpoints(
  say: (line: string) => void,
  env: NodeJS.ProcessEnv = process.env,
): Promise<Endpoints> {
  let { KAFKA_BROKERS: brokers, SCHEMA_REGISTRY_URL: registry, MONGO_URL: mongo } = env;
  if (!brokers || !registry || !mongo) {
    say(
      'no endpoints given (KAFKA_BROKERS, SCHEMA_REGISTRY_URL, MONGO_URL): bringing up the native local stack',
    );
    const config = readStackConfig(env);
    await up(config, [], (line) => say(`stack: ${line}`));
    ({ KAFKA_BROKERS: brokers, SCHEMA_REGISTRY_URL: registry, MONGO_URL: mongo } = stackEndpoints(config));
  }
  return {
    kafkaBrokers: String(brokers).split(','),
    schemaRegistryUrl: String(registry),
    mongoUrl: String(mongo),
  };
}

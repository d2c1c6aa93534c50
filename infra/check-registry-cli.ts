/**
 * `npm run schemas:check:registry`: the live part of the compatibility gate. Asks the schema
 * registry (SCHEMA_REGISTRY_URL, else the native stack's) whether every local version of every
 * event would be accepted under its subject's FULL_TRANSITIVE rule; registers nothing. Exits 1
 * when any would be refused. The offline part is `npm run schemas:check`.
 */
import { eventTypes } from '@contracts/generated';
import { checkAgainstRegistry, RegistryClient } from '@runtime/serde';
import { defaultSchemaRegistryUrl } from './stack/config';

async function main(): Promise<number> {
  const url = defaultSchemaRegistryUrl();
  const verdicts = await checkAgainstRegistry(new RegistryClient({ url }), { types: eventTypes });
  for (const verdict of verdicts) {
    console.log(`${verdict.compatible ? 'ok  ' : 'FAIL'} ${verdict.subject} v${verdict.version}`);
  }
  const refused = verdicts.filter((verdict) => !verdict.compatible);
  console.log(
    refused.length === 0
      ? `all ${verdicts.length} schema versions are compatible with ${url}`
      : `${refused.length} schema version(s) would be refused by ${url}`,
  );
  return refused.length === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`schemas:check:registry: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);

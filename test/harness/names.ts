import { randomBytes } from 'node:crypto';

/** A name no other test (or earlier run against the same stack) uses: topics, groups, databases. */
export function uniqueName(prefix: string): string {
  const safe = prefix.replace(/[^a-zA-Z0-9-]/g, '-').slice(0, 40);
  return `${safe}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
}

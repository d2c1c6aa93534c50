/**
 * Who talks to the broker: every bounded context has a Kafka principal of its own, a process
 * hosting several contexts one principal for all of them, and an admin principal provisions
 * topics and ACLs. Plain names, no imports: the native stack (infra/stack) creates these SCRAM
 * users when it formats a secure broker, and it must not load the contexts to learn them.
 */

/** Every context a platform process can host (platform/contexts.ts is checked against it). */
export const platformContexts = [
  'order',
  'order-scm-adapter',
  'scm-order-adapter',
  'inventory',
  'production',
  'warehouse',
  'delivery',
  'tracking',
] as const;
export type PlatformContext = (typeof platformContexts)[number];

/** The broker's super user: creates topics and ACLs, and is what operators' tools use. */
export const adminPrincipal = 'admin';

/** The principal of a process hosting several contexts (`npm start`): the union of their rights. */
export const combinedPrincipal = 'scm-platform';

/** The principal of one context, e.g. `scm-inventory`. */
export const contextPrincipal = (context: PlatformContext): string => `scm-${context}`;

/** The principal a process hosting these contexts authenticates as. */
export function principalFor(contexts: readonly PlatformContext[]): string {
  const [only, ...others] = contexts;
  return only !== undefined && others.length === 0 ? contextPrincipal(only) : combinedPrincipal;
}

/** Every user a secure broker of the platform needs. */
export const platformPrincipals: readonly string[] = [
  adminPrincipal,
  combinedPrincipal,
  ...platformContexts.map(contextPrincipal),
];

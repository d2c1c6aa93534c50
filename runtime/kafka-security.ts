/**
 * How a Kafka client of the platform authenticates and encrypts, as configured once at the edge
 * (platform/config.ts) and handed to every `new Kafka(...)` of a process. Plaintext without SASL
 * when nothing is configured, as the default native stack runs.
 */
import type { KafkaConfig, SASLOptions } from 'kafkajs';

export const saslMechanisms = ['scram-sha-512', 'scram-sha-256', 'plain'] as const;
export type SaslMechanism = (typeof saslMechanisms)[number];

export interface KafkaSecurity {
  readonly sasl?: { readonly mechanism: SaslMechanism; readonly username: string; readonly password: string };
  /** TLS to the brokers; `ca` is PEM text (the system's CAs when absent). */
  readonly tls?: { readonly ca?: string };
}

export const plaintext: KafkaSecurity = {};

/** The `sasl` and `ssl` options of a kafkajs client for these settings. */
export function kafkaClientSecurity(security: KafkaSecurity): Pick<KafkaConfig, 'sasl' | 'ssl'> {
  const { sasl, tls } = security;
  const options: Pick<KafkaConfig, 'sasl' | 'ssl'> = {};
  if (sasl !== undefined) options.sasl = saslOptions(sasl);
  if (tls !== undefined) options.ssl = tls.ca === undefined ? true : { ca: [tls.ca] };
  return options;
}

function saslOptions({ mechanism, username, password }: NonNullable<KafkaSecurity['sasl']>): SASLOptions {
  switch (mechanism) {
    case 'scram-sha-512':
      return { mechanism, username, password };
    case 'scram-sha-256':
      return { mechanism, username, password };
    case 'plain':
      return { mechanism, username, password };
    default: {
      const unknown: never = mechanism;
      throw new Error(`unknown SASL mechanism ${String(unknown)}`);
    }
  }
}

/** Who the client is, for messages: never the password. */
export function describeKafkaSecurity(security: KafkaSecurity): string {
  const transport = security.tls === undefined ? 'plaintext' : 'TLS';
  return security.sasl === undefined
    ? transport
    : `${transport}, SASL ${security.sasl.mechanism.toUpperCase()} as ${security.sasl.username}`;
}

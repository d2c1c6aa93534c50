/**
 * `npm start`: the platform's main job. Brings the native local stack up (unless endpoints are
 * given in the environment), hosts every context in this one process on one HTTP port, and
 * prints where to look. `npm start -- --demo` also stocks the kitchen, turns auto-advance on and
 * places an order every few seconds, printing each one's journey.
 * `npm run context -- <name> [<name>...]` hosts only the named contexts (one process per context).
 */
import { parseArgs } from 'node:util';
import { createLogger, type Logger } from '@runtime/log';
import { exitOnSignals } from '@runtime/lifecycle';
import { commandEnvironment, ConfigError, readPlatformConfig, resolveEndpoints } from './config';
import { trafficCredentials } from './credentials';
import { contextFactories, contextNames, type ContextName } from './contexts';
import { startDemoTraffic } from './demo';
import { startPlatform, type ConsumerFailure } from './host';

const usage = `usage: npm start [-- --demo]            every context in one process
       npm run context -- <context>...     only these contexts (${contextNames.join(', ')})`;

async function main(): Promise<void> {
  const say = (line: string): void => console.log(`[platform] ${line}`);
  const { values, positionals } = parseArgs({
    options: { demo: { type: 'boolean', default: false }, context: { type: 'boolean', default: false } },
    allowPositionals: true,
  });
  const contexts = values.context ? positionals : contextNames;
  const unknown = contexts.filter((name) => !(contextNames as string[]).includes(name));
  if (contexts.length === 0 || unknown.length > 0) {
    console.error(unknown.length > 0 ? `unknown context: ${unknown.join(', ')}\n${usage}` : usage);
    process.exit(2);
  }

  const endpoints = await resolveEndpoints(say);
  // A fresh clone has no credentials: on loopback, development keys in the stack directory.
  const { env, developmentKeys } = commandEnvironment();
  const config = readPlatformConfig(endpoints, contexts as ContextName[], env, { demo: values.demo });
  const log = createLogger(config.logLevel, { process: values.context ? contexts.join('+') : 'platform' });
  say(`starting ${contexts.length === contextNames.length ? 'every context' : contexts.join(', ')} ...`);
  // A consumer may give up while the others are still starting: then the drain waits for them.
  const fatal: { failure?: ConsumerFailure; stop?: () => Promise<void> } = {};
  const exitFailed = (failure: ConsumerFailure): void => {
    fatal.failure ??= failure;
    if (fatal.stop === undefined) return;
    say(`consumer group ${failure.group} cannot go on (${failure.error.message}): draining, then exit 1`);
    void drainAndExit(log, fatal.stop, 1);
  };
  const platform = await startPlatform(config, log, { onFatal: exitFailed });
  const demo = values.demo
    ? startDemoTraffic(platform.url, trafficCredentials(config.http.auth.apiKeys), say)
    : undefined;
  let stopping: Promise<void> | undefined;
  fatal.stop = () =>
    (stopping ??= (async () => {
      await demo?.stop();
      await platform.stop();
    })());
  exitOnSignals({ log, stop: fatal.stop });
  if (fatal.failure) return exitFailed(fatal.failure);

  await platform.ready(120_000);
  // Before `ready on`: a parent process waiting for that line knows both addresses by then.
  say(`metrics on ${platform.metricsUrl}/metrics (no credentials; for Prometheus)`);
  say(`ready on ${platform.url}`);
  if (developmentKeys)
    say(`API keys (development, one per role): ${developmentKeys}; send one as Authorization: Bearer <key>`);
  for (const name of config.contexts) say(`  ${name.padEnd(18)} ${contextFactories[name].summary}`);
  say(
    `  operations         ${platform.url}/health  /ready  /admin/dead-letters/<group>  ${platform.metricsUrl}/metrics`,
  );
  if (endpoints.prometheusUrl)
    say(`  Prometheus         ${endpoints.prometheusUrl} (scrapes port ${config.http.metricsPort})`);
  if (config.contexts.includes('order') && !values.demo) {
    const keys = developmentKeys ?? '<your keys file>';
    const bearer = (client: string): string =>
      `-H "authorization: Bearer $(sed -n 's/^${client}:[^:]*://p' ${keys})"`;
    say('try it:');
    say(
      `  curl -s -X POST ${platform.url}/inventory/stock/SKU-BIBIMBAP-REG/receipts ${bearer('dev-inventory')} -H 'content-type: application/json' -d '{"quantity": 10}'`,
    );
    say(
      `  curl -s -X POST ${platform.url}/orders ${bearer('dev-storefront')} -H 'content-type: application/json' -H 'Idempotency-Key: my-first-order' \\`,
    );
    say(
      `    -d '{"customerId":"CUST-1","lines":[{"productCode":"PRD-BIBIMBAP","quantity":1,"unitPrice":9500}],"deliveryAddress":{"recipientName":"김민지","phone":"010-1234-5678","postalCode":"06236","roadAddress":"서울특별시 강남구 테헤란로 123"},"delivery":{"date":"<YYYY-MM-DD>","slot":"DAY"},"payment":{"method":"CARD"}}'`,
    );
    say(
      `  curl -s ${bearer('dev-storefront')} '${platform.url}/orders/<orderId>?wait=30'   and   ${platform.url}/orders/<orderId>/timeline`,
    );
    say('  (or run `npm start -- --demo` for traffic that moves by itself)');
  }
  say('Ctrl-C to stop (drains consumers and the outbox first).');
}

/**
 * The end of a process that cannot do its work: the rest is drained as on SIGTERM (batches in
 * hand finish and commit, the outbox is flushed), bounded in time, and the exit code says it
 * failed whatever the drain did.
 */
async function drainAndExit(
  log: Logger,
  stop: () => Promise<void>,
  code: number,
  drainTimeoutMs = 30_000,
): Promise<never> {
  const timer = setTimeout(() => {
    log.error('drain did not finish in time; exiting', { drainTimeoutMs });
    process.exit(code);
  }, drainTimeoutMs);
  timer.unref();
  try {
    await stop();
    log.info('drained what could be; exiting', { code });
  } catch (error) {
    log.error('drain failed', { error });
  }
  process.exit(code);
}

main().catch((error: unknown) => {
  const message = error instanceof Error ? error.message : String(error);
  console.error(`[platform] ${error instanceof ConfigError ? 'configuration: ' : ''}failed: ${message}`);
  process.exit(1);
});

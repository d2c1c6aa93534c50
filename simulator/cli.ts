/**
 * `npm run simulate -- --rate R --duration D`: realistic traffic against a running platform, with
 * a live progress line (stderr) and a summary table at the end (stdout). With `--url` it drives
 * those storefronts; without, it hosts the platform here like `npm start` does (same endpoints,
 * topics and database unless `--namespace`), plus a second storefront writing OrderPlaced v1, so
 * both producer versions run side by side. Exits 1 if an order that should have finished was
 * lost, or the platform answered a request with a 5xx.
 */
import { contextNames } from '@platform/contexts';
import { ConfigError, readPlatformConfig, resolveEndpoints } from '@platform/config';
import { startPlatform, type RunningPlatform } from '@platform/host';
import {
  CredentialsError,
  formatApiKeys,
  generatedKeys,
  readApiKeysFile,
  trafficCredentials,
} from '@platform/credentials';
import type { ApiKey } from '@runtime/auth';
import { createLogger } from '@runtime/log';
import { hostedEnvironments, keysFileOf, parseSimulatorArgs, usage, UsageError } from './config';
import { mixes } from './plan';
import { progressLine, summaryTable } from './report';
import { startTraffic, type TrafficStats } from './traffic';

const say = (line: string): void => console.error(`[simulate] ${line}`);

async function main(): Promise<number> {
  const config = parseSimulatorArgs(process.argv.slice(2));
  if (config === 'help') {
    console.log(usage);
    return 0;
  }

  const hosted: RunningPlatform[] = [];
  let storefronts = config.urls;
  let keys: ApiKey[];
  let metricsUrls = config.metricsUrls;
  const labels: Record<string, string> = {};
  if (storefronts.length === 0) {
    const endpoints = await resolveEndpoints(say);
    keys = generatedKeys('simulate');
    const environments = hostedEnvironments(config, formatApiKeys(keys));
    const everything = readPlatformConfig(endpoints, contextNames, environments.everything);
    const v1 = readPlatformConfig(endpoints, ['order'], environments.v1Storefront);
    const log = createLogger(everything.logLevel, { process: 'simulate' });
    say(
      `hosting every context (topics ${everything.topicNamespace || '(no namespace)'}, database ${everything.database}, auto-advance ${config.advanceMs} ms) and a v1 storefront ...`,
    );
    hosted.push(await startPlatform(everything, log));
    hosted.push(await startPlatform(v1, log.child({ storefront: 'v1' })));
    await Promise.all(hosted.map((platform) => platform.ready(120_000)));
    const [main, storefrontV1] = hosted;
    if (main && storefrontV1) {
      storefronts = [main.url, storefrontV1.url];
      metricsUrls = [main.metricsUrl, storefrontV1.metricsUrl];
      labels[main.url] = 'v2 storefront (every context)';
      labels[storefrontV1.url] = 'v1 storefront (order only)';
    }
  } else {
    keys = readApiKeysFile(keysFileOf(config));
  }
  const platformUrl = storefronts[0] ?? '';
  const stopHosts = async (): Promise<void> => {
    for (const platform of hosted.splice(0).reverse()) await platform.stop();
  };

  const tty = process.stderr.isTTY === true;
  let lastPrinted = 0;
  const show = (stats: TrafficStats): void => {
    if (tty) process.stderr.write(`\r\x1b[2K${progressLine(stats)}`);
    else if (Date.now() - lastPrinted >= 5_000) {
      lastPrinted = Date.now();
      say(progressLine(stats));
    }
  };
  say(
    `${config.ratePerSec} orders/s for ${config.durationMs / 1000} s, mix ${config.mix}, seed ${config.seed}, on ${storefronts.join(', ')}`,
  );
  const traffic = startTraffic({
    storefronts,
    platformUrl,
    ratePerSec: config.ratePerSec,
    durationMs: config.durationMs,
    seed: config.seed,
    mix: mixes[config.mix],
    drainMs: config.drainMs,
    credentials: trafficCredentials(keys),
    metricsUrls: metricsUrls.map((url) => `${url}/metrics`),
    onProgress: show,
  });
  // Ctrl-C: stop placing and drain; a second one stops waiting.
  let interrupted = 0;
  const onSignal = (): void => {
    interrupted += 1;
    if (tty) process.stderr.write('\n');
    say(interrupted === 1 ? 'stopping: draining orders in flight (again to stop now)' : 'stopping now');
    void traffic.stop(interrupted === 1 ? config.drainMs : 0);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  let summary;
  try {
    summary = await traffic.done;
  } finally {
    if (tty) process.stderr.write('\n');
    else say(progressLine(traffic.stats()));
    await stopHosts();
  }
  console.log(summaryTable(summary, labels));
  const failing = summary.lost.length > 0 || summary.serverErrors > 0;
  if (failing)
    say(`FAILED: ${summary.lost.length} order(s) lost, ${summary.serverErrors} request(s) answered 5xx`);
  return failing ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    const message = error instanceof Error ? error.message : String(error);
    if (error instanceof UsageError) console.error(`${message}\n${usage}`);
    else
      console.error(
        `[simulate] ${error instanceof ConfigError || error instanceof CredentialsError ? 'configuration: ' : ''}failed: ${message}`,
      );
    process.exit(error instanceof UsageError ? 2 : 1);
  },
);

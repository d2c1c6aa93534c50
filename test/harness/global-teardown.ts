import { down } from '../../infra/stack/stack';
import { takeStarted } from './started';

export default async function globalTeardown(): Promise<void> {
  const started = takeStarted();
  if (!started) return;
  process.stderr.write('[test stack] stopping what this run started\n');
  if (started.kind === 'native') await down(started.config);
  else await started.stop();
}

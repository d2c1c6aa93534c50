import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

/**
 * Background processes of the stack: each runs detached in its own process group, writes
 * to its own log file, and is known by a pid file. A pid file whose process is gone is a
 * crash, detected by `isRunning` and cleaned up by the next `up`.
 */
export interface ProcessSpec {
  name: string;
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

export interface StackPaths {
  logs: string;
  run: string;
}

export const pidFile = (paths: StackPaths, name: string): string => path.join(paths.run, `${name}.pid`);
export const logFile = (paths: StackPaths, name: string): string => path.join(paths.logs, `${name}.log`);

export function readPid(paths: StackPaths, name: string): number | undefined {
  try {
    const pid = Number(fs.readFileSync(pidFile(paths, name), 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A zombie answers signal 0 but is dead; /proc tells them apart on Linux.
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) Z/.test(stat);
  } catch {
    return true;
  }
}

export function isRunning(paths: StackPaths, name: string): boolean {
  const pid = readPid(paths, name);
  return pid !== undefined && isAlive(pid);
}

export function startDetached(paths: StackPaths, spec: ProcessSpec): number {
  fs.mkdirSync(paths.logs, { recursive: true });
  fs.mkdirSync(paths.run, { recursive: true });
  const log = fs.openSync(logFile(paths, spec.name), 'a');
  fs.writeSync(log, `\n=== ${new Date().toISOString()} starting ${spec.command} ${spec.args.join(' ')}\n`);
  const child = spawn(spec.command, spec.args, {
    cwd: spec.cwd,
    env: { ...process.env, ...spec.env },
    detached: true,
    stdio: ['ignore', log, log],
  });
  fs.closeSync(log);
  if (child.pid === undefined) throw new Error(`could not start ${spec.name} (${spec.command})`);
  child.unref();
  fs.writeFileSync(pidFile(paths, spec.name), `${child.pid}\n`);
  return child.pid;
}

/** SIGTERM to the whole process group, then SIGKILL after the grace period. */
export async function stopProcess(paths: StackPaths, name: string, graceMs = 20_000): Promise<boolean> {
  const pid = readPid(paths, name);
  fs.rmSync(pidFile(paths, name), { force: true });
  if (pid === undefined || !isAlive(pid)) return false;
  const signalGroup = (signal: NodeJS.Signals): void => {
    try {
      process.kill(-pid, signal);
    } catch {
      try {
        process.kill(pid, signal);
      } catch {
        // already gone
      }
    }
  };
  signalGroup('SIGTERM');
  const deadline = Date.now() + graceMs;
  while (isAlive(pid) && Date.now() < deadline) await sleep(100);
  if (isAlive(pid)) signalGroup('SIGKILL');
  while (isAlive(pid)) await sleep(50);
  return true;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function portIsOpen(port: number, host = '127.0.0.1', timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host });
    const done = (open: boolean): void => {
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/**
 * Last lines of a log since the latest start, for error messages and `logs`. A JVM that fails
 * says why long before its last line (Kafka logs a page of orderly shutdown after the error),
 * so the run's first error lines come first, then the tail.
 */
export function tail(file: string, lines = 20): string {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return '(no log yet)';
  }
  const lastStart = text.lastIndexOf('\n=== ');
  const run = (lastStart >= 0 ? text.slice(lastStart + 1) : text).trimEnd().split('\n');
  const last = run.slice(-lines);
  const errors = run
    .slice(0, run.length - last.length)
    .filter((line) => /\b(ERROR|FATAL)\b|Exception/.test(line))
    .slice(0, 10);
  return errors.length === 0 ? last.join('\n') : [...errors, '[…]', ...last].join('\n');
}

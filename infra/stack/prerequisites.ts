import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';

/**
 * Finding the tools the installers need, with errors that name what is missing and how to
 * get it. Nothing here installs a toolchain: Java, Maven and Go are the machine's.
 */
export class MissingPrerequisite extends Error {
  constructor(what: string, hint: string) {
    super(`${what}\n  -> ${hint}`);
    this.name = 'MissingPrerequisite';
  }
}

export function which(command: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    const candidate = `${dir}/${command}`;
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

export function javaMajorVersion(javaBinary: string): number | undefined {
  // `java -version` prints to stderr.
  const result = spawnSync(javaBinary, ['-version'], { encoding: 'utf8' });
  return parseJavaVersion(`${result.stderr ?? ''}${result.stdout ?? ''}`);
}

function parseJavaVersion(text: string): number | undefined {
  const match = /version "(\d+)(?:\.(\d+))?/.exec(text);
  if (!match?.[1]) return undefined;
  const major = Number(match[1]);
  return major === 1 && match[2] ? Number(match[2]) : major;
}

/**
 * A `java` of at least `minimum`: $JAVA_HOME, then PATH, then every JDK under /usr/lib/jvm
 * (Debian and Temurin packages install there). Kafka 4 needs 17; Apicurio 3.2+ needs 21.
 */
export function findJava(minimum: number, purpose: string): string {
  const candidates = [
    process.env.JAVA_HOME ? `${process.env.JAVA_HOME}/bin/java` : undefined,
    which('java'),
    ...listJvms().map((home) => `${home}/bin/java`),
  ].filter((candidate): candidate is string => candidate !== undefined && fs.existsSync(candidate));
  const found: string[] = [];
  for (const candidate of candidates) {
    const major = javaMajorVersion(candidate);
    if (major !== undefined && major >= minimum) return candidate;
    found.push(`${candidate} (Java ${major ?? '?'})`);
  }
  throw new MissingPrerequisite(
    `${purpose} needs Java ${minimum} or newer; found ${found.length ? found.join(', ') : 'no Java at all'}.`,
    `install a JDK ${minimum}+ (e.g. 'apt-get install openjdk-${minimum}-jre-headless' or Temurin) or set JAVA_HOME to one`,
  );
}

function listJvms(): string[] {
  try {
    return fs
      .readdirSync('/usr/lib/jvm')
      .map((name) => `/usr/lib/jvm/${name}`)
      .sort()
      .reverse();
  } catch {
    return [];
  }
}

export function requireCommand(command: string, hint: string): string {
  const found = which(command);
  if (!found) throw new MissingPrerequisite(`'${command}' is not on PATH.`, hint);
  return found;
}

/**
 * Runs an install step, appending its output to a log file; on failure the error carries
 * the log's last lines, so the cause shows without opening the file.
 */
export function runLogged(
  command: string,
  args: string[],
  logPath: string,
  options: { cwd?: string; env?: NodeJS.ProcessEnv; secrets?: readonly string[] } = {},
): Promise<void> {
  // Secrets in the arguments (passwords a format writes) never reach the log or an error.
  const shown = (options.secrets ?? []).reduce(
    (line, secret) => line.split(secret).join('[redacted]'),
    `${command} ${args.join(' ')}`,
  );
  return new Promise((resolve, reject) => {
    const log = fs.openSync(logPath, 'a');
    fs.writeSync(log, `\n$ ${shown}\n`);
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
      stdio: ['ignore', log, log],
    });
    child.once('error', (error) => {
      fs.closeSync(log);
      reject(error);
    });
    child.once('exit', (code, signal) => {
      fs.closeSync(log);
      if (code === 0) return resolve();
      const lines = fs.readFileSync(logPath, 'utf8').split('\n').slice(-15).join('\n');
      reject(new Error(`'${shown}' failed (${signal ?? `exit ${code}`}); see ${logPath}:\n${lines}`));
    });
  });
}

/**
 * What the benchmark reads of a process besides throughput: its CPU and resident memory, from
 * /proc, so it works for the platform, the broker, the registry and the store alike.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';

// ---------------------------------------------------------------------------------------------
// Processes

let clockTicks: number | undefined;
/** Kernel clock ticks per second, the unit of /proc/<pid>/stat's CPU times. */
function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** CPU seconds (user + system) a process has used so far, its threads included. */
export function cpuSeconds(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name is in parentheses and may hold spaces: count fields after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return (utime + stime) / ticksPerSecond();
}

/** Resident memory of a process in MiB. */
export function residentMiB(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return kib / 1024;
}

export interface CpuWindow {
  /** Percent of one core over the window (100 = one core busy). */
  stop(): number;
}

/** Starts measuring a process's CPU; `stop()` returns its average over the window. */
export function cpuWindow(pid: number): CpuWindow {
  const startCpu = cpuSeconds(pid);
  const startedAt = process.hrtime.bigint();
  return {
    stop() {
      const wall = Number(process.hrtime.bigint() - startedAt) / 1e9;
      return wall > 0 ? ((cpuSeconds(pid) - startCpu) / wall) * 100 : 0;
    },
  };
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

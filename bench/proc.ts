// Linux /proc readings of the benches that watch a server from outside (bench/worker.ts,
// bench/soak.ts): the processes of a process group (`wrangler dev` runs in its own: its node
// process and the workerd ones it starts), their CPU time, resident set and open descriptors.

import { readdirSync, readFileSync } from 'node:fs';

/** A process: its id and its command name (the `comm` of /proc/<pid>/stat). */
export interface GroupProcess {
  readonly pid: number;
  readonly name: string;
}

/** The fields of /proc/<pid>/stat after the command name: state, ppid, pgrp, … */
function statFields(pid: number): { name: string; fields: string[] } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return { name: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')), fields: stat.slice(stat.lastIndexOf(')') + 2).split(' ') };
}

/** The live processes whose /proc/<pid>/stat field `field` (1: ppid, 2: pgrp) is `value`. */
function processesWhere(field: number, value: number): GroupProcess[] {
  const out: GroupProcess[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const { name, fields } = statFields(Number(entry));
      if (Number(fields[field]) === value) out.push({ pid: Number(entry), name });
    } catch {
      // the process went away
    }
  }
  return out;
}

/**
 * The live processes of process group `group`.
 * @example groupProcesses(dev.child.pid!).filter((p) => p.name === 'workerd');
 */
export function groupProcesses(group: number): GroupProcess[] {
  return processesWhere(2, group);
}

/**
 * The live child processes of `parent` (e.g. the `wrangler dev` that `edgetron serve` starts in a
 * process group of its own, led by that child).
 * @example childProcesses(cli.pid!).map((p) => groupProcesses(p.pid));
 */
export function childProcesses(parent: number): GroupProcess[] {
  return processesWhere(1, parent);
}

/**
 * CPU seconds (user + system) a process has used: wall time means little on a shared machine.
 * @example cpuSeconds(process.pid);
 */
export function cpuSeconds(pid: number): number {
  const { fields } = statFields(pid);
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
}

/**
 * VmRSS and VmHWM (peak) of a process, in bytes.
 * @example residentBytes(process.pid).rss;
 */
export function residentBytes(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
  return { rss: kb('VmRSS'), peak: kb('VmHWM') };
}

/**
 * Open file descriptors of a process (entries of /proc/<pid>/fd: files, sockets, pipes).
 * @example openFds(process.pid);
 */
export function openFds(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

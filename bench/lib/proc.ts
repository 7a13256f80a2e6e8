// What the OS says about a process: CPU time (utime+stime from /proc/<pid>/stat) and memory
// (VmHWM / VmRSS from /proc/<pid>/status), and how to find the workerd or vmauth process that
// a launcher started (a descendant of a known pid, by its command name).

import { readFileSync, readdirSync } from "node:fs";
import { execFileSync } from "node:child_process";

const CLK_TCK = (() => {
  try {
    return Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim()) || 100;
  } catch {
    return 100;
  }
})();

interface ProcInfo {
  pid: number;
  ppid: number;
  comm: string;
}

function readStat(pid: number): string[] | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "utf8");
    // comm may contain spaces and parentheses: split after the last ')'.
    const close = text.lastIndexOf(")");
    const comm = text.slice(text.indexOf("(") + 1, close);
    return [String(pid), comm, ...text.slice(close + 2).split(" ")];
  } catch {
    return undefined;
  }
}

function allProcesses(): ProcInfo[] {
  const out: ProcInfo[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const f = readStat(Number(name));
    if (f) out.push({ pid: Number(name), ppid: Number(f[3]), comm: f[1]! });
  }
  return out;
}

/** Pids of the descendants of `root` whose command name is `comm`. */
export function descendantsNamed(root: number, comm: string): number[] {
  const procs = allProcesses();
  const children = new Map<number, ProcInfo[]>();
  for (const p of procs) {
    const list = children.get(p.ppid) ?? [];
    list.push(p);
    children.set(p.ppid, list);
  }
  const found: number[] = [];
  const stack = [root];
  while (stack.length > 0) {
    const pid = stack.pop()!;
    for (const c of children.get(pid) ?? []) {
      if (c.comm === comm) found.push(c.pid);
      stack.push(c.pid);
    }
  }
  return found;
}

/** CPU seconds (user + system) the processes have used so far, all threads included. */
export function cpuSeconds(pids: number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    const f = readStat(pid);
    if (f) ticks += Number(f[13]) + Number(f[14]);
  }
  return ticks / CLK_TCK;
}

function statusField(pid: number, field: string): number {
  try {
    const m = readFileSync(`/proc/${pid}/status`, "utf8").match(new RegExp(`^${field}:\\s+(\\d+) kB`, "m"));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** Peak resident set size (VmHWM), bytes, summed over the processes. */
export function peakRss(pids: number[]): number {
  return pids.reduce((sum, pid) => sum + statusField(pid, "VmHWM"), 0);
}

/** Current resident set size (VmRSS), bytes, summed over the processes. */
export function currentRss(pids: number[]): number {
  return pids.reduce((sum, pid) => sum + statusField(pid, "VmRSS"), 0);
}

export type SectionName = "compare" | "breakdown" | "tokens" | "vmauth-users" | "creation" | "hot-token" | "billing" | "limiter-sim" | "coldstart";

export interface Options {
  quick: boolean;
  sections: SectionName[];
  repeats: number;
  durationSeconds: number;
  c1DurationSeconds: number;
  warmupSeconds: number;
  concurrency: number;
  maxTokens: number;
}

export interface BenchContext {
  options: Options;
  /** Scratch files (payloads, token lists) for this run. */
  tmpDir: string;
  /** Everything measured, written to bench/results/<time>.json. */
  results: Record<string, unknown>;
  log(msg: string): void;
}

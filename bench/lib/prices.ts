// Cloudflare list prices (Workers Paid, beyond the included usage), as the stored copies of the
// pricing pages read when this was written; docs/benchmarks.md names the pages and dates.
export const PRICES = {
  workerRequestPerM: 0.3, // developers.cloudflare.com/workers/platform/pricing: $0.30 per additional million requests
  workerCpuMsPerM: 0.02, // same page: $0.02 per additional million CPU milliseconds
  kvReadPerM: 0.5, // developers.cloudflare.com/kv/platform/pricing: $0.50 per million reads
  d1RowsReadPerM: 0.001, // developers.cloudflare.com/d1/platform/pricing: $0.001 per million rows read
  d1RowsWrittenPerM: 1.0, // same page: $1.00 per million rows written
  doRequestPerM: 0.15, // developers.cloudflare.com/durable-objects/platform/pricing: $0.15 per million (RPC calls, alarms)
  doGbSecondPerM: 12.5, // same page: $12.50 per million GB-s of duration (128 MB per object)
} as const;

export const DO_MEMORY_GB = 0.128;

// `npm run bench [-- options]`: see docs/benchmarks.md. Everything runs on 127.0.0.1 and stops
// by itself (every process under `timeout`, every wrk run bounded by -d).
//
//   --quick                 the comparison only, short (under a minute); last line: ratios
//   --sections=a,b          compare, breakdown, tokens, vmauth-users, creation, hot-token, billing,
//                           limiter-sim, coldstart
//                           (default: all of them)
//   --repeats=N             repetitions of the comparison (default 3; medians are quoted)
//   --duration=S            seconds per loaded wrk run (default 5), --c1-duration=S at concurrency 1 (default 3)
//   --concurrency=N         the loaded level (default 16)
//   --max-tokens=N          largest token count of the tokens section (default 100000)
//
// Component lifetimes are bounded by the e2e harness's E2E_MAX_PROCESS_SECONDS: raise it before
// the harness module reads it.
process.env.E2E_MAX_PROCESS_SECONDS ??= "3600";
process.env.CLOUDFLARE_CF_FETCH_ENABLED ??= "false";
process.env.WRANGLER_SEND_METRICS ??= "false";

const { main } = await import("./main.ts");
await main(process.argv.slice(2));

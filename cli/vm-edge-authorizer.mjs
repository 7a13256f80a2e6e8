#!/usr/bin/env node
// The `bin` of package.json (npx vm-edge-authorizer): runs the TypeScript CLI, which Node >= 22.18
// runs as is (type stripping). The path stays the one npm linked before the CLI was TypeScript,
// so an npx cache made then keeps working.
import { main } from "./vm-edge-authorizer.ts";

process.exitCode = await main(process.argv.slice(2));

#!/usr/bin/env node
// The `bin` of package.json (npx vm-edge-authorizer): runs the TypeScript CLI, which Node >= 22.18
// runs as is (type stripping). The path stays the one npm linked before the CLI was TypeScript,
// so an npx cache made then keeps working.
if (!process.features.typescript) {
  process.stderr.write(
    `vm-edge-authorizer: needs a Node that runs TypeScript (>= 22.18); this is ${process.version}. ` +
      "Use the project's pinned Node: npm run admin -- …, or npx vm-edge-authorizer … from the project.\n",
  );
  process.exit(2);
}
const { main } = await import("./vm-edge-authorizer.ts");
process.exitCode = await main(process.argv.slice(2));

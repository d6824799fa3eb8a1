#!/usr/bin/env node
// Validate one .glb or .gltf file with the Khronos glTF validator library.
//
// Usage: node tools/gltf-validator/validate.mjs FILE
// Prints the validation report as JSON on stdout. Exit code: 0 when the report has no
// errors, 1 when it has errors, 2 when the file could not be read or validated at all.
import { readFile } from "node:fs/promises";
import path from "node:path";
import process from "node:process";

import * as validator from "gltf-validator";

async function main(argv) {
  if (argv.length !== 1) {
    process.stderr.write("usage: node validate.mjs FILE.glb|FILE.gltf\n");
    return 2;
  }
  const file = path.resolve(argv[0]);
  const data = await readFile(file);
  const report = await validator.validateBytes(new Uint8Array(data), {
    uri: path.basename(file),
    maxIssues: 0,
    writeTimestamp: false,
    externalResourceFunction: (uri) =>
      readFile(path.resolve(path.dirname(file), decodeURIComponent(uri))).then(
        (bytes) => new Uint8Array(bytes),
      ),
  });
  process.stdout.write(JSON.stringify(report, null, 2) + "\n");
  return report.issues.numErrors === 0 ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error) => {
    process.stderr.write(`gltf-validator: ${error}\n`);
    process.exitCode = 2;
  },
);

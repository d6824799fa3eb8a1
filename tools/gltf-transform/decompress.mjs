#!/usr/bin/env node
// Write an uncompressed copy of a .glb: meshopt (EXT_meshopt_compression) and Draco
// (KHR_draco_mesh_compression) buffers decoded, KHR_mesh_quantization undone (float
// positions, normals and texture coordinates), everything else kept. meshsmith reads the
// copy when a compressed model (Tripo's default output) is the mesh to texture.
//
// Usage: node tools/gltf-transform/decompress.mjs IN.glb OUT.glb   (exit 2 on a bad input)
import process from "node:process";

import { NodeIO } from "@gltf-transform/core";
import { ALL_EXTENSIONS } from "@gltf-transform/extensions";
import { dequantize } from "@gltf-transform/functions";
import draco3d from "draco3dgltf";
import { MeshoptDecoder } from "meshoptimizer";

const COMPRESSION = ["EXT_meshopt_compression", "KHR_draco_mesh_compression"];

async function main([input, output]) {
  const io = new NodeIO().registerExtensions(ALL_EXTENSIONS).registerDependencies({
    "draco3d.decoder": await draco3d.createDecoderModule(),
    "meshopt.decoder": await MeshoptDecoder.ready.then(() => MeshoptDecoder),
  });
  const document = await io.read(input);
  for (const extension of document.getRoot().listExtensionsUsed()) {
    if (COMPRESSION.includes(extension.extensionName)) extension.dispose();
  }
  await document.transform(dequantize());
  await io.write(output, document);
}

main(process.argv.slice(2)).catch((error) => {
  process.stderr.write(`${error.message}\n`);
  process.exit(2);
});

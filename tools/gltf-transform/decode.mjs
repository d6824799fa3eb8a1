#!/usr/bin/env node
// Decode a .glb (plain, meshopt- or Draco-compressed, quantized or not) with glTF Transform
// and print what it holds as JSON, for meshsmith's compression tests.
//
// Usage: node tools/gltf-transform/decode.mjs FILE.glb
// Prints {"extensionsUsed": [...], "primitives": [...]}: one entry per mesh primitive placed
// in a scene, with its node's name (the nearest named node, itself or an ancestor), its
// mesh's name, world-space "positions" [[x, y, z], ...] (node transforms applied, so the
// KHR_mesh_quantization offset and scale are undone), "texcoords" [[u, v], ...] in glTF's
// top-left convention with the base colour texture's KHR_texture_transform applied (null
// without TEXCOORD_0), "triangles" [[a, b, c], ...] and "texture" {"mimeType", "bytes"} of
// the base colour image (null without one). Exit code 0, or 2 when the file cannot be read.
import process from "node:process";

import { NodeIO } from "@gltf-transform/core";
import { ALL_EXTENSIONS } from "@gltf-transform/extensions";
import draco3d from "draco3dgltf";
import { MeshoptDecoder } from "meshoptimizer";

function transformPoint(m, p) {
  // m: column-major 4x4 matrix (glTF), p: [x, y, z]
  return [0, 1, 2].map((r) => m[r] * p[0] + m[4 + r] * p[1] + m[8 + r] * p[2] + m[12 + r]);
}

function namedNode(node) {
  for (let current = node; current; current = current.getParentNode()) {
    if (current.getName()) return current.getName();
  }
  return "";
}

function texcoords(primitive) {
  const accessor = primitive.getAttribute("TEXCOORD_0");
  if (!accessor) return null;
  const info = primitive.getMaterial()?.getBaseColorTextureInfo();
  const transform = info?.getExtension("KHR_texture_transform");
  const offset = transform ? transform.getOffset() : [0, 0];
  const scale = transform ? transform.getScale() : [1, 1];
  if (transform && transform.getRotation() !== 0) throw new Error("rotated UVs not supported");
  const uvs = [];
  for (let i = 0; i < accessor.getCount(); i++) {
    const [u, v] = accessor.getElement(i, []);
    uvs.push([offset[0] + scale[0] * u, offset[1] + scale[1] * v]);
  }
  return uvs;
}

function triangles(primitive) {
  if (primitive.getMode() !== 4) throw new Error("only TRIANGLES primitives are supported");
  const count = primitive.getAttribute("POSITION").getCount();
  const flat = primitive.getIndices()?.getArray() ?? Array.from({ length: count }, (_, i) => i);
  const result = [];
  for (let i = 0; i < flat.length; i += 3) result.push([flat[i], flat[i + 1], flat[i + 2]]);
  return result;
}

function texture(primitive) {
  const image = primitive.getMaterial()?.getBaseColorTexture();
  return image ? { mimeType: image.getMimeType(), bytes: image.getImage().byteLength } : null;
}

function describe(node, mesh, primitive) {
  const matrix = node.getWorldMatrix();
  const position = primitive.getAttribute("POSITION");
  const positions = [];
  for (let i = 0; i < position.getCount(); i++) {
    positions.push(transformPoint(matrix, position.getElement(i, [])));
  }
  return {
    node: namedNode(node),
    mesh: mesh.getName(),
    positions,
    texcoords: texcoords(primitive),
    triangles: triangles(primitive),
    texture: texture(primitive),
  };
}

async function main(argv) {
  if (argv.length !== 1) {
    process.stderr.write("usage: node decode.mjs FILE.glb\n");
    return 2;
  }
  const io = new NodeIO().registerExtensions(ALL_EXTENSIONS).registerDependencies({
    "draco3d.decoder": await draco3d.createDecoderModule(),
    "meshopt.decoder": await MeshoptDecoder.ready.then(() => MeshoptDecoder),
  });
  const document = await io.read(argv[0]);
  const root = document.getRoot();
  const primitives = [];
  for (const node of root.listNodes()) {
    const mesh = node.getMesh();
    if (mesh) for (const primitive of mesh.listPrimitives()) primitives.push(describe(node, mesh, primitive));
  }
  const extensionsUsed = root.listExtensionsUsed().map((extension) => extension.extensionName);
  process.stdout.write(JSON.stringify({ extensionsUsed, primitives }) + "\n");
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error) => {
    process.stderr.write(`decode: ${error?.stack ?? error}\n`);
    process.exitCode = 2;
  },
);

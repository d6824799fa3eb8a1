#!/usr/bin/env bash
# Refresh the three.js copy the web studio serves (no npm at run time).
# Pin the version in tools/studio-vendor/package.json, run this, commit the result.
set -euo pipefail
cd "$(dirname "$0")/.."
npm ci --prefix tools/studio-vendor --no-audit --no-fund
src=tools/studio-vendor/node_modules/three
dst=src/meshsmith/service/studio/vendor/three
rm -rf "$dst"
# three >= 0.171 splits the module build in two and no longer ships .min files.
for f in build/three.module.js build/three.core.js \
         examples/jsm/loaders/GLTFLoader.js examples/jsm/controls/OrbitControls.js \
         examples/jsm/utils/BufferGeometryUtils.js examples/jsm/utils/SkeletonUtils.js LICENSE; do
  mkdir -p "$dst/$(dirname "$f")"
  cp "$src/$f" "$dst/$f"
done
echo "vendored three $(node -p "require('./$src/package.json').version") into $dst"

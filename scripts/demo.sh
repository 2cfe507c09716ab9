#!/usr/bin/env bash
# `npm start`: the main job on a fresh machine — set-up (dependencies, a WebGPU adapter, the
# Fashion-MNIST data), then `camlight train` on a Fashion-MNIST subset with a planted shortcut (a
# bright frame around every Trouser), recording CAMs of tracked images after every epoch. Open
# camlight-demo/report.html: framed trousers come out "ugly" because removing the frame drops
# their p(Trouser) to ~0 (the occlusion check), while a clean trouser is "bad" (misclassified).
# Then `camlight cam` with the committed model (weights/fashion-mnist-cnn) on Fashion-MNIST test
# images written as PNGs, Trousers with and without that frame: camlight-demo/cams/index.html.
# Extra arguments go to `camlight train` (e.g. `npm start -- --epochs 5 --limit 10000`).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp}"
echo "demo: two reports: camlight-demo/report.html (training) and camlight-demo/cams/index.html (camlight cam gallery)"
bash scripts/setup.sh --test-data
node bin/camlight.js train --data fashion-mnist --model fashion-cnn --limit 3000 --epochs 3 \
  --shortcut Trouser --track 8 --out camlight-demo "$@"
node --import tsx scripts/demo-samples.ts camlight-demo/samples 2
node bin/camlight.js cam camlight-demo/samples --model weights/fashion-mnist-cnn/model.json \
  --methods gradcam,layercam --metrics --perturbations 4 --out camlight-demo/cams
echo "demo: open camlight-demo/report.html (animations in camlight-demo/animations/, history in camlight-demo/history.json)"
echo "demo: open camlight-demo/cams/index.html (the gallery of camlight cam: maps, top classes, metrics; cams.json beside it)"

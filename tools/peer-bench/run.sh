#!/usr/bin/env bash
# stemshare vs ONNX Runtime, batch 1, fp32, 2 threads, interleaved per model and round.
# Each measurement is a fresh process of RUNS timed runs (after WARMUP); a round times stemshare,
# then ONNX Runtime, on one model, then the next model. The ratio is median/median per round, and
# the table gives the median over ROUNDS of each. A benchmark, not a test: CI does not run it.
# Prerequisites (dev-time only, not in tools/install-deps.sh):
#   apt-get install python3-torch python3-torchvision nodejs npm
#   (cd $SCRATCH/ortnode && npm init -y && npm install --ignore-scripts onnxruntime-node@1.30.0)
# Usage: tools/peer-bench/run.sh [BUILD_DIR]   env: SCRATCH RUNS ROUNDS THREADS MODELS
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
BUILD=${1:-$HERE/../../build}
SCRATCH=${SCRATCH:-/tmp/stemshare-peer}
RUNS=${RUNS:-30}
ROUNDS=${ROUNDS:-3}
THREADS=${THREADS:-2}
MODELS=${MODELS:-"mobilenet_v1 mobilenet_v2 resnet50 inception_v3 mobilenet_v3_large efficientnet_b0"}
# ONNX Runtime's intra-op threads spin between operators by default (allow_spinning = 1); OpenMP's
# default lets them sleep, and each wake-up costs tens of microseconds per primitive on this VM.
# Both runtimes spin here unless the caller says otherwise (stemshare profile prints the policy).
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-active}
CLI=$BUILD/tools/stemshare
[ -x "$CLI" ] || { echo "build the stemshare tool first ($CLI missing)" >&2; exit 1; }
mkdir -p "$SCRATCH/onnx" "$SCRATCH/results"
# Export only what is missing (a scratch folder from before the edge models gains them).
MISSING=$(for m in $MODELS; do [ -f "$SCRATCH/onnx/$m.onnx" ] || echo "$m"; done)
[ -z "$MISSING" ] || /usr/bin/python3 "$HERE/export_onnx.py" "$SCRATCH/onnx" $MISSING
RES=$SCRATCH/results/peer.jsonl
: > "$RES"
echo "# $(date -Is) load before: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) cores; runs $RUNS x rounds $ROUNDS; OMP_WAIT_POLICY=$OMP_WAIT_POLICY" | tee "$SCRATCH/results/meta.txt"
size() { [ "$1" = inception_v3 ] && echo 299 || echo 224; }
for r in $(seq "$ROUNDS"); do
  for m in $MODELS; do
    "$CLI" profile --model "$m" --threads "$THREADS" --runs "$RUNS" --warmup 5 --out "$SCRATCH/results/$m.json" >/dev/null
    /usr/bin/python3 -c "import json,sys; t=json.load(open(sys.argv[1])); print(json.dumps({'round': $r, 'model': '$m', 'runtime': 'stemshare', 'median_ms': t['whole_model']['median_us']/1e3, 'p90_ms': t['whole_model']['p90_us']/1e3, 'gflop': t['flops']/1e9, 'load': open('/proc/loadavg').read().split()[0]}))" "$SCRATCH/results/$m.json" >> "$RES"
    NODE_PATH=$SCRATCH/ortnode/node_modules node "$HERE/bench_ort.js" "$SCRATCH/onnx/$m.onnx" "$(size "$m")" "$THREADS" "$RUNS" 5 \
      | /usr/bin/python3 -c "import json,sys; d=json.loads(sys.stdin.read()); d.update(round=$r, model='$m', runtime='onnxruntime '+d.pop('version'), load=open('/proc/loadavg').read().split()[0]); print(json.dumps(d))" >> "$RES"
  done
  echo "round $r done $(date +%T), load $(cut -d' ' -f1 /proc/loadavg)" >&2
done
echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$SCRATCH/results/meta.txt"
/usr/bin/python3 - "$RES" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
print("| model | GFLOP | stemshare median ms | ORT median ms | ratio (ours/ORT) | stemshare GFLOP/s | ORT GFLOP/s | per-round ratios |")
print("|---|---|---|---|---|---|---|---|")
for m in dict.fromkeys(r["model"] for r in rows):
    ours = {r["round"]: r["median_ms"] for r in rows if r["model"] == m and r["runtime"] == "stemshare"}
    ort = {r["round"]: r["median_ms"] for r in rows if r["model"] == m and r["runtime"] != "stemshare"}
    gf = next(r["gflop"] for r in rows if r["model"] == m and "gflop" in r)
    ratios = [ours[k] / ort[k] for k in ours if k in ort]
    o, p = statistics.median(ours.values()), statistics.median(ort.values())
    print("| %s | %.2f | %.2f | %.2f | %.2f | %.0f | %.0f | %s |" % (m, gf, o, p, statistics.median(ratios), gf / o * 1e3,
          gf / p * 1e3, " ".join("%.2f" % x for x in ratios)))
PY

// Batch-1 fp32 latency of one ONNX model with ONNX Runtime (npm onnxruntime-node, CPU EP).
// Usage: NODE_PATH=<dir>/node_modules node bench_ort.js MODEL.onnx SIZE THREADS RUNS WARMUP
// Prints one JSON line: {"median_ms", "p90_ms", "runs", "version"}.
const ort = require('onnxruntime-node');

async function main() {
  const [file, size, threads, runs, warmup] = process.argv.slice(2);
  const sess = await ort.InferenceSession.create(file, {
    executionProviders: ['cpu'], intraOpNumThreads: +threads, interOpNumThreads: 1,
    executionMode: 'sequential', graphOptimizationLevel: 'all',
  });
  const data = Float32Array.from({ length: 3 * size * size }, () => Math.random() * 2 - 1);
  const feeds = { [sess.inputNames[0]]: new ort.Tensor('float32', data, [1, 3, +size, +size]) };
  for (let i = 0; i < +warmup; i++) await sess.run(feeds);
  const t = [];
  for (let i = 0; i < +runs; i++) {
    const a = process.hrtime.bigint();
    await sess.run(feeds);
    t.push(Number(process.hrtime.bigint() - a) / 1e6);
  }
  t.sort((a, b) => a - b);
  const n = t.length;
  const med = n % 2 ? t[(n - 1) / 2] : 0.5 * (t[n / 2 - 1] + t[n / 2]);
  console.log(JSON.stringify({ median_ms: med, p90_ms: t[Math.ceil(0.9 * n) - 1], runs: n,
    version: ort.env.versions.node }));
  await sess.release();
}
main().catch((e) => { console.error(e); process.exit(1); });

# The packages every consumer of stemshare::stemshare needs; the package config replays this file.
include(CMakeFindDependencyMacro)
# Debian's oneDNN is built with the OpenCL GPU runtime, so its config needs OpenCL (STACK.md P1).
find_dependency(dnnl 2.6 CONFIG)
find_dependency(nlohmann_json 3 CONFIG)
find_dependency(ZLIB)
# oneDNN runs on OpenMP; the backend sets its thread count (STACK.md P4).
find_dependency(OpenMP)
# profiling/ registers and runs Google Benchmark benchmarks (Debian: libbenchmark-dev 1.7.1).
find_dependency(benchmark 1.7 CONFIG)

#error "benchmark/benchmark.h is included where the component being built must not need it (see tests/components/)"

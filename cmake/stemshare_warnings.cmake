# Warnings for stemshare's own executables (tests, benchmarks, examples, tools); never for consumers.
add_library(stemshare_warnings INTERFACE)
target_compile_options(stemshare_warnings INTERFACE -Wall -Wextra -Wpedantic -Wshadow -Wconversion
  -Wno-sign-conversion $<$<BOOL:${STEMSHARE_WERROR}>:-Werror>)

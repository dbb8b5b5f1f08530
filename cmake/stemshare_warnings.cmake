# Warnings for stemshare's own executables (tests, benchmarks, examples, tools); never for consumers.
add_library(stemshare_warnings INTERFACE)
target_compile_options(stemshare_warnings INTERFACE -Wall -Wextra -Wpedantic -Wshadow -Wconversion
  -Wno-sign-conversion $<$<BOOL:${STEMSHARE_WERROR}>:-Werror>)
# GCC 12 at -O3 reports -Wrestrict inside libstdc++'s `const char* + std::string&&` wherever that is
# inlined (GCC bug 105329, fixed in GCC 13): the warning is about the library's own memcpy, not ours.
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
  target_compile_options(stemshare_warnings INTERFACE -Wno-restrict)
endif()

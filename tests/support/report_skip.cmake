# A CMake-level test that cannot run here (e.g. a dataset that is not installed) runs this script
# instead: it prints the marker of tests/support/skip.hpp, and the test's SKIP_REGULAR_EXPRESSION
# turns that into SKIPPED, so ctest lists the test rather than silently leaving it out.
# Input: -DWHY=<reason>.
message(STATUS "STEMSHARE_TEST_SKIPPED: ${WHY}")

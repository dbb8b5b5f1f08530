# Checks `stemshare ekya --quick`'s results.json: no NaN or null anywhere, four scheduler runs of
# 2 cameras with an accuracy in [0, 1] for each of the 3 windows, and the micro-profiler's errors.
file(READ ${FILE} json)
include(${CMAKE_CURRENT_LIST_DIR}/ekya_json_runs.cmake)
check_ekya_runs(${FILE} "${json}" "NaN" "nan" "null" "inf")
string(JSON runs LENGTH "${json}" runs)
string(JSON err GET "${json}" micro_profiler_mean_abs_accuracy_error)
if(err LESS 0 OR err GREATER 1)
  message(FATAL_ERROR "${FILE}: micro_profiler_mean_abs_accuracy_error = ${err}")
endif()
message(STATUS "results.json: ${runs} runs, micro-profiler accuracy error ${err}")

# stemshare's components: what each one needs, in one place for the build and the package config.
#
#   sched   the Mainstream planners and cost model; C++20 standard library only, constexpr
#   core    tensors, layers, chains, graphs, the stem trie, the zoo, the reference backend; std only
#   io      safetensors, M-Packages, .npy, IDX, weight binding, apps files   (nlohmann-json, zlib)
#   onnx    ONNX import                                                       (libonnx, protobuf)
#   onednn  the oneDNN backend, the runtime, training, experiments, Masa       (oneDNN, OpenMP)
#   profiling  per-layer latency tables from Google Benchmark runs             (Google Benchmark)
#   xtensor xtensor containers and expressions in and out of models            (xtensor)
#   eigen   Eigen tensors, maps and matrices in and out of models; Ekya's curve fit (ekya/) (Eigen)
#   video   video files and streams decoded into frames (video/)     (FFmpeg libav*, pkg-config)
#
# A component lists the components it builds on (stemshare_<name>_components) and the packages it
# finds itself (stemshare_find_<name>_packages). The list below is in dependency order.
set(stemshare_all_components sched core io onnx onednn profiling xtensor eigen video)

set(stemshare_sched_components "")
set(stemshare_core_components "")
set(stemshare_io_components core)
set(stemshare_onnx_components io)
set(stemshare_onednn_components core io)
set(stemshare_profiling_components onednn)
set(stemshare_xtensor_components core)
set(stemshare_eigen_components core)
set(stemshare_video_components core)

# stemshare_find_package(ARGS...): find_dependency() inside the package config (a missing package
# makes find_package(stemshare) fail, naming it), find_package(... REQUIRED) in stemshare's own build.
macro(stemshare_find_package)
  if(stemshare_finding_installed_package)
    find_dependency(${ARGN})
  else()
    find_package(${ARGN} REQUIRED)
  endif()
endmacro()

macro(stemshare_find_io_packages)
  stemshare_find_package(nlohmann_json 3 CONFIG)
  stemshare_find_package(ZLIB)
endmacro()

macro(stemshare_find_onnx_packages)
  # ONNX's config uses protobuf's targets without finding protobuf (docs/architecture.md).
  stemshare_find_package(Protobuf)
  stemshare_find_package(ONNX CONFIG)
endmacro()

macro(stemshare_find_onednn_packages)
  # Debian's oneDNN is built with the OpenCL GPU runtime, so its config needs OpenCL headers too.
  stemshare_find_package(dnnl 2.6 CONFIG)
  # oneDNN runs on OpenMP; the backend sets its thread count.
  stemshare_find_package(OpenMP)
endmacro()

macro(stemshare_find_profiling_packages)
  stemshare_find_package(benchmark 1.7 CONFIG)
endmacro()

macro(stemshare_find_xtensor_packages)
  stemshare_find_package(xtensor 0.24 CONFIG)
endmacro()

macro(stemshare_find_eigen_packages)
  stemshare_find_package(Eigen3 3.4 CONFIG)
endmacro()

# FFmpeg ships pkg-config files, no CMake config. Sets stemshare_ffmpeg_FOUND and, when found, the
# imported target PkgConfig::stemshare_ffmpeg. Optional in stemshare's own build (the component is
# left out when FFmpeg is missing), required in the installed package's config.
macro(stemshare_find_video_packages)
  if(stemshare_finding_installed_package)
    find_dependency(PkgConfig)
    pkg_check_modules(stemshare_ffmpeg REQUIRED IMPORTED_TARGET libavformat libavcodec libswscale libavutil)
  else()
    find_package(PkgConfig)
    if(PkgConfig_FOUND)
      pkg_check_modules(stemshare_ffmpeg IMPORTED_TARGET libavformat libavcodec libswscale libavutil)
    endif()
  endif()
endmacro()

# stemshare_component_closure(OUT names...): `names` plus every component they build on, in
# dependency order.
function(stemshare_component_closure out)
  set(wanted ${ARGN})
  set(reversed ${stemshare_all_components})
  list(REVERSE reversed)
  foreach(c IN LISTS reversed)
    if(c IN_LIST wanted)
      list(APPEND wanted ${stemshare_${c}_components})
    endif()
  endforeach()
  set(closure "")
  foreach(c IN LISTS stemshare_all_components)
    if(c IN_LIST wanted)
      list(APPEND closure ${c})
    endif()
  endforeach()
  set(${out} ${closure} PARENT_SCOPE)
endfunction()

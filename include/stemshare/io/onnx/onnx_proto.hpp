#pragma once
/// \file
/// The one place the ONNX importer includes libonnx's protobuf classes, behind the check that the
/// consumer linked `stemshare::onnx` (which defines STEMSHARE_WITH_ONNX and brings protobuf).

#if !defined(STEMSHARE_WITH_ONNX)
#error \
    "stemshare/io/onnx_import.hpp needs ONNX support: link the stemshare::onnx target (STEMSHARE_WITH_ONNX)"
#endif

#include <onnx/onnx_pb.h>

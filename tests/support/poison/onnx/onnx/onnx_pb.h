#error "onnx/onnx_pb.h is included where the component being built must not need it (see tests/components/)"

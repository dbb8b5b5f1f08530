#pragma once
/// \file
/// The library in one include: models (chains, graphs, the zoo), backends, weights I/O, the stem
/// trie and its runtime, profiling and the schedulers. Not included, because they pull in more
/// than most products need: `io/onnx_import.hpp` (protobuf; link `stemshare::onnx`),
/// `io/apps_file.hpp` (JSON app files), `train/` and `experiment/` (the M-Trainer and the
/// end-to-end experiment).

#include <stemshare/backend/onednn/compiled_graph.hpp>
#include <stemshare/backend/reference/executor.hpp>
#include <stemshare/backend/reference/reference_runner.hpp>
#include <stemshare/chain/blocks.hpp>
#include <stemshare/chain/chain.hpp>
#include <stemshare/chain/layers.hpp>
#include <stemshare/chain/shuffle_unit.hpp>
#include <stemshare/core/digest.hpp>
#include <stemshare/core/dims.hpp>
#include <stemshare/core/dtype.hpp>
#include <stemshare/core/error.hpp>
#include <stemshare/graph/fold_batch_norms.hpp>
#include <stemshare/graph/graph.hpp>
#include <stemshare/io/bind_weights.hpp>
#include <stemshare/io/idx.hpp>
#include <stemshare/io/mpackage.hpp>
#include <stemshare/io/safetensors.hpp>
#include <stemshare/io/save_weights.hpp>
#include <stemshare/io/weights_digest.hpp>
#include <stemshare/profiling/latency_table.hpp>
#include <stemshare/profiling/profile.hpp>
#include <stemshare/runtime/executor.hpp>
#include <stemshare/sched.hpp>
#include <stemshare/stem/stem_trie.hpp>
#include <stemshare/stem/structural_prefix.hpp>
#include <stemshare/tensor/fill.hpp>
#include <stemshare/tensor/tensor.hpp>
#include <stemshare/zoo/zoo.hpp>

#pragma once
/// \file
/// Everything: `#include <stemshare/stemshare.hpp>`.

#include <stemshare/backend/onednn/compiled_graph.hpp>
#include <stemshare/backend/reference/executor.hpp>
#include <stemshare/chain/blocks.hpp>
#include <stemshare/chain/chain.hpp>
#include <stemshare/chain/layers.hpp>
#include <stemshare/core/dims.hpp>
#include <stemshare/core/dtype.hpp>
#include <stemshare/core/error.hpp>
#include <stemshare/graph/fold_batch_norms.hpp>
#include <stemshare/graph/graph.hpp>
#include <stemshare/tensor/fill.hpp>
#include <stemshare/tensor/tensor.hpp>

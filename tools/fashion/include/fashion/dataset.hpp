#pragma once
/// \file
/// Fashion-MNIST as the demo and the trainer read it: Debian's `dataset-fashion-mnist` package,
/// gzipped IDX files read by the library's generic `io::read_idx_images` into a float tensor
/// {N, 1, 28, 28} in [0, 1], the input of the zoo's 28 x 28 net. Not part of the installed
/// library: where a dataset lives and what its labels mean is the demo's business.

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include <stemshare/core/error.hpp>
#include <stemshare/io/idx.hpp>

namespace stemshare::fashion {

/// Where Debian's `dataset-fashion-mnist` installs its files.
inline constexpr std::string_view default_data_dir = "/usr/share/datasets/fashion-mnist";

enum class dataset_split : std::uint8_t { train, test };

/// The ten Fashion-MNIST class names, by label.
inline constexpr std::string_view class_names[10] = {"t-shirt", "trouser", "pullover", "dress", "coat",
                                                     "sandal",  "shirt",   "sneaker",  "bag",   "ankle-boot"};

/// True when the four files of the dataset are in `dir`.
[[nodiscard]] inline bool dataset_available(const std::filesystem::path& dir = default_data_dir) {
    for (const char* f : {"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                          "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"})
        if (!std::filesystem::exists(dir / f)) return false;
    return true;
}

/// Loads the train (60 000) or test (10 000) split. When the files are missing, the error says
/// which package provides them.
[[nodiscard]] inline io::labelled_images load_dataset(dataset_split split,
                                                      const std::filesystem::path& dir = default_data_dir) {
    const std::string prefix = split == dataset_split::train ? "train" : "t10k";
    const auto images = dir / (prefix + "-images-idx3-ubyte.gz");
    const auto labels = dir / (prefix + "-labels-idx1-ubyte.gz");
    for (const auto& p : {images, labels})
        if (!std::filesystem::exists(p))
            throw error(p.string(),
                        "Fashion-MNIST is not installed; install Debian's package with "
                        "`apt-get install dataset-fashion-mnist`");
    io::labelled_images out = io::read_idx_images(images, labels);
    for (std::size_t i = 0; i < out.labels.size(); ++i)
        if (out.labels[i] > 9)
            throw error(labels.string(), "label " + std::to_string(out.labels[i]) + " at item " +
                                             std::to_string(i) + " is not a Fashion-MNIST class (0..9)");
    return out;
}

}  // namespace stemshare::fashion

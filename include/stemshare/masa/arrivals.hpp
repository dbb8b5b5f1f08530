#pragma once
/// \file
/// `masa::arrival`: when requests for which network arrive. Batch (everything at time 0), a
/// Poisson process (exponential gaps, seeded), Normal gaps as in EdgeCaffe's PerCom runs
/// (negative draws clipped to 0), and lists read from a JSON file:
/// `[{"network": "alexnet", "time_s": 0.25}, ...]`.

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <stemshare/core/error.hpp>

namespace stemshare::masa {

struct arrival {
    std::string network;
    double time_s = 0;
};

/// `repeats` copies of `networks`, all at time 0, in that order.
[[nodiscard]] inline std::vector<arrival> batch_arrivals(const std::vector<std::string>& networks,
                                                         int repeats) {
    std::vector<arrival> out;
    for (int r = 0; r < repeats; ++r)
        for (const auto& n : networks) out.push_back({n, 0.0});
    return out;
}

/// `count` requests, networks drawn uniformly from `networks`, gaps drawn by `gap(rng)`.
template <class Gap>
[[nodiscard]] std::vector<arrival> drawn_arrivals(const std::vector<std::string>& networks, int count,
                                                  std::uint64_t seed, Gap gap) {
    if (networks.empty()) throw error("masa arrivals", "no networks to draw from");
    std::mt19937_64 rng(seed);
    std::uniform_int_distribution<std::size_t> which(0, networks.size() - 1);
    std::vector<arrival> out;
    double t = 0;
    for (int i = 0; i < count; ++i) {
        out.push_back({networks[which(rng)], t});
        t += std::max(0.0, gap(rng));
    }
    return out;
}

/// A Poisson process of `rate_per_s` requests per second (exponential gaps).
[[nodiscard]] inline std::vector<arrival> poisson_arrivals(const std::vector<std::string>& networks,
                                                           int count, double rate_per_s, std::uint64_t seed) {
    if (!(rate_per_s > 0)) throw error("masa arrivals", "Poisson rate must be positive");
    std::exponential_distribution<double> gap(rate_per_s);
    return drawn_arrivals(networks, count, seed, gap);
}

/// Normal gaps of mean `mean_s` and deviation `sigma_s`.
[[nodiscard]] inline std::vector<arrival> normal_arrivals(const std::vector<std::string>& networks, int count,
                                                          double mean_s, double sigma_s, std::uint64_t seed) {
    if (mean_s < 0 || sigma_s < 0)
        throw error("masa arrivals", "Normal gap mean and sigma must not be negative");
    std::normal_distribution<double> gap(mean_s, sigma_s);
    return drawn_arrivals(networks, count, seed, gap);
}

/// Reads `[{"network": name, "time_s": seconds}, ...]`; errors name the file and the entry.
[[nodiscard]] inline std::vector<arrival> read_arrivals(const std::filesystem::path& path) {
    const std::string where = "masa arrivals '" + path.string() + "'";
    std::ifstream in(path);
    if (!in) throw error(where, "cannot open");
    nlohmann::json doc;
    try {
        doc = nlohmann::json::parse(in);
    } catch (const nlohmann::json::exception& e) {
        throw error(where, std::string("not JSON: ") + e.what());
    }
    if (!doc.is_array()) throw error(where, "must be an array of {\"network\", \"time_s\"}");
    std::vector<arrival> out;
    for (std::size_t i = 0; i < doc.size(); ++i) {
        const auto& e = doc[i];
        const std::string entry = where + " entry " + std::to_string(i);
        if (!e.is_object() || !e.contains("network") || !e["network"].is_string())
            throw error(entry, "needs a string field \"network\"");
        if (!e.contains("time_s") || !e["time_s"].is_number() || e["time_s"].get<double>() < 0)
            throw error(entry, "needs a non-negative number field \"time_s\"");
        out.push_back({e["network"].get<std::string>(), e["time_s"].get<double>()});
    }
    return out;
}

}  // namespace stemshare::masa

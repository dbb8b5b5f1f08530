#pragma once
/// \file
/// `requirement_of`: the bytes a request must have reserved before a `masa::runtime` admits it, per
/// mode (runtime.hpp's file comment says why a reservation is a floor).

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include <stemshare/masa/mode.hpp>
#include <stemshare/masa/network.hpp>

namespace stemshare::masa {

/// The bytes a request for `net` must have reserved to run in mode `m` (see the file comment),
/// and the segment that sets it.
struct requirement {
    std::uint64_t bytes = 0;
    std::size_t segment = 0;
};

[[nodiscard]] inline requirement requirement_of(const network& net, mode m) {
    const auto& segs = net.segments();
    requirement linear{net.input_bytes(), 0};
    for (std::size_t s = 0; s < segs.size(); ++s) {
        const std::uint64_t need = net.in_bytes(s) + segs[s].load_peak();
        if (need > linear.bytes) linear = {need, s};
    }
    if (m == mode::bulk) {
        std::uint64_t resident = net.input_bytes();
        std::uint64_t raw = 0;
        for (const auto& s : segs) {
            resident += s.resident();
            raw = std::max(raw, 2 * s.raw_bytes);
        }
        return {std::max(resident + raw, linear.bytes), linear.segment};
    }
    if (m == mode::deepeye || m == mode::deepeye_frugal) {
        requirement conv{net.input_bytes(), 0};
        std::uint64_t fc_resident = 0;
        std::uint64_t fc_raw = 0;
        for (std::size_t s = 0; s < segs.size(); ++s) {
            if (segs[s].fully_connected) {
                fc_resident += segs[s].resident();
                fc_raw = std::max(fc_raw, 2 * segs[s].raw_bytes);
            } else if (net.in_bytes(s) + segs[s].load_peak() > conv.bytes) {
                conv = {net.in_bytes(s) + segs[s].load_peak(), s};
            }
        }
        return {std::max(conv.bytes + fc_resident + fc_raw, linear.bytes), linear.segment};
    }
    return linear;
}

}  // namespace stemshare::masa

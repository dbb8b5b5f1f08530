#pragma once
/// \file
/// `onednn::step_list`: a recorded sequence of primitive calls (and a few host-side steps) that
/// replays without allocating. The C++ `primitive::execute` builds a vector of arguments on every
/// call, so the arguments are converted to oneDNN's C form once, when the step is recorded.

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include <oneapi/dnnl/dnnl.hpp>

#include <stemshare/core/error.hpp>

namespace stemshare::onednn {

class step_list {
public:
    using arg_list = std::vector<std::pair<int, dnnl::memory>>;

    /// Records `p` with `args`; memories are kept alive by the list.
    void add(dnnl::primitive p, const arg_list& args, std::string what) {
        step s;
        s.primitive = std::move(p);
        s.what = std::move(what);
        for (const auto& [key, mem] : args) {
            s.args.push_back({key, mem.get()});
            s.keep.push_back(mem);
        }
        steps_.push_back(std::move(s));
    }

    /// Records a host-side step (it must not allocate either).
    void add(std::function<void()> host, std::string what) {
        step s;
        s.host = std::move(host);
        s.what = std::move(what);
        steps_.push_back(std::move(s));
    }

    /// Runs every step in order on `stream` and waits for the end.
    void run(dnnl::stream& stream) const {
        for (const auto& s : steps_) {
            if (s.host) {
                stream.wait();
                s.host();
                continue;
            }
            const dnnl_status_t status = dnnl_primitive_execute(
                s.primitive.get(), stream.get(), static_cast<int>(s.args.size()), s.args.data());
            if (status != dnnl_success)
                throw error("onednn::training", s.what + ": primitive failed (status " +
                                                    std::to_string(static_cast<int>(status)) + ")");
        }
        stream.wait();
    }

    [[nodiscard]] std::size_t size() const noexcept { return steps_.size(); }
    [[nodiscard]] bool empty() const noexcept { return steps_.empty(); }

private:
    struct step {
        dnnl::primitive primitive;
        std::function<void()> host;
        std::vector<dnnl_exec_arg_t> args;
        std::vector<dnnl::memory> keep;
        std::string what;
    };
    std::vector<step> steps_;
};

}  // namespace stemshare::onednn

// Builds a chain, runs it on oneDNN and on the reference backend; exits 0 when they agree.
#include <cmath>
#include <cstdio>

#include <stemshare/stemshare.hpp>

int main() {
    using namespace stemshare::layers;
    constexpr auto net = stemshare::input<1, 12, 12> |
                         conv2d<{.out_channels = 4, .kernel = 3, .padding = 1}> | relu | global_avg_pool |
                         dense<{.out_features = 3}> | softmax;
    stemshare::graph g = net.to_graph();
    g.bind_random(3);
    stemshare::tensor<float> x(stemshare::dims{1, 1, 12, 12});
    stemshare::fill_uniform(x.values(), 4);
    stemshare::onednn::compiled_graph model(g, {.threads = 1});
    const auto fast = model.run(x.view());
    const auto slow = stemshare::reference::run(g, x.view());
    for (std::int64_t i = 0; i < fast.numel(); ++i)
        if (std::abs(fast[i] - slow[i]) > 1e-5F) return 1;
    std::puts("consumer: installed stemshare works");
    return 0;
}

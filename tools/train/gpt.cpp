#include "gpt.h"

#include <cmath>

namespace pxtrain {

nlohmann::json GptConfig::to_json() const {
    return {{"model", "gpt"},
            {"layers", layers},
            {"width", width},
            {"heads", heads},
            {"head_width", width / heads},
            {"context", context},
            {"vocab", vocab},
            {"mlp_width", 4 * width},
            {"activation", "gelu_tanh"},
            {"layer_norm_eps", ln_eps},
            {"tied_head", true},
            {"dtype", "float32"},
            {"layout", "y = x @ W + b; W is [in, out]"},
            {"parameters", parameters()}};
}

int64_t GptConfig::parameters() const {
    const int64_t d = width;
    const int64_t block =
        2 * 2 * d + (d * 3 * d + 3 * d) + (d * d + d) + (d * 4 * d + 4 * d) + (4 * d * d + d);
    return int64_t(vocab) * d + int64_t(context) * d + layers * block + 2 * d;
}

DenseImpl::DenseImpl(int64_t in, int64_t out) {
    // GPT-2's initialization: N(0, 0.02) weights, zero biases.
    weight = register_parameter("weight", torch::randn({in, out}) * 0.02);
    bias = register_parameter("bias", torch::zeros({out}));
}

torch::Tensor DenseImpl::forward(const torch::Tensor& x) {
    return torch::addmm(bias, x.reshape({-1, x.size(-1)}), weight).view([&] {
        auto s = x.sizes().vec();
        s.back() = weight.size(1);
        return s;
    }());
}

BlockImpl::BlockImpl(const GptConfig& c) : cfg(c) {
    const int64_t d = c.width;
    auto ln = [&](const char* name) {
        return register_module(name, torch::nn::LayerNorm(torch::nn::LayerNormOptions({d}).eps(c.ln_eps)));
    };
    ln_1 = ln("ln_1");
    ln_2 = ln("ln_2");
    c_attn = register_module("c_attn", Dense(d, 3 * d));
    attn_proj = register_module("attn_proj", Dense(d, d));
    c_fc = register_module("c_fc", Dense(d, 4 * d));
    mlp_proj = register_module("mlp_proj", Dense(4 * d, d));
    // GPT-2 scales the residual projections by 1/sqrt(2 * layers).
    torch::NoGradGuard ng;
    attn_proj->weight.mul_(1.0 / std::sqrt(2.0 * c.layers));
    mlp_proj->weight.mul_(1.0 / std::sqrt(2.0 * c.layers));
}

torch::Tensor BlockImpl::forward(const torch::Tensor& x) {
    const int64_t B = x.size(0), T = x.size(1), D = cfg.width, H = cfg.heads, hd = D / H;
    // Attention: q, k, v are the three D-wide column blocks of c_attn; head h is columns
    // h*hd .. (h+1)*hd of each.
    auto qkv = c_attn(ln_1(x)).split(D, -1);
    auto heads = [&](const torch::Tensor& t) { return t.view({B, T, H, hd}).transpose(1, 2); };
    auto q = heads(qkv[0]), k = heads(qkv[1]), v = heads(qkv[2]);
    auto scores = torch::matmul(q, k.transpose(-2, -1)) * (1.0 / std::sqrt(double(hd)));
    auto mask = torch::ones({T, T}, torch::kBool).triu(1);
    scores = scores.masked_fill(mask, -std::numeric_limits<float>::infinity());
    auto y = torch::matmul(torch::softmax(scores, -1), v).transpose(1, 2).contiguous().view({B, T, D});
    const double p = cfg.dropout;
    auto h = x + torch::dropout(attn_proj(y), p, is_training());
    return h + torch::dropout(mlp_proj(torch::gelu(c_fc(ln_2(h)), "tanh")), p, is_training());
}

GptImpl::GptImpl(const GptConfig& c) : cfg(c) {
    wte = register_parameter("wte", torch::randn({c.vocab, c.width}) * 0.02);
    wpe = register_parameter("wpe", torch::randn({c.context, c.width}) * 0.01);
    for (int i = 0; i < c.layers; ++i)
        blocks.push_back(register_module("h" + std::to_string(i), Block(c)));
    ln_f =
        register_module("ln_f", torch::nn::LayerNorm(torch::nn::LayerNormOptions({c.width}).eps(c.ln_eps)));
}

torch::Tensor GptImpl::forward(const torch::Tensor& tokens) {
    const int64_t T = tokens.size(1);
    auto x = torch::dropout(torch::embedding(wte, tokens) + wpe.slice(0, 0, T), cfg.dropout, is_training());
    for (auto& b : blocks)
        x = b(x);
    return torch::matmul(ln_f(x), wte.t());
}

std::vector<std::pair<std::string, torch::Tensor>> GptImpl::named_weights() {
    std::vector<std::pair<std::string, torch::Tensor>> w = {{"wte", wte}, {"wpe", wpe}};
    for (size_t i = 0; i < blocks.size(); ++i) {
        const std::string p = "h." + std::to_string(i) + ".";
        Block& b = blocks[i];
        w.push_back({p + "ln_1.weight", b->ln_1->weight});
        w.push_back({p + "ln_1.bias", b->ln_1->bias});
        w.push_back({p + "attn.c_attn.weight", b->c_attn->weight});
        w.push_back({p + "attn.c_attn.bias", b->c_attn->bias});
        w.push_back({p + "attn.c_proj.weight", b->attn_proj->weight});
        w.push_back({p + "attn.c_proj.bias", b->attn_proj->bias});
        w.push_back({p + "ln_2.weight", b->ln_2->weight});
        w.push_back({p + "ln_2.bias", b->ln_2->bias});
        w.push_back({p + "mlp.c_fc.weight", b->c_fc->weight});
        w.push_back({p + "mlp.c_fc.bias", b->c_fc->bias});
        w.push_back({p + "mlp.c_proj.weight", b->mlp_proj->weight});
        w.push_back({p + "mlp.c_proj.bias", b->mlp_proj->bias});
    }
    w.push_back({"ln_f.weight", ln_f->weight});
    w.push_back({"ln_f.bias", ln_f->bias});
    return w;
}

} // namespace pxtrain

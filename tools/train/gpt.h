// gpt.h — the GPT-2-style decoder pxtrain trains (libtorch): learned token and position
// embeddings, pre-LayerNorm blocks (causal multi-head self-attention, then a GELU MLP of width
// 4 x d), a final LayerNorm, and a head tied to the token embedding (logits = h @ wte^T).
//
// Parameter names follow docs/gpt-weights.md, which is what the .npz export writes: the linear
// layers keep their weights as [in, out] so that y = x @ W + b, GPT-2's own layout.
#pragma once
#include <torch/torch.h>

#include <nlohmann/json.hpp>
#include <string>

namespace pxtrain {

struct GptConfig {
    int layers = 4, width = 256, heads = 4, context = 256, vocab = 256;
    double ln_eps = 1e-5;
    // Training only (not in to_json: inference has no dropout): the probability of zeroing an
    // element of the embedding sum and of each residual branch's output, in train() mode.
    double dropout = 0;
    nlohmann::json to_json() const;
    int64_t parameters() const; // the count of trainable numbers (tied head counted once)
};

// One linear layer in the [in, out] layout (x @ W + b).
struct DenseImpl : torch::nn::Module {
    DenseImpl(int64_t in, int64_t out);
    torch::Tensor forward(const torch::Tensor& x);
    torch::Tensor weight, bias;
};
TORCH_MODULE(Dense);

struct BlockImpl : torch::nn::Module {
    BlockImpl(const GptConfig& c);
    torch::Tensor forward(const torch::Tensor& x);
    GptConfig cfg;
    torch::nn::LayerNorm ln_1{nullptr}, ln_2{nullptr};
    Dense c_attn{nullptr}, attn_proj{nullptr}, c_fc{nullptr}, mlp_proj{nullptr};
};
TORCH_MODULE(Block);

struct GptImpl : torch::nn::Module {
    explicit GptImpl(const GptConfig& c);
    // tokens [B, T] int64 -> logits [B, T, vocab]
    torch::Tensor forward(const torch::Tensor& tokens);
    // Every weight by its docs/gpt-weights.md name, as float32 [.. shape ..] in the export layout.
    std::vector<std::pair<std::string, torch::Tensor>> named_weights();
    GptConfig cfg;
    torch::Tensor wte, wpe;
    std::vector<Block> blocks;
    torch::nn::LayerNorm ln_f{nullptr};
};
TORCH_MODULE(Gpt);

} // namespace pxtrain

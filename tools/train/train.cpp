// pxtrain — trains the pxOS language model (tools/train/gpt.h) on token ids with libtorch on the
// CPU, and exports the best checkpoint as .npz (docs/gpt-weights.md).
//
// Data: a training and a validation file of token ids, either .u16 (little-endian uint16, what
// `pxi tokenize --ids-out` writes) or raw bytes (--format bytes: each byte is a token, vocabulary
// 256). Training: random windows of `context` tokens (a seeded splitmix64 picks the offsets),
// AdamW (betas 0.9/0.95, weight decay on matrices only), linear warmup then cosine decay to a
// tenth of the peak learning rate, gradient norm clipped to 1. Every --eval-every steps the mean
// loss on fixed validation windows is measured; each new best is exported at once (best.npz and
// config.json, atomically). At the end the best weights are scored on the whole test file: loss
// per token, perplexity and bits per byte of the original text. Files in --out:
//   config.json   the model's shape (docs/gpt-weights.md), written at the start
//   best.npz      the best weights by validation loss
//   loss.csv      step, tokens, lr, train_loss, valid_loss, elapsed_s (one line a --log-every)
//   loss.png      the curves (gnuplot, when installed; loss.gp is its script)
//   summary.json  sizes, throughput, best step, validation and test figures
#include "gpt.h"
#include "npz.h"
#include "pace.h"
#include "png_io.h"

#include <CLI/CLI.hpp>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>

extern char** environ;

namespace {

using namespace pxtrain;
using Clock = std::chrono::steady_clock;

struct Args {
    std::string train, valid, test, test_text, out, format = "u16";
    GptConfig cfg;
    int batch = 16, steps = 0, warmup = 100, eval_every = 100, eval_batches = 8, log_every = 10, threads = 0;
    double minutes = 0, lr = 3e-3, min_lr_ratio = 0.1, weight_decay = 0.1, clip = 1.0;
    uint64_t seed = 1;
    bool measure = false, force = false;
};

[[noreturn]] void die(const std::string& message) {
    std::cerr << "pxtrain: " << message << "\n";
    std::exit(2);
}

std::vector<uint8_t> read_bytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) die(path + ": cannot open");
    std::vector<uint8_t> b((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (in.bad()) die(path + ": read error");
    return b;
}

// Token ids as int64 (what embedding takes), every one checked against the vocabulary.
torch::Tensor load_ids(const std::string& path, const Args& a) {
    const std::vector<uint8_t> b = read_bytes(path);
    std::vector<int64_t> ids;
    if (a.format == "bytes") {
        ids.assign(b.begin(), b.end());
    } else {
        if (b.size() % 2)
            die(path + ": " + std::to_string(b.size()) + " bytes, not a whole number of uint16 ids");
        ids.resize(b.size() / 2);
        for (size_t i = 0; i < ids.size(); ++i)
            ids[i] = int64_t(b[2 * i]) | int64_t(b[2 * i + 1]) << 8;
    }
    for (size_t i = 0; i < ids.size(); ++i)
        if (ids[i] >= a.cfg.vocab)
            die(path + ": token " + std::to_string(i) + " is " + std::to_string(ids[i]) +
                ", outside the vocabulary of " + std::to_string(a.cfg.vocab));
    if (int64_t(ids.size()) < a.cfg.context + 2)
        die(path + ": " + std::to_string(ids.size()) + " tokens, fewer than one window of context + 1");
    return torch::tensor(ids, torch::kInt64);
}

// CPU seconds this process has used (all threads): throughput per CPU second is what a shared,
// busy machine can still measure; wall-clock tokens/s there mostly measures the other load.
double cpu_seconds() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
           1e-6 * double(u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

uint64_t splitmix64(uint64_t& s) {
    uint64_t z = (s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

// Windows [off, off + T + 1) of `data` as inputs [B, T] and targets [B, T].
std::pair<torch::Tensor, torch::Tensor> windows(const torch::Tensor& data,
                                                const std::vector<int64_t>& offsets, int T) {
    std::vector<torch::Tensor> rows;
    for (int64_t o : offsets)
        rows.push_back(data.slice(0, o, o + T + 1));
    auto w = torch::stack(rows);
    return {w.slice(1, 0, T), w.slice(1, 1, T + 1)};
}

// Mean cross-entropy (nats per token) over fixed windows.
double eval_windows(Gpt& model, const torch::Tensor& data, const std::vector<int64_t>& offsets, int T,
                    int batch) {
    torch::NoGradGuard ng;
    model->eval();
    double sum = 0;
    int64_t n = 0;
    for (size_t i = 0; i < offsets.size(); i += size_t(batch)) {
        std::vector<int64_t> part(offsets.begin() + i,
                                  offsets.begin() + std::min(offsets.size(), i + size_t(batch)));
        auto [x, y] = windows(data, part, T);
        auto logits = model(x);
        sum += torch::nn::functional::cross_entropy(
                   logits.view({-1, logits.size(-1)}), y.reshape({-1}),
                   torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum))
                   .item<double>();
        n += y.numel();
    }
    model->train();
    return sum / double(n);
}

// The whole file scored once: non-overlapping windows, so every token but the first is predicted
// exactly once (from the tokens before it in its window); the first costs log(vocab), as if
// uniform. Returns the total in nats.
double eval_file(Gpt& model, const torch::Tensor& data, int T, int batch) {
    const int64_t N = data.size(0);
    std::vector<int64_t> offsets;
    for (int64_t o = 0; o + T + 1 <= N; o += T)
        offsets.push_back(o);
    double total = std::log(double(model->cfg.vocab));
    total += eval_windows(model, data, offsets, T, batch) * double(offsets.size() * size_t(T));
    const int64_t done = int64_t(offsets.size()) * T + 1, rest = N - done; // a last, shorter window
    if (rest > 0) {
        torch::NoGradGuard ng;
        model->eval();
        auto x = data.slice(0, done - 1, N - 1).unsqueeze(0), y = data.slice(0, done, N).unsqueeze(0);
        auto logits = model(x);
        total += torch::nn::functional::cross_entropy(
                     logits.view({-1, logits.size(-1)}), y.reshape({-1}),
                     torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum))
                     .item<double>();
        model->train();
    }
    return total;
}

std::string duration_text(double s) {
    const int t = int(std::lround(std::max(0.0, s)));
    std::ostringstream o;
    if (t >= 3600) o << t / 3600 << "h";
    if (t >= 60) o << std::setw(t >= 3600 ? 2 : 1) << std::setfill('0') << (t / 60) % 60 << "m";
    o << std::setw(t >= 60 ? 2 : 1) << std::setfill('0') << t % 60 << "s";
    return o.str();
}

void write_text(const std::string& path, const std::string& text) {
    auto st = px::write_file_atomic(
        path, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
    if (!st) die(st.error().message);
}

void export_npz(Gpt& model, const std::string& path) {
    std::map<std::string, px::NpyArray> arrays;
    for (auto& [name, t] : model->named_weights()) {
        auto c = t.detach().to(torch::kFloat32).contiguous();
        std::vector<float> v(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
        std::vector<uint64_t> shape(c.sizes().begin(), c.sizes().end());
        arrays[name] = px::make_npy_f32(shape, v);
    }
    if (auto st = px::write_npz(arrays, path, false); !st) die(st.error().message);
}

bool run_gnuplot(const std::string& script) {
    std::vector<std::string> argv_s = {"gnuplot", script};
    std::vector<char*> argv = {argv_s[0].data(), argv_s[1].data(), nullptr};
    pid_t pid = 0;
    if (posix_spawnp(&pid, "gnuplot", nullptr, nullptr, argv.data(), environ) != 0) return false;
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

void plot(const std::string& out, const GptConfig& c) {
    std::ostringstream gp;
    gp << "set terminal png size 900,560\nset output '" << out << "/loss.png'\nset datafile separator ','\n"
       << "set key top right\nset grid\nset xlabel 'step'\nset ylabel 'loss (nats per token)'\n"
       << "set title 'pxOS GPT: " << c.layers << " layers, width " << c.width << ", " << c.heads
       << " heads, context " << c.context << ", vocabulary " << c.vocab << "'\n"
       << "plot '" << out << "/loss.csv' using 1:4 skip 1 with lines title 'train', '" << out
       << "/loss.csv' using 1:($5 == 0 ? NaN : $5) skip 1 with linespoints pt 7 ps 0.6 title 'validation'\n";
    write_text(out + "/loss.gp", gp.str());
    if (!run_gnuplot(out + "/loss.gp"))
        std::cerr << "pxtrain: warning: gnuplot did not run (apt-get install gnuplot-nox); " << out
                  << "/loss.png not written, loss.csv and loss.gp are there\n";
}

int train(const Args& a) {
    GptConfig cfg = a.cfg;
    if (cfg.width % cfg.heads) die("--width must be a multiple of --heads");
    torch::manual_seed(a.seed);
    torch::set_num_threads(a.threads > 0 ? a.threads : int(std::thread::hardware_concurrency()));
    const torch::Tensor train = load_ids(a.train, a);
    const torch::Tensor valid = a.measure ? train : load_ids(a.valid, a);
    if (!a.measure) {
        std::error_code ec;
        std::filesystem::create_directories(a.out, ec);
        if (ec) die(a.out + ": cannot create: " + ec.message());
        if (std::filesystem::exists(a.out + "/best.npz") && !a.force)
            die(a.out + "/best.npz already exists; pass --force to replace it");
        write_text(a.out + "/config.json", cfg.to_json().dump(2) + "\n");
    }
    Gpt model(cfg);
    // AdamW, weight decay on the matrices (embeddings included), none on biases and LayerNorms.
    std::vector<torch::Tensor> decay, no_decay;
    for (auto& p : model->parameters())
        (p.dim() >= 2 ? decay : no_decay).push_back(p);
    std::vector<torch::optim::OptimizerParamGroup> groups;
    groups.emplace_back(
        decay, std::make_unique<torch::optim::AdamWOptions>(
                   torch::optim::AdamWOptions(a.lr).betas({0.9, 0.95}).weight_decay(a.weight_decay)));
    groups.emplace_back(no_decay, std::make_unique<torch::optim::AdamWOptions>(
                                      torch::optim::AdamWOptions(a.lr).betas({0.9, 0.95}).weight_decay(0.0)));
    torch::optim::AdamW opt(groups, torch::optim::AdamWOptions(a.lr));

    const int T = cfg.context, B = a.batch;
    uint64_t rng = a.seed;
    const int64_t span = train.size(0) - T - 1;
    // Fixed validation windows, evenly spaced over the file.
    std::vector<int64_t> val_offsets;
    const int64_t n_val = int64_t(a.eval_batches) * B, vspan = valid.size(0) - T - 1;
    for (int64_t i = 0; i < n_val; ++i)
        val_offsets.push_back(vspan * i / std::max<int64_t>(1, n_val - 1));

    std::cout << "pxtrain: " << cfg.layers << " layers, width " << cfg.width << ", " << cfg.heads
              << " heads, context " << T << ", vocabulary " << cfg.vocab << ": " << cfg.parameters()
              << " parameters; batch " << B << " x " << T << " tokens; " << train.size(0)
              << " training tokens, " << valid.size(0) << " validation tokens; " << torch::get_num_threads()
              << " threads\n";

    int total = a.steps;
    const auto t0 = Clock::now();
    auto t_measure = t0;
    // With --minutes the number of steps, and so the schedule (warmup is by step), is fixed after
    // step 15 from the pace of the steps before it (pace.h).
    StepBudget budget{.seconds = a.minutes * 60,
                      .eval_share = a.eval_every > 0 ? double(a.eval_batches) / (3.0 * a.eval_every) : 0};
    double cpu_measure = cpu_seconds();
    double best = 1e30, sum_loss = 0, elapsed_eval = 0;
    int best_step = -1, sum_n = 0;
    std::ofstream csv;
    if (!a.measure) {
        csv.open(a.out + "/loss.csv");
        csv << "step,tokens,lr,train_loss,valid_loss,elapsed_s\n";
    }
    std::vector<std::pair<std::string, torch::Tensor>> best_weights;
    double lr = a.lr, last_valid = 0;
    for (int step = 1; total == 0 || step <= total; ++step) {
        const int sched_total = total == 0 ? 1 << 30 : total;
        if (step <= a.warmup)
            lr = a.lr * step / a.warmup;
        else {
            const double p = std::min(1.0, double(step - a.warmup) / std::max(1, sched_total - a.warmup));
            lr = a.lr * (a.min_lr_ratio + (1 - a.min_lr_ratio) * 0.5 * (1 + std::cos(M_PI * p)));
        }
        for (auto& g : opt.param_groups())
            static_cast<torch::optim::AdamWOptions&>(g.options()).lr(lr);

        std::vector<int64_t> offsets(B);
        for (auto& o : offsets)
            o = int64_t(splitmix64(rng) % uint64_t(span));
        auto [x, y] = windows(train, offsets, T);
        auto logits = model(x);
        auto loss = torch::nn::functional::cross_entropy(logits.view({-1, cfg.vocab}), y.reshape({-1}));
        opt.zero_grad();
        loss.backward();
        torch::nn::utils::clip_grad_norm_(model->parameters(), a.clip);
        opt.step();
        sum_loss += loss.item<double>(), ++sum_n;
        if (step == 2) t_measure = Clock::now(), cpu_measure = cpu_seconds();

        const bool last = total != 0 && step == total;
        const bool eval = !a.measure && ((a.eval_every > 0 && step % a.eval_every == 0) || last);
        std::string valid_text;
        if (eval) {
            const auto e0 = Clock::now();
            last_valid = eval_windows(model, valid, val_offsets, T, B);
            elapsed_eval += std::chrono::duration<double>(Clock::now() - e0).count();
            valid_text = std::to_string(last_valid);
            if (last_valid < best) {
                best = last_valid, best_step = step;
                best_weights.clear();
                for (auto& [n, t] : model->named_weights())
                    best_weights.push_back({n, t.detach().clone()});
                export_npz(model, a.out + "/best.npz");
            }
        }
        if (step % a.log_every == 0 || eval || last) {
            const double el = std::chrono::duration<double>(Clock::now() - t0).count();
            const double tps = double(step) * B * T / (el - elapsed_eval);
            std::cout << "step " << step << "/" << (total ? std::to_string(total) : "?") << std::fixed
                      << std::setprecision(4) << "  loss " << sum_loss / sum_n;
            if (eval) std::cout << "  valid " << last_valid << (best_step == step ? " *" : "");
            std::cout << std::scientific << std::setprecision(2) << "  lr " << lr << std::fixed
                      << std::setprecision(0) << "  " << tps << " tok/s  elapsed " << duration_text(el);
            if (total) std::cout << "  left " << duration_text(el / step * (total - step));
            std::cout << std::endl;
            if (csv.is_open())
                csv << step << "," << int64_t(step) * B * T << "," << lr << "," << sum_loss / sum_n << ","
                    << (eval ? valid_text : "") << "," << el << "\n"
                    << std::flush;
            sum_loss = 0, sum_n = 0;
        }
        // total is 0 only with --minutes, until the budget is decided (always past this step).
        if (total == 0 &&
            budget.after_step(step, std::chrono::duration<double>(Clock::now() - t0).count()) != 0) {
            total = budget.total;
            std::cout << "pxtrain: " << std::fixed << std::setprecision(3) << budget.per_step
                      << " s a step: " << total << " steps fit in " << a.minutes << " minutes\n";
        }
    }
    const double el = std::chrono::duration<double>(Clock::now() - t0).count();
    const double tps = double(total) * B * T / (el - elapsed_eval);
    if (a.measure) { // timed from the end of step 2: the first steps pay one-time setup
        const double n = double(total - 2) * B * T;
        std::cout << "{\"layers\": " << cfg.layers << ", \"width\": " << cfg.width
                  << ", \"heads\": " << cfg.heads << ", \"context\": " << T << ", \"vocab\": " << cfg.vocab
                  << ", \"batch\": " << B << ", \"parameters\": " << cfg.parameters()
                  << ", \"threads\": " << torch::get_num_threads() << ", \"steps\": " << total << std::fixed
                  << std::setprecision(1) << ", \"tokens_per_s\": "
                  << n / std::chrono::duration<double>(Clock::now() - t_measure).count()
                  << ", \"tokens_per_cpu_s\": " << n / (cpu_seconds() - cpu_measure) << "}\n";
        return 0;
    }
    csv.close();
    plot(a.out, cfg);

    // The best weights back in place, then the test file.
    {
        torch::NoGradGuard ng;
        auto now = model->named_weights();
        for (size_t i = 0; i < now.size(); ++i)
            now[i].second.copy_(best_weights[i].second);
    }
    nlohmann::json summary = {{"config", cfg.to_json()},
                              {"batch", B},
                              {"steps", total},
                              {"seconds", el},
                              {"tokens_per_s", tps},
                              {"best_step", best_step},
                              {"best_valid_loss", best},
                              {"lr", a.lr},
                              {"warmup", a.warmup},
                              {"dropout", cfg.dropout},
                              {"weight_decay", a.weight_decay},
                              {"seed", a.seed},
                              {"train", a.train},
                              {"valid", a.valid}};
    if (!a.test.empty()) {
        const torch::Tensor test = load_ids(a.test, a);
        const double nats = eval_file(model, test, T, B);
        const double bytes =
            a.test_text.empty() ? double(test.size(0)) : double(read_bytes(a.test_text).size());
        const double per_token = nats / double(test.size(0));
        summary["test"] = {{"file", a.test},
                           {"tokens", test.size(0)},
                           {"bytes", bytes},
                           {"loss_per_token", per_token},
                           {"perplexity_per_token", std::exp(per_token)},
                           {"bits_per_byte", nats / std::log(2.0) / bytes}};
        std::cout << std::fixed << std::setprecision(4) << "test: " << test.size(0) << " tokens, " << bytes
                  << " bytes: loss " << per_token << " nats/token, perplexity " << std::exp(per_token) << ", "
                  << nats / std::log(2.0) / bytes << " bits per byte\n";
    }
    write_text(a.out + "/summary.json", summary.dump(2) + "\n");
    std::cout << "best validation loss " << best << " at step " << best_step << "; wrote " << a.out
              << "/{best.npz,config.json,loss.csv,loss.png,summary.json} in " << duration_text(el) << "\n";
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    Args a;
    CLI::App app{
        "pxtrain: train the pxOS GPT on token ids (libtorch, CPU) and export the best weights as .npz"};
    app.add_option("--train", a.train, "training ids (.u16, or bytes with --format bytes)")->required();
    app.add_option("--valid", a.valid, "validation ids");
    app.add_option("--test", a.test, "test ids, scored once at the end with the best weights");
    app.add_option("--test-text", a.test_text,
                   "the test text the ids came from (bits per byte; default: one byte a token)");
    app.add_option("--format", a.format, "u16 (little-endian uint16 ids) or bytes")
        ->check(CLI::IsMember({"u16", "bytes"}))
        ->capture_default_str();
    app.add_option("--vocab", a.cfg.vocab, "vocabulary size")->capture_default_str();
    app.add_option("--layers", a.cfg.layers, "transformer blocks")->capture_default_str();
    app.add_option("--width", a.cfg.width, "model width d")->capture_default_str();
    app.add_option("--heads", a.cfg.heads, "attention heads (width / heads each)")->capture_default_str();
    app.add_option("--context", a.cfg.context, "tokens per window")->capture_default_str();
    app.add_option("--batch", a.batch, "windows per step")->capture_default_str();
    app.add_option("--steps", a.steps, "optimizer steps (or --minutes)");
    app.add_option("--minutes", a.minutes,
                   "time budget: the steps are set after step 15 from the pace of steps 6 to 15");
    app.add_option("--lr", a.lr, "peak learning rate")->capture_default_str();
    app.add_option("--warmup", a.warmup, "linear warmup steps")->capture_default_str();
    app.add_option("--dropout", a.cfg.dropout,
                   "dropout on the embeddings and residual branches (training only)")
        ->capture_default_str();
    app.add_option("--weight-decay", a.weight_decay, "AdamW weight decay on matrices")->capture_default_str();
    app.add_option("--eval-every", a.eval_every, "steps between validation losses")->capture_default_str();
    app.add_option("--eval-batches", a.eval_batches, "batches of fixed validation windows")
        ->capture_default_str();
    app.add_option("--log-every", a.log_every, "steps between progress lines")->capture_default_str();
    app.add_option("--threads", a.threads, "intra-op threads (default: all cores)");
    app.add_option("--seed", a.seed, "seed of the initialization and the batches")->capture_default_str();
    app.add_option("--out", a.out, "output directory");
    app.add_flag("--measure", a.measure,
                 "only time --steps steps (no evaluation, no files) and print tokens/s as JSON");
    app.add_flag("-f,--force", a.force, "replace an earlier run's files in --out");
    CLI11_PARSE(app, argc, argv);
    if (a.steps <= 0 && a.minutes <= 0) die("give --steps or --minutes");
    if (a.steps > 0 && a.minutes > 0) die("give --steps or --minutes, not both");
    if (a.measure && a.steps < 3) die("--measure needs --steps 3 or more");
    if (!a.measure && (a.valid.empty() || a.out.empty()))
        die("--valid and --out are required (except with --measure)");
    if (a.cfg.vocab < 2 || a.cfg.vocab > 65536) die("--vocab must be 2..65536");
    if (a.format == "bytes" && a.cfg.vocab != 256) die("--format bytes needs --vocab 256");
    if (!(a.cfg.dropout >= 0 && a.cfg.dropout < 1)) die("--dropout must be in [0, 1)");
    if (a.cfg.layers < 1 || a.cfg.width < 1 || a.cfg.heads < 1 || a.cfg.context < 2 || a.batch < 1)
        die("layers, width, heads, batch must be positive and context at least 2");
    if (a.warmup < 1) a.warmup = 1;
    if (a.log_every < 1) a.log_every = 1;
    try {
        return train(a);
    } catch (const c10::Error& e) {
        die(std::string("libtorch: ") + e.what_without_backtrace());
    }
}

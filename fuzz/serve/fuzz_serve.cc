// libFuzzer target: request bodies through `ernie serve`'s POST routes, over HTTP to servers
// running in this process (one small model per task head in f32, and the classifier and base
// model again in int8 and bf16). The first byte picks the server and the route, the rest is the body. Every answer must be JSON, and a request may be refused
// (4xx) but never break the server (no answer) or be answered 500: that is a finding.
#include <httplib.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "ernie/config.h"
#include "ernie/model_folder.h"
#include "ernie/serve.h"

namespace fs = std::filesystem;

namespace {

const char* const kRoutes[] = {"/predict",      "/embed",          "/embed_all",          "/rerank",
                               "/similarity",   "/tokenize",       "/decode",             "/v1/embeddings",
                               "/question-answering", "/token-classification", "/fill-mask"};
constexpr size_t kRouteCount = sizeof(kRoutes) / sizeof(kRoutes[0]);

struct Running {
  std::unique_ptr<ernie::Server> server;
  std::unique_ptr<httplib::Client> client;
};

fs::path g_dir;

void remove_dir() { std::filesystem::remove_all(g_dir); }

// A tiny model of each head, sharing one vocabulary of English words, pieces and CJK characters;
// servers 0-4 serve them in f32, 5 the classifier in int8, 6 the base model in bf16.
std::vector<Running>& servers() {
  static std::vector<Running>* all = [] {
    char tmpl[] = "/tmp/ernie-fuzz-serve-XXXXXX";
    if (!mkdtemp(tmpl)) std::abort();
    g_dir = tmpl;
    std::atexit(remove_dir);
    std::ofstream(g_dir / "vocab.txt") << "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nthe\nmodel\nis\nparis\nwhere\n"
                                          "##s\n##ing\n,\n.\n?\n中\n国\n人\n北\n京\n";
    auto* out = new std::vector<Running>;
    const std::pair<ernie::Head, const char*> served[] = {
        {ernie::Head::SequenceClassification, "f32"}, {ernie::Head::QuestionAnswering, "f32"},
        {ernie::Head::TokenClassification, "f32"},    {ernie::Head::MaskedLM, "f32"},
        {ernie::Head::Base, "f32"},                   {ernie::Head::SequenceClassification, "int8"},
        {ernie::Head::Base, "bf16"}};
    for (const auto& [head, dtype] : served) {
      ernie::Config cfg;
      cfg.vocab_size = 20;
      cfg.hidden_size = 16;
      cfg.num_hidden_layers = 1;
      cfg.num_attention_heads = 2;
      cfg.intermediate_size = 32;
      cfg.max_position_embeddings = 24;   // short, so that over-long inputs are easy to find
      cfg.architectures = {std::string("Ernie") + ernie::to_string(head)};
      cfg.id2label = {"neg", "pos", "mid"};
      cfg.labels_given = true;
      const fs::path dir = g_dir / ernie::to_string(head);
      if (!fs::exists(dir)) ernie::init_model_folder(cfg, dir, 7, ernie::InitStyle::HuggingFace, g_dir / "vocab.txt");
      ernie::ServeOptions o;
      o.model_dir = dir.string();
      o.dtype = dtype;
      o.port = 0;
      o.threads = 1;
      o.http_threads = 2;
      o.max_wait_ms = 0;
      o.max_client_batch_size = 8;
      o.max_input_chars = 512;
      Running r;
      r.server = std::make_unique<ernie::Server>(o);
      const int port = r.server->bind();
      std::thread([s = r.server.get()] { s->run(); }).detach();
      r.client = std::make_unique<httplib::Client>("127.0.0.1", port);
      r.client->set_read_timeout(20, 0);
      out->push_back(std::move(r));
    }
    return out;
  }();
  return *all;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  auto& all = servers();
  Running& r = all[data[0] % all.size()];
  const char* route = kRoutes[(data[0] / all.size()) % kRouteCount];
  const std::string body(reinterpret_cast<const char*>(data + 1), size - 1);
  const auto res = r.client->Post(route, body, "application/json");
  if (!res) {
    std::fprintf(stderr, "POST %s: no answer (%s)\n", route, httplib::to_string(res.error()).c_str());
    std::abort();
  }
  if (res->status >= 500 || !nlohmann::json::accept(res->body)) {
    std::fprintf(stderr, "POST %s: %d %s\n", route, res->status, res->body.c_str());
    std::abort();
  }
  return 0;
}

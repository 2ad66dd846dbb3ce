// Helpers of the server tests: fixture model folders, an in-process server on an ephemeral port,
// JSON requests and the error contract.
#pragma once
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <httplib.h>

#include <filesystem>
#include <memory>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "ernie/serve.h"
#include "test_util.h"

namespace serve_test {

namespace fs = std::filesystem;
using ernie::testing::TempDir;
using ernie::testing::write_file;
using nlohmann::json;

// Entry i of the generated vocab: a letter (a + i % 26), then i: f5, g6, h7, ...
inline std::string vocab_word(int i) {
  std::string w(1, static_cast<char>('a' + i % 26));
  w += std::to_string(i);
  return w;
}

// A fixture model folder with a generated vocab of its vocab_size (120 tokens: f5 g6 h7 ...).
inline void make_model(const fs::path& dir, const std::string& fixture) {
  const auto fx = ernie::testing::fixtures_dir() / fixture;
  fs::copy(fx / "config.json", dir / "config.json");
  fs::copy(fx / "model.safetensors", dir / "model.safetensors");
  std::string vocab = "[PAD]\n[CLS]\n[SEP]\n[UNK]\n[MASK]\n";
  for (int i = 5; i < 120; ++i) {
    vocab += vocab_word(i);
    vocab += '\n';
  }
  write_file(dir / "vocab.txt", vocab);
}

struct Models {
  TempDir tmp;
  fs::path classifier = tmp / "ernie_relu_seqcls";    // ErnieForSequenceClassification, 3 labels, 40 tokens
  fs::path encoder = tmp / "bert_gelu_fast_model";     // BertModel: no classification head
  Models() {
    fs::create_directories(classifier);
    fs::create_directories(encoder);
    make_model(classifier, "ernie_relu_seqcls");
    make_model(encoder, "bert_gelu_fast_model");
  }
};

inline const Models& models() {
  static Models m;
  return m;
}

// An in-process server on an ephemeral loopback port, stopped (gracefully) on destruction.
struct Running {
  explicit Running(ernie::ServeOptions o) {
    o.host = "127.0.0.1";
    o.port = 0;
    if (o.model_dir.empty()) o.model_dir = models().classifier.string();
    server = std::make_unique<ernie::Server>(o);
    port = server->bind();
    thread = std::thread([this] { server->run(); });
  }
  ~Running() {
    server->stop();
    thread.join();
  }
  httplib::Client client(const std::string& key = "") const {
    httplib::Client c("127.0.0.1", port);
    c.set_read_timeout(30, 0);
    if (!key.empty()) c.set_bearer_token_auth(key.c_str());
    return c;
  }
  std::unique_ptr<ernie::Server> server;
  std::thread thread;
  int port = 0;
};

inline ernie::ServeOptions defaults() { return ernie::ServeOptions{}; }

struct Answer {
  int status = 0;
  json body;
  std::string text, content_type, retry_after;
};

inline Answer answer_of(const httplib::Result& r) {
  Answer a;
  if (!r) {
    a.status = -static_cast<int>(r.error());
    return a;
  }
  a.status = r->status;
  a.text = r->body;
  a.content_type = r->get_header_value("Content-Type");
  a.retry_after = r->get_header_value("Retry-After");
  a.body = json::parse(r->body, nullptr, /*allow_exceptions=*/false);
  return a;
}

inline Answer post(httplib::Client& c, const std::string& path, const std::string& body) {
  return answer_of(c.Post(path.c_str(), body, "application/json"));
}

inline Answer get(httplib::Client& c, const std::string& path) { return answer_of(c.Get(path.c_str())); }

// The error contract: a status, a JSON body {"error": non-empty string, "error_type": type}.
inline void expect_error(const Answer& a, int status, const std::string& type) {
  EXPECT_EQ(a.status, status) << a.text;
  ASSERT_TRUE(a.body.is_object()) << a.text;
  ASSERT_TRUE(a.body.contains("error") && a.body["error"].is_string()) << a.text;
  EXPECT_FALSE(a.body["error"].get<std::string>().empty());
  EXPECT_EQ(a.body.value("error_type", ""), type) << a.text;
}

inline double metric(const std::string& text, const std::string& series) {
  // "series value" on a line of its own.
  size_t pos = 0;
  while ((pos = text.find(series + " ", pos)) != std::string::npos) {
    if (pos == 0 || text[pos - 1] == '\n') return std::stod(text.substr(pos + series.size() + 1));
    pos += series.size();
  }
  return -1;
}

inline std::string words(int n) {
  std::string s;
  for (int i = 0; i < n; ++i) {
    if (i) s += ' ';
    s += vocab_word(5 + i % 100);
  }
  return s;
}

// Body in chunks of 100 bytes, then the last chunk.
inline std::string chunked(const std::string& body) {
  std::string out;
  char size[16];
  for (size_t i = 0; i < body.size(); i += 100) {
    const std::string piece = body.substr(i, 100);
    std::snprintf(size, sizeof size, "%zx\r\n", piece.size());
    out += size + piece + "\r\n";
  }
  return out + "0\r\n\r\n";
}

// Sends `request` on a fresh loopback connection and returns what comes back within 2 s.
inline std::string raw_exchange(int port, const std::string& request) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string got;
  if (fd >= 0 && ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    ::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
    timeval tv{2, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char buf[4096];
    ssize_t n;
    while (got.find("\r\n\r\n") == std::string::npos && (n = ::recv(fd, buf, sizeof buf, 0)) > 0)
      got.append(buf, static_cast<size_t>(n));
  }
  if (fd >= 0) ::close(fd);
  return got;
}

inline std::string first_line(const std::string& s) { return s.substr(0, s.find("\r\n")); }

}  // namespace serve_test

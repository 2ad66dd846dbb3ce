// Many clients at once: a burst of new connections is taken at once (none waits for a SYN
// retransmission, a second on Linux, which cpp-httplib's listen backlog of 5 caused for 9 of 16
// load-test clients connecting together), and every open keep-alive connection has a handler.
#include <poll.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "serve_util.h"

namespace serve_test {
namespace {

TEST(ServeConnections, ABurstOfNewConnectionsIsEstablishedWithoutRetries) {
  Running srv(defaults());
  constexpr int kBurst = 100;   // under 128, the somaxconn cap of kernels before 5.4
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(srv.port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::vector<pollfd> fds;
  for (int i = 0; i < kBurst; ++i) {   // every SYN sent before any handshake is waited for
    const int s = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    ASSERT_GE(s, 0);
    const int rc = ::connect(s, reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
    ASSERT_TRUE(rc == 0 || errno == EINPROGRESS) << "connect " << i;
    fds.push_back({s, POLLOUT, 0});
  }
  // Established within half a second: a dropped SYN is only sent again after one.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(500);
  int established = 0;
  for (pollfd& p : fds) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (::poll(&p, 1, static_cast<int>(std::max<int64_t>(0, left.count()))) == 1 && (p.revents & POLLOUT)) {
      int err = 0;
      socklen_t len = sizeof err;
      ::getsockopt(p.fd, SOL_SOCKET, SO_ERROR, &err, &len);
      established += err == 0;
    }
  }
  for (const pollfd& p : fds) ::close(p.fd);
  EXPECT_EQ(established, kBurst);
  // And the server still answers.
  auto c = srv.client();
  EXPECT_EQ(get(c, "/health").status, 200);
}

// 100 keep-alive clients, each holding its connection open after its first answer: with a
// handler per connection all are answered at once; with fewer handlers than connections (64 was
// the default) the rest waited for others to close, 5 s of keep-alive idleness.
TEST(ServeConnections, EveryKeepAliveClientIsServedWithoutWaitingForAnother) {
  Running srv(defaults());
  constexpr int kClients = 100;
  std::atomic<int> answered{0}, ok{0};
  std::atomic<bool> release{false};
  std::vector<std::thread> clients;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < kClients; ++i)
    clients.emplace_back([&] {
      auto c = srv.client();
      c.set_keep_alive(true);
      ok += get(c, "/health").status == 200;
      ++answered;
      while (!release) std::this_thread::sleep_for(std::chrono::milliseconds(5));   // connection stays open
    });
  while (answered < kClients && std::chrono::steady_clock::now() - start < std::chrono::seconds(20))
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  release = true;
  for (auto& t : clients) t.join();
  EXPECT_EQ(ok.load(), kClients);
  EXPECT_LT(seconds, 3.0) << "the last of " << kClients << " keep-alive clients was answered after " << seconds << " s";
}

}  // namespace
}  // namespace serve_test

// A burst of new connections is taken at once: none waits for a SYN retransmission (a second on
// Linux), which a listen backlog of 5 (cpp-httplib's default) caused for 9 of 16 load-test
// clients connecting together.
#include <fcntl.h>
#include <poll.h>

#include <chrono>
#include <vector>

#include "serve_util.h"

namespace serve_test {
namespace {

TEST(ServeConnections, ABurstOfNewConnectionsIsEstablishedWithoutRetries) {
  Running srv(defaults());
  constexpr int kBurst = 200;
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

}  // namespace
}  // namespace serve_test

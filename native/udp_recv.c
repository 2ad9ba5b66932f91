/*
 * UDP receiver on 127.0.0.1 (SO_RCVBUF --rcvbuf): an epoll loop that drains the
 * socket with recv() per datagram (--batch 1) or recvmmsg() of --batch, until
 * a line (or end of file) arrives on stdin.
 *
 *   udp_recv [--port 0] [--size 2048] [--batch 1] [--rcvbuf 4194304]
 *
 * Prints {"ready":true,"port":N}, then on stop
 * {"received":…,"secs":…,"per_s":…} (timed from the first datagram to the last).
 */
#include "common.h"

int main(int argc, char **argv) {
  size_t size = (size_t)arg_int(argc, argv, "--size", 2048);
  int batch = (int)arg_int(argc, argv, "--batch", 1);
  int rcvbuf = (int)arg_int(argc, argv, "--rcvbuf", 4 << 20);
  if (batch < 1 || batch > 1024) batch = 1;
  if (size < 2048) size = 2048;
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) die("socket");
  set_int_opt(fd, SOL_SOCKET, SO_RCVBUF, rcvbuf);
  struct sockaddr_in at = loopback((int)arg_int(argc, argv, "--port", 0));
  if (bind(fd, (struct sockaddr *)&at, sizeof at) < 0) die("bind");
  int ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) die("epoll_create1");
  struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
  if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) die("epoll_ctl");
  struct epoll_event sev = {.events = EPOLLIN, .data.fd = 0};
  if (epoll_ctl(ep, EPOLL_CTL_ADD, 0, &sev) < 0) die("epoll_ctl stdin");
  char *bufs = malloc(size * (size_t)batch);
  struct mmsghdr *msgs = calloc((size_t)batch, sizeof *msgs);
  struct iovec *iov = calloc((size_t)batch, sizeof *iov);
  for (int i = 0; i < batch; i++) {
    iov[i].iov_base = bufs + (size_t)i * size;
    iov[i].iov_len = size;
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }
  print_ready(bound_port(fd));
  unsigned long long received = 0;
  uint64_t first = 0, last = 0;
  struct epoll_event evs[2];
  for (;;) {
    int n = epoll_wait(ep, evs, 2, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      die("epoll_wait");
    }
    int stop = 0;
    for (int i = 0; i < n; i++) {
      if (evs[i].data.fd == 0) {
        stop = 1;
        continue;
      }
      for (;;) {
        int got;
        if (batch == 1) got = recv(fd, bufs, size, 0) >= 0 ? 1 : -1;
        else got = recvmmsg(fd, msgs, (unsigned)batch, 0, NULL);
        if (got <= 0) break;
        if (received == 0) first = now_ns();
        received += (unsigned long long)got;
        last = now_ns();
      }
    }
    if (stop) break;
  }
  double secs = received > 1 ? (double)(last - first) / 1e9 : 0;
  printf("{\"received\":%llu,\"secs\":%.4f,\"per_s\":%.0f}\n", received, secs, secs > 0 ? (double)received / secs : 0);
  return 0;
}

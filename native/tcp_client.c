/*
 * TCP ping-pong client: one connection to 127.0.0.1:port, TCP_NODELAY, sends
 * --size bytes and waits for the echo, --rounds times after a warm-up of at
 * least --warmup round trips and --warmup-ms milliseconds.
 *
 *   tcp_client --port N [--size 64] [--rounds N] [--warmup N] [--warmup-ms M] [--wait epoll|busy]
 *
 * --wait epoll: epoll_wait(-1) then read; busy: epoll_wait(0) until readable.
 * Prints {"mean_us":…,"p50_us":…,"p99_us":…,…,"count":N} (common.h samples_json).
 */
#include "common.h"

int main(int argc, char **argv) {
  int port = (int)arg_int(argc, argv, "--port", 0);
  size_t size = (size_t)arg_int(argc, argv, "--size", 64);
  long long rounds = arg_int(argc, argv, "--rounds", 20000);
  long long warmup = arg_int(argc, argv, "--warmup", 2000);
  double warmup_ms = arg_double(argc, argv, "--warmup-ms", 0);
  int busy = strcmp(arg_str(argc, argv, "--wait", "epoll"), "busy") == 0;
  if (size < 1 || size > 65536) size = 64;

  int fd = tcp_connect(port);
  if (fd < 0) die("connect");
  set_int_opt(fd, IPPROTO_TCP, TCP_NODELAY, 1);
  set_nonblocking(fd, 1);
  int ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) die("epoll_create1");
  struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
  if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) die("epoll_ctl");

  char *msg = calloc(1, size), *in = calloc(1, 65536);
  memset(msg, 'x', size);
  samples_t s = samples_new((size_t)rounds);
  warmup_t warm = warmup_new(warmup, warmup_ms);
  for (long long i = 0; s.n < (size_t)rounds; i++) {
    uint64_t t0 = now_ns();
    write_all(fd, msg, size);
    size_t got = 0;
    while (got < size) {
      int n = epoll_wait(ep, &ev, 1, busy ? 0 : -1);
      if (n < 0 && errno != EINTR) die("epoll_wait");
      if (n <= 0) continue;
      ssize_t r = read(fd, in, 65536);
      if (r == 0) {
        fprintf(stderr, "tcp_client: server closed\n");
        return 1;
      }
      if (r < 0) {
        if (errno == EAGAIN || errno == EINTR) continue;
        die("read");
      }
      got += (size_t)r;
    }
    uint64_t t1 = now_ns();
    if (!warming(&warm, i, t0)) samples_add(&s, t1 - t0);
  }
  char stats[512];
  samples_json(&s, stats, sizeof stats);
  printf("{%s}\n", stats);
  return 0;
}

/*
 * fd ping-pong between two processes over eventfds or pipes, inherited from the
 * runner: fd 3 is the one this process waits on and reads, fd 4 the one it
 * writes.
 *
 *   pingpong_fd driver [--wait epoll|busy] [--size 8] [--rounds N] [--warmup N] [--warmup-ms M]
 *   pingpong_fd peer   [--wait epoll|busy] [--size 8]
 *
 * The driver writes a message to fd 4 and waits for the answer on fd 3, N times,
 * after a warm-up of at least --warmup round trips and --warmup-ms milliseconds,
 * and prints the round-trip statistics. The peer answers each message (runs
 * until killed or its fd 3 reaches end of file). An eventfd message is the
 * 8-byte counter; a pipe message is --size bytes.
 *
 * --wait epoll: epoll_wait(-1) then read (a plain blocking epoll loop);
 * --wait busy:  epoll_wait(0) until ready, then read (busy-polling).
 */
#include "common.h"

static int ep;
static int busy;

static void wait_readable(void) {
  struct epoll_event ev;
  for (;;) {
    int n = epoll_wait(ep, &ev, 1, busy ? 0 : -1);
    if (n > 0) return;
    if (n < 0 && errno != EINTR) die("epoll_wait");
  }
}

/* Waits for and reads one message; 0 at end of file. */
static ssize_t read_msg(char *buf, size_t size) {
  for (;;) {
    wait_readable();
    ssize_t r = read(3, buf, size);
    if (r >= 0) return r;
    if (errno != EAGAIN && errno != EINTR) die("read");
  }
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: pingpong_fd driver|peer [--wait epoll|busy] [--size 8] [--rounds N] [--warmup N] [--warmup-ms M]\n");
    return 2;
  }
  int driver = strcmp(argv[1], "driver") == 0;
  busy = strcmp(arg_str(argc, argv, "--wait", "epoll"), "busy") == 0;
  size_t size = (size_t)arg_int(argc, argv, "--size", 8);
  long long rounds = arg_int(argc, argv, "--rounds", 20000);
  long long warmup = arg_int(argc, argv, "--warmup", 2000);
  double warmup_ms = arg_double(argc, argv, "--warmup-ms", 0);
  if (size < 8 || size > 4096) size = 8;

  ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) die("epoll_create1");
  struct epoll_event ev = {.events = EPOLLIN, .data.fd = 3};
  if (epoll_ctl(ep, EPOLL_CTL_ADD, 3, &ev) < 0) die("epoll_ctl");

  char buf[4096];
  memset(buf, 0, sizeof buf);
  buf[0] = 1; /* an eventfd write adds this little-endian 1 */

  if (!driver) {
    for (;;) {
      ssize_t n = read_msg(buf, size);
      if (n == 0) return 0;
      write_all(4, buf, (size_t)n);
    }
  }

  samples_t s = samples_new((size_t)rounds);
  char out[4096];
  buf[0] = 1;
  warmup_t warm = warmup_new(warmup, warmup_ms);
  for (long long i = 0; s.n < (size_t)rounds; i++) {
    uint64_t t0 = now_ns();
    write_all(4, buf, size);
    size_t got = 0;
    while (got < size) {
      ssize_t n = read_msg(buf + got, size - got);
      if (n == 0) {
        fprintf(stderr, "pingpong_fd: peer closed\n");
        return 1;
      }
      got += (size_t)n;
    }
    uint64_t t1 = now_ns();
    buf[0] = 1;
    if (!warming(&warm, i, t0)) samples_add(&s, t1 - t0);
  }
  char stats[512];
  samples_json(&s, stats, sizeof stats);
  snprintf(out, sizeof out, "{%s,\"rounds\":%lld}", stats, rounds);
  puts(out);
  fflush(stdout);
  return 0;
}

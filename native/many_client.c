/*
 * Many-connections client: opens --idle connections and --active connections;
 * every idle connection exchanges one --size message with the server (so the
 * server has accepted it and built its per-connection state) and then stays
 * silent. It prints {"phase":"connected",…} and waits for a line on stdin (the
 * runner samples the server's memory meanwhile). Then every active connection
 * runs a closed-loop ping-pong of --size bytes (TCP_NODELAY), all from one
 * epoll loop; after --warmup seconds it measures for --secs: round trips per
 * second over all active connections, and each round trip's time.
 *
 *   many_client --port N [--idle 10000] [--active 100] [--size 64] [--secs 2] [--warmup 0.5]
 *
 * Prints {"msgs_per_s":…,"mean_us":…,"p50_us":…,"p99_us":…,"count":…}, then
 * keeps the connections open until stdin has another line or ends, and resets
 * them all (SO_LINGER 0: no TIME_WAIT).
 */
#include "common.h"

static void linger0(int fd) {
  struct linger l = {1, 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
}

int main(int argc, char **argv) {
  int port = (int)arg_int(argc, argv, "--port", 0);
  int idle = (int)arg_int(argc, argv, "--idle", 10000);
  int active = (int)arg_int(argc, argv, "--active", 100);
  size_t size = (size_t)arg_int(argc, argv, "--size", 64);
  double secs = arg_double(argc, argv, "--secs", 2);
  double warm = arg_double(argc, argv, "--warmup", 0.5);
  if (size < 1 || size > 4096) size = 64;

  int *idle_fds = calloc((size_t)idle + 1, sizeof(int));
  uint64_t c0 = now_ns();
  for (int i = 0; i < idle; i++) {
    idle_fds[i] = tcp_connect(port);
    if (idle_fds[i] < 0) die("connect (idle)");
    linger0(idle_fds[i]);
  }
  int ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) die("epoll_create1");
  int *fds = calloc((size_t)active, sizeof(int));
  size_t *got = calloc((size_t)active, sizeof(size_t));
  uint64_t *sent_at = calloc((size_t)active, sizeof(uint64_t));
  for (int i = 0; i < active; i++) {
    fds[i] = tcp_connect(port);
    if (fds[i] < 0) die("connect (active)");
    linger0(fds[i]);
    set_int_opt(fds[i], IPPROTO_TCP, TCP_NODELAY, 1);
    set_nonblocking(fds[i], 1);
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev) < 0) die("epoll_ctl");
  }
  char msg[4096], in[65536];
  memset(msg, 'm', sizeof msg);
  /* One message per idle connection: all sent first, then every echo read. */
  for (int i = 0; i < idle; i++) write_all(idle_fds[i], msg, size);
  for (int i = 0; i < idle; i++) {
    size_t got = 0;
    while (got < size) {
      ssize_t r = read(idle_fds[i], in, size - got);
      if (r == 0) {
        fprintf(stderr, "many_client: server closed an idle connection\n");
        return 1;
      }
      if (r < 0) {
        if (errno == EINTR) continue;
        die("read (idle)");
      }
      got += (size_t)r;
    }
  }
  printf("{\"phase\":\"connected\",\"connect_secs\":%.3f}\n", (double)(now_ns() - c0) / 1e9);
  fflush(stdout);
  char line[64];
  if (read(0, line, sizeof line) < 0) die("read stdin");

  samples_t s = samples_new(8u << 20);
  uint64_t start = now_ns();
  uint64_t measure_from = start + (uint64_t)(warm * 1e9);
  uint64_t end = measure_from + (uint64_t)(secs * 1e9);
  for (int i = 0; i < active; i++) {
    sent_at[i] = now_ns();
    write_all(fds[i], msg, size);
  }
  unsigned long long msgs = 0;
  struct epoll_event evs[256];
  for (;;) {
    int n = epoll_wait(ep, evs, 256, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      die("epoll_wait");
    }
    uint64_t now = now_ns();
    if (now >= end) break;
    for (int k = 0; k < n; k++) {
      int i = (int)evs[k].data.u32;
      ssize_t r = read(fds[i], in, sizeof in);
      if (r == 0) {
        fprintf(stderr, "many_client: server closed a connection\n");
        return 1;
      }
      if (r < 0) {
        if (errno == EAGAIN || errno == EINTR) continue;
        die("read");
      }
      got[i] += (size_t)r;
      if (got[i] < size) continue;
      got[i] -= size;
      now = now_ns();
      if (sent_at[i] >= measure_from) {
        msgs++;
        samples_add(&s, now - sent_at[i]);
      }
      sent_at[i] = now;
      write_all(fds[i], msg, size);
    }
  }
  char stats[512];
  samples_json(&s, stats, sizeof stats);
  printf("{\"msgs_per_s\":%.0f,%s}\n", (double)msgs / secs, stats);
  fflush(stdout);
  ssize_t ignored = read(0, line, sizeof line);
  (void)ignored;
  return 0;
}

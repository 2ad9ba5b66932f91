/*
 * TCP bulk transfer with plain blocking send/recv.
 *
 *   tcp_bulk recv [--port 0] [--chunk 65536]
 *   tcp_bulk send --port N [--bytes 1073741824] [--secs 5] [--chunk 65536]
 *
 * The receiver listens, prints {"ready":true,"port":N}, accepts one connection,
 * reads until end of file and prints {"mib_s":…,"bytes":…,"secs":…} (timed from
 * accept to end of file). The sender writes --chunk-byte writes until --bytes
 * are sent or --secs have passed, then closes.
 */
#include "common.h"

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: tcp_bulk recv|send ...\n");
    return 2;
  }
  size_t chunk = (size_t)arg_int(argc, argv, "--chunk", 65536);
  char *buf = malloc(chunk);
  if (buf == NULL) die("malloc");
  memset(buf, 'b', chunk);
  if (strcmp(argv[1], "recv") == 0) {
    int lfd = tcp_listen((int)arg_int(argc, argv, "--port", 0), 16);
    print_ready(bound_port(lfd));
    int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    if (c < 0) die("accept4");
    uint64_t t0 = now_ns();
    unsigned long long total = 0;
    for (;;) {
      ssize_t r = recv(c, buf, chunk, 0);
      if (r > 0) total += (unsigned long long)r;
      else if (r == 0) break;
      else if (errno != EINTR) die("recv");
    }
    double secs = (double)(now_ns() - t0) / 1e9;
    printf("{\"mib_s\":%.1f,\"bytes\":%llu,\"secs\":%.4f}\n", (double)total / 1048576.0 / secs, total, secs);
    return 0;
  }
  int port = (int)arg_int(argc, argv, "--port", 0);
  unsigned long long limit = (unsigned long long)arg_int(argc, argv, "--bytes", 1ll << 30);
  double max_secs = arg_double(argc, argv, "--secs", 5);
  int fd = tcp_connect(port);
  if (fd < 0) die("connect");
  uint64_t t0 = now_ns(), deadline = t0 + (uint64_t)(max_secs * 1e9);
  unsigned long long sent = 0;
  unsigned long writes = 0;
  while (sent < limit) {
    size_t want = limit - sent < chunk ? (size_t)(limit - sent) : chunk;
    ssize_t w = send(fd, buf, want, MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EINTR) continue;
      die("send");
    }
    sent += (unsigned long long)w;
    if ((++writes & 15) == 0 && now_ns() > deadline) break;
  }
  close(fd);
  double secs = (double)(now_ns() - t0) / 1e9;
  printf("{\"bytes\":%llu,\"secs\":%.4f}\n", sent, secs);
  return 0;
}

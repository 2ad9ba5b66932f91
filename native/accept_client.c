/*
 * Accept-rate client: --count sequential connections to 127.0.0.1:port; each is
 * a blocking connect, a read that waits for the server to close (end of file:
 * the server accepted and closed it), and a close.
 *
 *   accept_client --port N [--count 20000]
 *
 * Prints {"conns_per_s":…,"secs":…,"fails":…}.
 */
#include "common.h"

int main(int argc, char **argv) {
  int port = (int)arg_int(argc, argv, "--port", 0);
  long long count = arg_int(argc, argv, "--count", 20000);
  long long fails = 0;
  char b;
  uint64_t t0 = now_ns();
  for (long long i = 0; i < count; i++) {
    int fd = tcp_connect(port);
    if (fd < 0) {
      fails++;
      continue;
    }
    ssize_t r;
    do r = read(fd, &b, 1);
    while (r < 0 && errno == EINTR);
    if (r != 0) fails++;
    close(fd);
  }
  double secs = (double)(now_ns() - t0) / 1e9;
  printf("{\"conns_per_s\":%.0f,\"secs\":%.4f,\"fails\":%lld}\n", (double)(count - fails) / secs, secs, fails);
  return 0;
}

/*
 * Unpaced UDP sender on a socket connected to 127.0.0.1:port: --size-byte
 * datagrams for --secs, one send() per datagram (--batch 1) or sendmmsg() of
 * --batch datagrams.
 *
 *   udp_send --port N [--size 64] [--secs 1] [--batch 1]
 *
 * Prints {"sent":…,"secs":…,"sent_per_s":…,"errors":…}.
 */
#include "common.h"

int main(int argc, char **argv) {
  int port = (int)arg_int(argc, argv, "--port", 0);
  size_t size = (size_t)arg_int(argc, argv, "--size", 64);
  double max_secs = arg_double(argc, argv, "--secs", 1);
  int batch = (int)arg_int(argc, argv, "--batch", 1);
  if (batch < 1 || batch > 1024) batch = 1;
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) die("socket");
  struct sockaddr_in to = loopback(port);
  if (connect(fd, (struct sockaddr *)&to, sizeof to) < 0) die("connect");
  char *payload = malloc(size);
  memset(payload, 'u', size);
  struct mmsghdr *msgs = calloc((size_t)batch, sizeof *msgs);
  struct iovec *iov = calloc((size_t)batch, sizeof *iov);
  for (int i = 0; i < batch; i++) {
    iov[i].iov_base = payload;
    iov[i].iov_len = size;
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }
  uint64_t t0 = now_ns(), deadline = t0 + (uint64_t)(max_secs * 1e9);
  unsigned long long sent = 0, errors = 0;
  unsigned long iter = 0;
  for (;;) {
    if (batch == 1) {
      if (send(fd, payload, size, 0) >= 0) sent++;
      else errors++;
    } else {
      int r = sendmmsg(fd, msgs, (unsigned)batch, 0);
      if (r > 0) sent += (unsigned long long)r;
      else errors++;
    }
    if ((++iter & (batch == 1 ? 31 : 0)) == 0 && now_ns() > deadline) break;
  }
  double secs = (double)(now_ns() - t0) / 1e9;
  printf("{\"sent\":%llu,\"secs\":%.4f,\"sent_per_s\":%.0f,\"errors\":%llu}\n", sent, secs, (double)sent / secs, errors);
  return 0;
}

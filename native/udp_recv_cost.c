/*
 * The C floor of the UDP receive cost case (bench/cases/udpcost.ts): one
 * process queues --k datagrams of --size bytes on a socket (SO_RCVBUF 4 MiB)
 * with sendmmsg, untimed, then times taking them all out with recvmmsg of
 * --batch (source addresses included), each payload copied into a fresh
 * malloc'd buffer and freed, as the Node variants copy each datagram into a
 * fresh Uint8Array. --rounds rounds, the first --warm discarded.
 *
 *   udp_recv_cost [--size 64] [--k 1000] [--batch 32] [--rounds 40] [--warm 5]
 *
 * Prints {"recv_c_ns":…} (total time / datagrams) and, for scale,
 * {"recv_c_one_ns":…} for recvfrom per datagram, and {"recv_c_cpu_ns":…}: the
 * batched drain by this process's CPU time (CLOCK_PROCESS_CPUTIME_ID), which time
 * other processes take on the CPU does not inflate.
 */
#include "common.h"

static int fd_rx, fd_tx;
static struct sockaddr_in rx_at;

static void fill(int k, size_t size) {
  static struct mmsghdr out[64];
  static struct iovec iov[64];
  static char payload[65536];
  memset(payload, 7, size);
  for (int i = 0; i < 64; i++) {
    iov[i].iov_base = payload;
    iov[i].iov_len = size;
    out[i].msg_hdr.msg_iov = &iov[i];
    out[i].msg_hdr.msg_iovlen = 1;
    out[i].msg_hdr.msg_name = &rx_at;
    out[i].msg_hdr.msg_namelen = sizeof rx_at;
  }
  int sent = 0;
  while (sent < k) {
    int n = k - sent < 64 ? k - sent : 64;
    int r = sendmmsg(fd_tx, out, (unsigned)n, 0);
    if (r < 0) die("sendmmsg");
    sent += r;
  }
}

/** CPU time of this process (what other processes on the CPU do not add to). */
static uint64_t cpu_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int main(int argc, char **argv) {
  size_t size = (size_t)arg_int(argc, argv, "--size", 64);
  int k = (int)arg_int(argc, argv, "--k", 1000);
  int batch = (int)arg_int(argc, argv, "--batch", 32);
  int rounds = (int)arg_int(argc, argv, "--rounds", 40);
  int warm = (int)arg_int(argc, argv, "--warm", 5);
  if (batch < 1 || batch > 1024) batch = 32;
  const size_t slot = 65536;
  fd_rx = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  fd_tx = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd_rx < 0 || fd_tx < 0) die("socket");
  set_int_opt(fd_rx, SOL_SOCKET, SO_RCVBUF, 4 << 20);
  set_int_opt(fd_tx, SOL_SOCKET, SO_SNDBUF, 4 << 20);
  rx_at = loopback(0);
  if (bind(fd_rx, (struct sockaddr *)&rx_at, sizeof rx_at) < 0) die("bind");
  rx_at.sin_port = htons((uint16_t)bound_port(fd_rx));
  char *bufs = malloc(slot * (size_t)batch);
  struct mmsghdr *msgs = calloc((size_t)batch, sizeof *msgs);
  struct iovec *iov = calloc((size_t)batch, sizeof *iov);
  struct sockaddr_in *names = calloc((size_t)batch, sizeof *names);
  uint64_t total_batch = 0, total_one = 0, cpu_batch = 0;
  volatile unsigned sink = 0;
  for (int r = 0; r < rounds; r++) {
    fill(k, size);
    uint64_t t0 = now_ns(), c0 = cpu_ns();
    int got = 0;
    for (;;) {
      for (int i = 0; i < batch; i++) {
        iov[i].iov_base = bufs + (size_t)i * slot;
        iov[i].iov_len = slot;
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
        msgs[i].msg_hdr.msg_name = &names[i];
        msgs[i].msg_hdr.msg_namelen = sizeof names[i];
      }
      int n = recvmmsg(fd_rx, msgs, (unsigned)batch, 0, NULL);
      if (n < 0) {
        if (errno == EAGAIN) break;
        die("recvmmsg");
      }
      for (int i = 0; i < n; i++) {
        char *copy = malloc(msgs[i].msg_len);
        memcpy(copy, bufs + (size_t)i * slot, msgs[i].msg_len);
        sink += (unsigned char)copy[0] + ntohs(names[i].sin_port);
        free(copy);
      }
      got += n;
    }
    uint64_t t1 = now_ns(), c1 = cpu_ns();
    if (got != k) {
      fprintf(stderr, "recvmmsg got %d of %d\n", got, k);
      return 2;
    }
    fill(k, size);
    uint64_t t2 = now_ns();
    got = 0;
    for (;;) {
      struct sockaddr_in from;
      socklen_t fl = sizeof from;
      ssize_t n = recvfrom(fd_rx, bufs, slot, 0, (struct sockaddr *)&from, &fl);
      if (n < 0) {
        if (errno == EAGAIN) break;
        die("recvfrom");
      }
      char *copy = malloc((size_t)n);
      memcpy(copy, bufs, (size_t)n);
      sink += (unsigned char)copy[0];
      free(copy);
      got++;
    }
    uint64_t t3 = now_ns();
    if (r >= warm) {
      total_batch += t1 - t0;
      cpu_batch += c1 - c0;
      total_one += t3 - t2;
    }
  }
  double n = (double)(rounds - warm) * k;
  printf("{\"recv_c_ns\":%.1f,\"recv_c_one_ns\":%.1f,\"recv_c_cpu_ns\":%.1f}\n", (double)total_batch / n, (double)total_one / n,
         (double)cpu_batch / n);
  return 0;
}

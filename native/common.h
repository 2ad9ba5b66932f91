/*
 * Shared helpers of the benchmark's C reference programs: a monotonic clock,
 * "--key value" arguments, loopback addresses, latency statistics and one-line
 * JSON output. Each program prints exactly one JSON result line on stdout
 * (servers print a {"ready":true,"port":N} line first).
 */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static inline uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline void die(const char *what) {
  fprintf(stderr, "%s: %s\n", what, strerror(errno));
  exit(2);
}

static inline const char *arg_str(int argc, char **argv, const char *key, const char *fallback) {
  for (int i = 1; i + 1 < argc; i++)
    if (strcmp(argv[i], key) == 0) return argv[i + 1];
  return fallback;
}

static inline long long arg_int(int argc, char **argv, const char *key, long long fallback) {
  const char *s = arg_str(argc, argv, key, NULL);
  return s == NULL ? fallback : strtoll(s, NULL, 10);
}

static inline double arg_double(int argc, char **argv, const char *key, double fallback) {
  const char *s = arg_str(argc, argv, key, NULL);
  return s == NULL ? fallback : strtod(s, NULL);
}

static inline void set_nonblocking(int fd, int on) {
  int flags = fcntl(fd, F_GETFL, 0);
  if (flags < 0) die("fcntl");
  flags = on ? (flags | O_NONBLOCK) : (flags & ~O_NONBLOCK);
  if (fcntl(fd, F_SETFL, flags) < 0) die("fcntl");
}

static inline void set_int_opt(int fd, int level, int name, int value) {
  if (setsockopt(fd, level, name, &value, sizeof value) < 0) die("setsockopt");
}

static inline struct sockaddr_in loopback(int port) {
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons((uint16_t)port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

static inline int bound_port(int fd) {
  struct sockaddr_in a;
  socklen_t len = sizeof a;
  if (getsockname(fd, (struct sockaddr *)&a, &len) < 0) die("getsockname");
  return ntohs(a.sin_port);
}

/* A listening TCP socket on 127.0.0.1:port (0 picks one), SO_REUSEADDR. */
static inline int tcp_listen(int port, int backlog) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) die("socket");
  set_int_opt(fd, SOL_SOCKET, SO_REUSEADDR, 1);
  struct sockaddr_in a = loopback(port);
  if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0) die("bind");
  if (listen(fd, backlog) < 0) die("listen");
  return fd;
}

/* A blocking TCP connection to 127.0.0.1:port, or -1 (errno set). */
static inline int tcp_connect(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) die("socket");
  struct sockaddr_in a = loopback(port);
  if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
    int e = errno;
    close(fd);
    errno = e;
    return -1;
  }
  return fd;
}

static inline void print_ready(int port) {
  printf("{\"ready\":true,\"port\":%d}\n", port);
  fflush(stdout);
}

/* Writes all of buf to a (possibly non-blocking) fd, spinning on EAGAIN. */
static inline void write_all(int fd, const void *buf, size_t len) {
  const char *p = buf;
  while (len > 0) {
    ssize_t w = write(fd, p, len);
    if (w > 0) {
      p += w;
      len -= (size_t)w;
    } else if (w < 0 && errno != EAGAIN && errno != EINTR) {
      die("write");
    }
  }
}

static inline int cmp_u32(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return x < y ? -1 : x > y;
}

/* The warm-up of a timed loop: the first `rounds` iterations and every iteration
 * that starts within `ms` milliseconds of the first are not measured, so that
 * a JIT-compiled peer (Node) is measured after its tier-up, not during it. */
typedef struct {
  long long rounds;
  uint64_t until_ns;
} warmup_t;

static inline warmup_t warmup_new(long long rounds, double ms) {
  warmup_t w = {rounds, now_ns() + (uint64_t)(ms * 1e6)};
  return w;
}

/* Whether iteration `i`, started at `t_ns`, is still warming up. */
static inline int warming(const warmup_t *w, long long i, uint64_t t_ns) {
  return i < w->rounds || t_ns < w->until_ns;
}

/* Latency samples in nanoseconds: mean, p50, p99, p99.9 and max in µs, and the
 * share of the total time spent in samples above 10 × p50 (the slow tail). */
typedef struct {
  uint32_t *ns;
  size_t n, cap;
  uint64_t sum;
} samples_t;

static inline samples_t samples_new(size_t cap) {
  samples_t s = {calloc(cap ? cap : 1, sizeof(uint32_t)), 0, cap, 0};
  if (s.ns == NULL) die("calloc");
  return s;
}

static inline void samples_add(samples_t *s, uint64_t ns) {
  s->sum += ns;
  if (s->n < s->cap) s->ns[s->n] = ns > UINT32_MAX ? UINT32_MAX : (uint32_t)ns;
  s->n++;
}

static inline void samples_json(samples_t *s, char *out, size_t outlen) {
  size_t kept = s->n < s->cap ? s->n : s->cap;
  double mean = s->n ? (double)s->sum / (double)s->n / 1000.0 : 0;
  double p50 = 0, p99 = 0, p999 = 0, max = 0, tail = 0;
  if (kept > 0) {
    qsort(s->ns, kept, sizeof(uint32_t), cmp_u32);
    p50 = s->ns[kept / 2] / 1000.0;
    p99 = s->ns[(size_t)((double)(kept - 1) * 0.99)] / 1000.0;
    p999 = s->ns[(size_t)((double)(kept - 1) * 0.999)] / 1000.0;
    max = s->ns[kept - 1] / 1000.0;
    uint64_t slow = 0, all = 0, bound = (uint64_t)s->ns[kept / 2] * 10;
    for (size_t i = 0; i < kept; i++) {
      all += s->ns[i];
      if (s->ns[i] > bound) slow += s->ns[i];
    }
    tail = all ? (double)slow / (double)all : 0;
  }
  snprintf(out, outlen,
           "\"mean_us\":%.3f,\"p50_us\":%.3f,\"p99_us\":%.3f,\"p999_us\":%.3f,\"max_us\":%.3f,\"tail_share\":%.4f,\"count\":%zu",
           mean, p50, p99, p999, max, tail, s->n);
}

#endif

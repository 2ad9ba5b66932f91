/*
 * The cost of a zero-timeout epoll_wait on an epoll instance with one idle
 * registered fd (an eventfd that never fires): the floor of a busy-polling loop.
 *
 *   poll_cost [--iters N] [--maxevents 1024]
 *
 * Prints {"ns_per_call":…}.
 */
#include "common.h"
#include <sys/eventfd.h>

int main(int argc, char **argv) {
  long long iters = arg_int(argc, argv, "--iters", 2000000);
  int maxevents = (int)arg_int(argc, argv, "--maxevents", 1024);
  int ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) die("epoll_create1");
  int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (efd < 0) die("eventfd");
  struct epoll_event ev = {.events = EPOLLIN | EPOLLET, .data.u64 = 1};
  if (epoll_ctl(ep, EPOLL_CTL_ADD, efd, &ev) < 0) die("epoll_ctl");
  struct epoll_event *evs = calloc((size_t)maxevents, sizeof *evs);
  if (evs == NULL) die("calloc");
  long long found = 0;
  for (long long i = 0; i < iters / 10; i++) found += epoll_wait(ep, evs, maxevents, 0); /* warm up */
  uint64_t t0 = now_ns();
  for (long long i = 0; i < iters; i++) found += epoll_wait(ep, evs, maxevents, 0);
  uint64_t t1 = now_ns();
  printf("{\"ns_per_call\":%.2f,\"iters\":%lld,\"events\":%lld}\n", (double)(t1 - t0) / (double)iters, iters, found);
  return 0;
}

/*
 * A TCP server on 127.0.0.1 driven by one epoll loop (level-triggered).
 *
 *   tcp_server [--port 0] [--wait epoll|busy] [--backlog 4096] [--accept-close]
 *
 * Default: echoes every connection (TCP_NODELAY on accepted sockets). With
 * --accept-close it closes each connection as soon as it is accepted (the
 * accept-rate server). --wait busy polls epoll with a zero timeout instead of
 * blocking. Prints {"ready":true,"port":N}, then runs until killed.
 */
#include "common.h"

int main(int argc, char **argv) {
  int busy = strcmp(arg_str(argc, argv, "--wait", "epoll"), "busy") == 0;
  int accept_close = 0;
  for (int i = 1; i < argc; i++)
    if (strcmp(argv[i], "--accept-close") == 0) accept_close = 1;
  int lfd = tcp_listen((int)arg_int(argc, argv, "--port", 0), (int)arg_int(argc, argv, "--backlog", 4096));
  set_nonblocking(lfd, 1);
  int ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) die("epoll_create1");
  struct epoll_event ev = {.events = EPOLLIN, .data.fd = lfd};
  if (epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) < 0) die("epoll_ctl");
  print_ready(bound_port(lfd));

  enum { MAXEV = 1024 };
  struct epoll_event evs[MAXEV];
  static char buf[65536];
  for (;;) {
    int n = epoll_wait(ep, evs, MAXEV, busy ? 0 : -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      die("epoll_wait");
    }
    for (int i = 0; i < n; i++) {
      int fd = evs[i].data.fd;
      if (fd == lfd) {
        for (;;) {
          int c = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
          if (c < 0) {
            if (errno == EAGAIN || errno == EINTR || errno == ECONNABORTED) break;
            if (errno == EMFILE || errno == ENFILE) die("accept4");
            break;
          }
          if (accept_close) {
            close(c);
            continue;
          }
          set_int_opt(c, IPPROTO_TCP, TCP_NODELAY, 1);
          struct epoll_event cev = {.events = EPOLLIN, .data.fd = c};
          if (epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev) < 0) die("epoll_ctl");
        }
        continue;
      }
      ssize_t r = read(fd, buf, sizeof buf);
      if (r > 0) {
        write_all(fd, buf, (size_t)r);
      } else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
        close(fd); /* also leaves the epoll set */
      }
    }
  }
}

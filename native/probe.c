/*
 * Prints, from the system headers, every constant src/sys/constants.ts defines
 * and every size and offset src/sys/layout.ts defines, one `NAME VALUE` line
 * each, for test/sys/probe.test.ts to compare. Names of constants are the C
 * names; layout entries are `layout.<struct>.<field>` as in layout.ts. Also
 * prints glibc's errno names (`errno.<n> <name>`) for src/sys/errno.ts and a
 * few CMSG_* values for layout.ts's cmsg helpers.
 *
 * Build: cc -Wall -Werror -o probe native/probe.c
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <netinet/udp.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>

#if defined(__has_include)
#if __has_include(<linux/dccp.h>)
#include <linux/dccp.h>
#define HAVE_LINUX_DCCP_H 1
#endif
#endif
#ifndef HAVE_LINUX_DCCP_H
#define HAVE_LINUX_DCCP_H 0
#endif

#ifndef SOL_UDP
#define SOL_UDP IPPROTO_UDP
#endif

/* A signed constant, an unsigned one (epoll flags reach bit 31). */
#define P(name) printf("%s %lld\n", #name, (long long)(name))
#define PU(name) printf("%s %llu\n", #name, (unsigned long long)(unsigned int)(name))
/* A struct's size and a field's offset, as layout.<key>.size / layout.<key>.<field>. */
#define SIZE(key, type) printf("layout.%s.size %zu\n", key, sizeof(type))
#define OFF(key, field, type, member) printf("layout.%s.%s %zu\n", key, field, offsetof(type, member))

int main(void) {
  printf("arch %s\n",
#if defined(__x86_64__)
         "x64"
#elif defined(__aarch64__)
         "arm64"
#else
         "other"
#endif
  );

  /* errno */
  P(EPERM); P(ENOENT); P(EINTR); P(EIO); P(EBADF); P(EAGAIN); P(ENOMEM); P(EACCES); P(EFAULT);
  P(EBUSY); P(EEXIST); P(ENOTDIR); P(EINVAL); P(ENFILE); P(EMFILE); P(ENOSPC); P(EPIPE);
  P(ENAMETOOLONG); P(ENOSYS); P(ENOPROTOOPT); P(EPROTONOSUPPORT); P(ESOCKTNOSUPPORT);
  P(EOPNOTSUPP); P(EPFNOSUPPORT); P(EAFNOSUPPORT); P(EADDRINUSE); P(EADDRNOTAVAIL); P(ENETDOWN);
  P(ENETUNREACH); P(ENETRESET); P(ECONNABORTED); P(ECONNRESET); P(ENOBUFS); P(EISCONN);
  P(ENOTCONN); P(ESHUTDOWN); P(ETIMEDOUT); P(ECONNREFUSED); P(EHOSTDOWN); P(EHOSTUNREACH);
  P(EALREADY); P(EINPROGRESS); P(EMSGSIZE); P(EDESTADDRREQ); P(ENOTSOCK); P(EPROTOTYPE);

  /* fcntl / open */
  P(O_NONBLOCK); P(O_CLOEXEC); P(F_GETFD); P(F_SETFD); P(F_GETFL); P(F_SETFL); P(FD_CLOEXEC);

  /* epoll */
  P(EPOLL_CLOEXEC); P(EPOLL_CTL_ADD); P(EPOLL_CTL_DEL); P(EPOLL_CTL_MOD);
  PU(EPOLLIN); PU(EPOLLPRI); PU(EPOLLOUT); PU(EPOLLERR); PU(EPOLLHUP); PU(EPOLLRDNORM);
  PU(EPOLLRDBAND); PU(EPOLLWRNORM); PU(EPOLLWRBAND); PU(EPOLLRDHUP); PU(EPOLLEXCLUSIVE);
  PU(EPOLLONESHOT); PU(EPOLLET);

  /* eventfd / timerfd / signalfd / signal masks / clocks */
  P(EFD_CLOEXEC); P(EFD_NONBLOCK); P(EFD_SEMAPHORE); P(TFD_CLOEXEC); P(TFD_NONBLOCK);
  P(TFD_TIMER_ABSTIME); P(CLOCK_REALTIME); P(CLOCK_MONOTONIC); P(CLOCK_BOOTTIME);
  P(SFD_CLOEXEC); P(SFD_NONBLOCK); P(SIG_BLOCK); P(SIG_UNBLOCK); P(SIG_SETMASK);

  /* sockets */
  P(AF_UNSPEC); P(AF_UNIX); P(AF_INET); P(AF_INET6); P(SOCK_STREAM); P(SOCK_DGRAM); P(SOCK_RAW);
  P(SOCK_SEQPACKET); P(SOCK_DCCP); P(SOCK_NONBLOCK); P(SOCK_CLOEXEC); P(IPPROTO_IP);
  P(IPPROTO_TCP); P(IPPROTO_UDP); P(IPPROTO_IPV6); P(IPPROTO_DCCP); P(SHUT_RD); P(SHUT_WR);
  P(SHUT_RDWR);
  P(SOL_SOCKET); P(SO_REUSEADDR); P(SO_TYPE); P(SO_ERROR); P(SO_BROADCAST); P(SO_SNDBUF);
  P(SO_RCVBUF); P(SO_KEEPALIVE); P(SO_OOBINLINE); P(SO_LINGER); P(SO_REUSEPORT); P(SO_RCVLOWAT);
  P(SO_SNDLOWAT); P(SO_ACCEPTCONN); P(SO_PROTOCOL); P(SO_DOMAIN);
  P(TCP_NODELAY); P(TCP_MAXSEG); P(TCP_KEEPIDLE); P(TCP_KEEPINTVL); P(TCP_KEEPCNT);
  P(IP_TOS); P(IP_TTL); P(IP_HDRINCL); P(IP_RECVERR); P(IP_MTU_DISCOVER); P(IP_MTU);
  P(IP_PMTUDISC_DO); P(IP_PMTUDISC_PROBE); P(IP_MULTICAST_IF); P(IP_MULTICAST_TTL); P(IP_MULTICAST_LOOP);
  P(IP_ADD_MEMBERSHIP); P(IP_DROP_MEMBERSHIP);
  P(IPV6_UNICAST_HOPS); P(IPV6_MULTICAST_IF); P(IPV6_MULTICAST_HOPS); P(IPV6_MULTICAST_LOOP);
  P(IPV6_ADD_MEMBERSHIP); P(IPV6_DROP_MEMBERSHIP); P(IPV6_MTU_DISCOVER); P(IPV6_MTU);
  P(IPV6_RECVERR); P(IPV6_V6ONLY); P(IPV6_TCLASS); P(IPV6_PMTUDISC_DO); P(IPV6_PMTUDISC_PROBE);
  P(SOL_UDP); P(UDP_SEGMENT); P(UDP_GRO);
  P(MSG_OOB); P(MSG_PEEK); P(MSG_DONTWAIT); P(MSG_TRUNC); P(MSG_WAITFORONE); P(MSG_NOSIGNAL);
  P(MSG_CMSG_CLOEXEC); P(SCM_RIGHTS);

  /* DCCP */
  P(SOL_DCCP);
  printf("HAVE_LINUX_DCCP_H %d\n", HAVE_LINUX_DCCP_H);
#if HAVE_LINUX_DCCP_H
  P(DCCP_SOCKOPT_SERVICE); P(DCCP_SOCKOPT_CHANGE_L); P(DCCP_SOCKOPT_CHANGE_R);
  P(DCCP_SOCKOPT_GET_CUR_MPS); P(DCCP_SOCKOPT_SERVER_TIMEWAIT); P(DCCP_SOCKOPT_SEND_CSCOV);
  P(DCCP_SOCKOPT_RECV_CSCOV); P(DCCP_SOCKOPT_AVAILABLE_CCIDS); P(DCCP_SOCKOPT_CCID);
  P(DCCP_SOCKOPT_TX_CCID); P(DCCP_SOCKOPT_RX_CCID); P(DCCP_SOCKOPT_QPOLICY_ID);
  P(DCCP_SOCKOPT_QPOLICY_TXQLEN);
#endif

  /* signals */
  P(SIGHUP); P(SIGINT); P(SIGQUIT); P(SIGKILL); P(SIGUSR1); P(SIGUSR2); P(SIGPIPE); P(SIGALRM);
  P(SIGTERM); P(SIGCHLD); P(SIGCONT); P(SIGSTOP); P(SIGWINCH);

  P(INT_MAX);

  /* layouts */
  SIZE("epollEvent", struct epoll_event);
  OFF("epollEvent", "events", struct epoll_event, events);
  OFF("epollEvent", "data", struct epoll_event, data);

  SIZE("sockaddrIn", struct sockaddr_in);
  OFF("sockaddrIn", "family", struct sockaddr_in, sin_family);
  OFF("sockaddrIn", "port", struct sockaddr_in, sin_port);
  OFF("sockaddrIn", "addr", struct sockaddr_in, sin_addr);

  SIZE("sockaddrIn6", struct sockaddr_in6);
  OFF("sockaddrIn6", "family", struct sockaddr_in6, sin6_family);
  OFF("sockaddrIn6", "port", struct sockaddr_in6, sin6_port);
  OFF("sockaddrIn6", "flowinfo", struct sockaddr_in6, sin6_flowinfo);
  OFF("sockaddrIn6", "addr", struct sockaddr_in6, sin6_addr);
  OFF("sockaddrIn6", "scopeId", struct sockaddr_in6, sin6_scope_id);

  SIZE("sockaddrUn", struct sockaddr_un);
  OFF("sockaddrUn", "family", struct sockaddr_un, sun_family);
  OFF("sockaddrUn", "path", struct sockaddr_un, sun_path);
  printf("layout.sockaddrUn.pathMax %zu\n", sizeof(((struct sockaddr_un *)0)->sun_path));

  printf("layout.sockaddrStorage %zu\n", sizeof(struct sockaddr_storage));

  SIZE("iovec", struct iovec);
  OFF("iovec", "base", struct iovec, iov_base);
  OFF("iovec", "len", struct iovec, iov_len);

  SIZE("msghdr", struct msghdr);
  OFF("msghdr", "name", struct msghdr, msg_name);
  OFF("msghdr", "namelen", struct msghdr, msg_namelen);
  OFF("msghdr", "iov", struct msghdr, msg_iov);
  OFF("msghdr", "iovlen", struct msghdr, msg_iovlen);
  OFF("msghdr", "control", struct msghdr, msg_control);
  OFF("msghdr", "controllen", struct msghdr, msg_controllen);
  OFF("msghdr", "flags", struct msghdr, msg_flags);

  SIZE("mmsghdr", struct mmsghdr);
  OFF("mmsghdr", "len", struct mmsghdr, msg_len);

  SIZE("cmsghdr", struct cmsghdr);
  OFF("cmsghdr", "len", struct cmsghdr, cmsg_len);
  OFF("cmsghdr", "level", struct cmsghdr, cmsg_level);
  OFF("cmsghdr", "type", struct cmsghdr, cmsg_type);
  printf("CMSG_LEN.2 %zu\nCMSG_LEN.4 %zu\nCMSG_SPACE.2 %zu\nCMSG_SPACE.4 %zu\nCMSG_SPACE.8 %zu\n",
         (size_t)CMSG_LEN(2), (size_t)CMSG_LEN(4), (size_t)CMSG_SPACE(2), (size_t)CMSG_SPACE(4),
         (size_t)CMSG_SPACE(8));

  SIZE("itimerspec", struct itimerspec);
  OFF("itimerspec", "interval", struct itimerspec, it_interval);
  OFF("itimerspec", "value", struct itimerspec, it_value);

  SIZE("timespec", struct timespec);
  OFF("timespec", "sec", struct timespec, tv_sec);
  OFF("timespec", "nsec", struct timespec, tv_nsec);

  SIZE("signalfdSiginfo", struct signalfd_siginfo);
  OFF("signalfdSiginfo", "signo", struct signalfd_siginfo, ssi_signo);
  OFF("signalfdSiginfo", "code", struct signalfd_siginfo, ssi_code);
  OFF("signalfdSiginfo", "pid", struct signalfd_siginfo, ssi_pid);
  OFF("signalfdSiginfo", "uid", struct signalfd_siginfo, ssi_uid);

  printf("layout.sigset %zu\n", sizeof(sigset_t));

  SIZE("linger", struct linger);
  OFF("linger", "onoff", struct linger, l_onoff);
  OFF("linger", "linger", struct linger, l_linger);

  SIZE("ipMreqn", struct ip_mreqn);
  OFF("ipMreqn", "multiaddr", struct ip_mreqn, imr_multiaddr);
  OFF("ipMreqn", "address", struct ip_mreqn, imr_address);
  OFF("ipMreqn", "ifindex", struct ip_mreqn, imr_ifindex);

  SIZE("ipv6Mreq", struct ipv6_mreq);
  OFF("ipv6Mreq", "multiaddr", struct ipv6_mreq, ipv6mr_multiaddr);
  OFF("ipv6Mreq", "ifindex", struct ipv6_mreq, ipv6mr_interface);

  /* glibc's errno names (strerrorname_np, glibc 2.32+) */
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 32))
  for (int e = 1; e < 134; e++) {
    const char *name = strerrorname_np(e);
    if (name != NULL) printf("errno.%d %s\n", e, name);
  }
#endif
  return 0;
}

/**
 * Linux constants used by effect-mio, with the values of the generic Linux ABI
 * shared by x86-64 and arm64 (the architectures we support). `native/probe.c`
 * prints the same names from the system headers and a test compares them.
 *
 * Internal module: not part of the public API (not exported from the package index).
 */

// --- errno ------------------------------------------------------------------
export const EPERM = 1
export const ENOENT = 2
export const EINTR = 4
export const EIO = 5
export const EBADF = 9
export const EAGAIN = 11
export const ENOMEM = 12
export const EACCES = 13
export const EFAULT = 14
export const EBUSY = 16
export const EEXIST = 17
export const ENOTDIR = 20
export const EINVAL = 22
export const ENFILE = 23
export const EMFILE = 24
export const ENOSPC = 28
export const EPIPE = 32
export const ENAMETOOLONG = 36
export const ENOSYS = 38
export const ENOPROTOOPT = 92
export const EPROTONOSUPPORT = 93
export const ESOCKTNOSUPPORT = 94
export const EOPNOTSUPP = 95
export const EPFNOSUPPORT = 96
export const EAFNOSUPPORT = 97
export const EADDRINUSE = 98
export const EADDRNOTAVAIL = 99
export const ENETDOWN = 100
export const ENETUNREACH = 101
export const ENETRESET = 102
export const ECONNABORTED = 103
export const ECONNRESET = 104
export const ENOBUFS = 105
export const EISCONN = 106
export const ENOTCONN = 107
export const ESHUTDOWN = 108
export const ETIMEDOUT = 110
export const ECONNREFUSED = 111
export const EHOSTDOWN = 112
export const EHOSTUNREACH = 113
export const EALREADY = 114
export const EINPROGRESS = 115
export const EMSGSIZE = 90
export const EDESTADDRREQ = 89
export const ENOTSOCK = 88
export const EPROTOTYPE = 91

// --- fcntl / open -------------------------------------------------------------
export const O_NONBLOCK = 0o4000
export const O_CLOEXEC = 0o2000000
export const F_GETFD = 1
export const F_SETFD = 2
export const F_GETFL = 3
export const F_SETFL = 4
export const FD_CLOEXEC = 1

// --- epoll --------------------------------------------------------------------
export const EPOLL_CLOEXEC = O_CLOEXEC
export const EPOLL_CTL_ADD = 1
export const EPOLL_CTL_DEL = 2
export const EPOLL_CTL_MOD = 3
export const EPOLLIN = 0x001
export const EPOLLPRI = 0x002
export const EPOLLOUT = 0x004
export const EPOLLERR = 0x008
export const EPOLLHUP = 0x010
export const EPOLLRDNORM = 0x040
export const EPOLLRDBAND = 0x080
export const EPOLLWRNORM = 0x100
export const EPOLLWRBAND = 0x200
export const EPOLLRDHUP = 0x2000
export const EPOLLEXCLUSIVE = 0x10000000
export const EPOLLONESHOT = 0x40000000
export const EPOLLET = 0x80000000

// --- eventfd / timerfd / signalfd ---------------------------------------------
export const EFD_CLOEXEC = O_CLOEXEC
export const EFD_NONBLOCK = O_NONBLOCK
export const EFD_SEMAPHORE = 1
export const TFD_CLOEXEC = O_CLOEXEC
export const TFD_NONBLOCK = O_NONBLOCK
export const TFD_TIMER_ABSTIME = 1
export const CLOCK_REALTIME = 0
export const CLOCK_MONOTONIC = 1
export const CLOCK_BOOTTIME = 7
export const SFD_CLOEXEC = O_CLOEXEC
export const SFD_NONBLOCK = O_NONBLOCK
export const SIG_BLOCK = 0
export const SIG_UNBLOCK = 1
export const SIG_SETMASK = 2

// --- sockets ------------------------------------------------------------------
export const AF_UNSPEC = 0
export const AF_UNIX = 1
export const AF_INET = 2
export const AF_INET6 = 10
export const SOCK_STREAM = 1
export const SOCK_DGRAM = 2
export const SOCK_RAW = 3
export const SOCK_SEQPACKET = 5
export const SOCK_DCCP = 6
export const SOCK_NONBLOCK = O_NONBLOCK
export const SOCK_CLOEXEC = O_CLOEXEC
export const IPPROTO_IP = 0
export const IPPROTO_TCP = 6
export const IPPROTO_UDP = 17
export const IPPROTO_IPV6 = 41
export const IPPROTO_DCCP = 33
export const SHUT_RD = 0
export const SHUT_WR = 1
export const SHUT_RDWR = 2

export const SOL_SOCKET = 1
export const SO_REUSEADDR = 2
export const SO_TYPE = 3
export const SO_ERROR = 4
export const SO_BROADCAST = 6
export const SO_SNDBUF = 7
export const SO_RCVBUF = 8
export const SO_KEEPALIVE = 9
export const SO_OOBINLINE = 10
export const SO_LINGER = 13
export const SO_REUSEPORT = 15
export const SO_RCVLOWAT = 18
export const SO_SNDLOWAT = 19
export const SO_ACCEPTCONN = 30
export const SO_PROTOCOL = 38
export const SO_DOMAIN = 39

export const TCP_NODELAY = 1
export const TCP_MAXSEG = 2
export const TCP_KEEPIDLE = 4
export const TCP_KEEPINTVL = 5
export const TCP_KEEPCNT = 6

export const IP_TOS = 1
export const IP_TTL = 2
export const IP_HDRINCL = 3
export const IP_RECVERR = 11
export const IP_MTU_DISCOVER = 10
export const IP_MTU = 14
export const IP_PMTUDISC_DO = 2
export const IP_PMTUDISC_PROBE = 3
export const IP_MULTICAST_IF = 32
export const IP_MULTICAST_TTL = 33
export const IP_MULTICAST_LOOP = 34
export const IP_ADD_MEMBERSHIP = 35
export const IP_DROP_MEMBERSHIP = 36

export const IPV6_UNICAST_HOPS = 16
export const IPV6_MULTICAST_IF = 17
export const IPV6_MULTICAST_HOPS = 18
export const IPV6_MULTICAST_LOOP = 19
export const IPV6_ADD_MEMBERSHIP = 20
export const IPV6_DROP_MEMBERSHIP = 21
export const IPV6_MTU_DISCOVER = 23
export const IPV6_MTU = 24
export const IPV6_RECVERR = 25
export const IPV6_V6ONLY = 26
export const IPV6_TCLASS = 67
export const IPV6_PMTUDISC_DO = 2
export const IPV6_PMTUDISC_PROBE = 3

export const SOL_UDP = 17
export const UDP_SEGMENT = 103
export const UDP_GRO = 104

export const MSG_OOB = 0x1
export const MSG_PEEK = 0x2
export const MSG_DONTWAIT = 0x40
export const MSG_TRUNC = 0x20
export const MSG_WAITFORONE = 0x10000
export const MSG_NOSIGNAL = 0x4000
export const MSG_CMSG_CLOEXEC = 0x40000000

export const SCM_RIGHTS = 1

// --- DCCP (linux/dccp.h) ------------------------------------------------------
export const SOL_DCCP = 269
export const DCCP_SOCKOPT_SERVICE = 2
export const DCCP_SOCKOPT_CHANGE_L = 3
export const DCCP_SOCKOPT_CHANGE_R = 4
export const DCCP_SOCKOPT_GET_CUR_MPS = 5
export const DCCP_SOCKOPT_SERVER_TIMEWAIT = 6
export const DCCP_SOCKOPT_SEND_CSCOV = 10
export const DCCP_SOCKOPT_RECV_CSCOV = 11
export const DCCP_SOCKOPT_AVAILABLE_CCIDS = 12
export const DCCP_SOCKOPT_CCID = 13
export const DCCP_SOCKOPT_TX_CCID = 14
export const DCCP_SOCKOPT_RX_CCID = 15
export const DCCP_SOCKOPT_QPOLICY_ID = 16
export const DCCP_SOCKOPT_QPOLICY_TXQLEN = 17

// --- signals (x86-64 / arm64 numbering) ---------------------------------------
export const SIGHUP = 1
export const SIGINT = 2
export const SIGQUIT = 3
export const SIGKILL = 9
export const SIGUSR1 = 10
export const SIGUSR2 = 12
export const SIGPIPE = 13
export const SIGALRM = 14
export const SIGTERM = 15
export const SIGCHLD = 17
export const SIGCONT = 18
export const SIGSTOP = 19
export const SIGWINCH = 28

/** Largest value `epoll_wait`'s `timeout` accepts (`c_int::MAX`). */
export const INT_MAX = 2147483647

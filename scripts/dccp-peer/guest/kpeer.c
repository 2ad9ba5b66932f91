/*
 * kpeer — the guest side of effect-mio's DCCP interop harness.
 *
 * Runs inside a Linux 6.1 guest (the last kernels with DCCP) and drives the
 * kernel's own DCCP sockets, so that effect-mio's user-space DCCP can be tested
 * against them. Built statically on the host (gcc -static -pthread) and put in
 * the guest's initramfs next to busybox.
 *
 *   kpeer serve                   the standard servers (IPv4 + IPv6, see SERVERS)
 *   kpeer listen PORT CODES BEHAVIOUR [CCID] [CSCOV]
 *                                 one extra server in the foreground (CODES is a
 *                                 comma list, BEHAVIOUR echo|greet|greet-tw|discard)
 *
 * CCID is 0 (the kernel's default), 2 or 3 for both half-connections, or T/R:
 * T for the half-connection this socket sends on (DCCP_SOCKOPT_TX_CCID), R for
 * the one it receives on (DCCP_SOCKOPT_RX_CCID), e.g. 3/2.
 *   kpeer client HOST PORT SERVICE COUNT MESSAGE [CCID] [TIMEOUT_MS] [cscov=N]
 *                                 connect, send MESSAGE COUNT times, read an echo
 *                                 after each one ("{n}" in MESSAGE becomes 1..COUNT)
 *   kpeer send   HOST PORT SERVICE COUNT MESSAGE [CCID] [TIMEOUT_MS] [cscov=N]
 *                                 the same without reading; close() lingers so
 *                                 that the queue drains
 *   kpeer read   HOST PORT SERVICE [CCID] [TIMEOUT_MS] [cscov=N]
 *                                 connect and print what arrives until the peer
 *                                 closes
 *   kpeer control PORT [LIMIT_S]  TCP control server (see control_main)
 *   kpeer info                    kernel, CCIDs, sysctls, listeners
 *   kpeer reap                    PID 1's last job: reap orphans forever
 *
 * Client output is line based and meant for machines:
 *   CONNECTED local=A:P peer=A:P service=N tx_ccid=N rx_ccid=N mps=N send_cscov=N
 *             recv_cscov=N connect_ms=F
 *   ECHO n=I len=L rtt_ms=F match=yes|no data=TEXT      (client)
 *   SENT n=I len=L                                      (send)
 *   DATA n=I len=L data=TEXT                            (read)
 *   TFRC tfrc_tx=... tfrc_rx=...                        (CCID 3 state before close)
 *   RESULT ok=K/N                                       (success, exit 0)
 *   RESULT error=NAME stage=connect|send|recv ok=K/N [errno=E] [reset_hint=C,..]
 *                                                       (failure, exit 1)
 * TEXT escapes bytes outside 0x21..0x7e (and '\') as \xNN. reset_hint lists
 * the DCCP Reset codes the kernel maps to that errno (net/dccp/input.c
 * dccp_reset_code_convert): a Reset(3) No Connection shows as
 * error=ECONNREFUSED reset_hint=3,7, a Reset(8) Bad Service Code as
 * error=EBADRQC reset_hint=8.
 *
 * Server events go to stdout (the serial console) as "kpeer: ..." lines, and
 * every finished server-side connection appends one line to
 * /run/kpeer/connections:
 *   port=5001 peer=A:P service=N behaviour=echo datagrams=N bytes=N end=closed|ERRNAME
 * For CCID 3 half-connections the line (and the client's TFRC line) ends with
 * the kernel's own TFRC state, in its units, as the socket options give it
 * (the last echo's, or the end's when still readable):
 *   tfrc_tx=X,X_RECV,X_CALC,RTT,P,RTO,IPI   (DCCP_SOCKOPT_CCID_TX_INFO, struct
 *        tfrc_tx_info: X and X_RECV in 64ths of bytes/s, X_CALC bytes/s, RTT,
 *        RTO and IPI in us, P in millionths)
 *   tfrc_rx=X_RECV,RTT,P                    (DCCP_SOCKOPT_CCID_RX_INFO, struct
 *        tfrc_rx_info: bytes/s, us, millionths)
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/dccp.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef SOCK_DCCP
#define SOCK_DCCP 6
#endif
#ifndef IPPROTO_DCCP
#define IPPROTO_DCCP 33
#endif
#ifndef SOL_DCCP
#define SOL_DCCP 269
#endif

#define RUN_DIR "/run/kpeer"
#define CONN_LOG RUN_DIR "/connections"

/* ------------------------------------------------------------------ util */

static double mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* One write(2) per line so that lines from different threads never mix. */
static void event(const char *fmt, ...)
{
	char line[1024];
	int n = snprintf(line, sizeof line, "kpeer: %.3f ", mono_ms() / 1e3);
	va_list ap;
	va_start(ap, fmt);
	n += vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof line - 2)
		n = (int)sizeof line - 2;
	line[n++] = '\n';
	ssize_t w = write(STDOUT_FILENO, line, (size_t)n);
	(void)w;
}

static const char *errname(int e)
{
	const char *s = strerrorname_np(e);
	return s ? s : "EUNKNOWN";
}

static void fmt_addr(const struct sockaddr_storage *ss, char *out, size_t n)
{
	char ip[INET6_ADDRSTRLEN] = "?";
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *a = (const void *)ss;
		inet_ntop(AF_INET, &a->sin_addr, ip, sizeof ip);
		snprintf(out, n, "%s:%u", ip, ntohs(a->sin_port));
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const void *)ss;
		inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof ip);
		snprintf(out, n, "[%s]:%u", ip, ntohs(a->sin6_port));
	} else {
		snprintf(out, n, "?");
	}
}

/* Printable form of a datagram for the machine-readable output. */
static void escape(const unsigned char *p, size_t len, char *out, size_t n)
{
	size_t o = 0;
	for (size_t i = 0; i < len && o + 5 < n; i++) {
		if (p[i] > 0x20 && p[i] < 0x7f && p[i] != '\\')
			out[o++] = (char)p[i];
		else
			o += (size_t)snprintf(out + o, n - o, "\\x%02x", p[i]);
	}
	out[o] = 0;
}

static int parse_addr(const char *host, int port, struct sockaddr_storage *ss, socklen_t *len)
{
	memset(ss, 0, sizeof *ss);
	struct sockaddr_in *a4 = (void *)ss;
	struct sockaddr_in6 *a6 = (void *)ss;
	if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)port);
		*len = sizeof *a4;
		return AF_INET;
	}
	if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)port);
		*len = sizeof *a6;
		return AF_INET6;
	}
	return -1;
}

static uint32_t parse_u32(const char *s, int *ok)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 0);
	*ok = (errno == 0 && *s && !*end && v <= 0xffffffffUL);
	return (uint32_t)v;
}

/* --------------------------------------------------------- DCCP options */

static int set_service_codes(int fd, const uint32_t *codes, int n)
{
	uint32_t be[DCCP_SERVICE_LIST_MAX_LEN];
	for (int i = 0; i < n; i++)
		be[i] = htonl(codes[i]);
	return setsockopt(fd, SOL_DCCP, DCCP_SOCKOPT_SERVICE, be, (socklen_t)(n * 4));
}

/* A CCID for each half-connection; 0 leaves the kernel's default (sysctl
 * net.dccp.default.tx_ccid/rx_ccid). */
struct ccids {
	int tx, rx;
};

/* "3" (both), "3/2" (TX/RX) or "0"; -1 on a bad spec */
static int parse_ccids(const char *spec, struct ccids *c)
{
	char *end;
	long tx = strtol(spec, &end, 10), rx = tx;
	if (*end == '/')
		rx = strtol(end + 1, &end, 10);
	if (*end || tx < 0 || tx > 255 || rx < 0 || rx > 255)
		return -1;
	c->tx = (int)tx;
	c->rx = (int)rx;
	return 0;
}

static int set_ccid(int fd, struct ccids c)
{
	uint8_t tx = (uint8_t)c.tx, rx = (uint8_t)c.rx;
	if (c.tx > 0 && c.tx == c.rx)
		return setsockopt(fd, SOL_DCCP, DCCP_SOCKOPT_CCID, &tx, 1);
	if (c.tx > 0 && setsockopt(fd, SOL_DCCP, DCCP_SOCKOPT_TX_CCID, &tx, 1) < 0)
		return -1;
	if (c.rx > 0 && setsockopt(fd, SOL_DCCP, DCCP_SOCKOPT_RX_CCID, &rx, 1) < 0)
		return -1;
	return 0;
}

/* include/uapi/linux/tfrc.h, which the libc headers do not ship */
struct tfrc_tx_info {
	uint64_t tfrctx_x;
	uint64_t tfrctx_x_recv;
	uint32_t tfrctx_x_calc;
	uint32_t tfrctx_rtt;
	uint32_t tfrctx_p;
	uint32_t tfrctx_rto;
	uint32_t tfrctx_ipi;
};

struct tfrc_rx_info {
	uint32_t tfrcrx_x_recv;
	uint32_t tfrcrx_rtt;
	uint32_t tfrcrx_p;
};

/* " tfrc_tx=... tfrc_rx=..." for the CCID 3 half-connections of fd, else
 * nothing (the options fail with ENOPROTOOPT for CCID 2); returns whether
 * anything was read */
static int tfrc_params(int fd, char *out, size_t n)
{
	struct tfrc_tx_info tx;
	struct tfrc_rx_info rx;
	socklen_t l = sizeof tx;
	size_t o = 0;
	out[0] = 0;
	if (getsockopt(fd, SOL_DCCP, DCCP_SOCKOPT_CCID_TX_INFO, &tx, &l) == 0 && l >= sizeof tx)
		o += (size_t)snprintf(out + o, n - o, " tfrc_tx=%llu,%llu,%u,%u,%u,%u,%u",
				      (unsigned long long)tx.tfrctx_x, (unsigned long long)tx.tfrctx_x_recv,
				      tx.tfrctx_x_calc, tx.tfrctx_rtt, tx.tfrctx_p, tx.tfrctx_rto, tx.tfrctx_ipi);
	l = sizeof rx;
	if (getsockopt(fd, SOL_DCCP, DCCP_SOCKOPT_CCID_RX_INFO, &rx, &l) == 0 && l >= sizeof rx)
		o += (size_t)snprintf(out + o, n - o, " tfrc_rx=%u,%u,%u", rx.tfrcrx_x_recv, rx.tfrcrx_rtt,
				      rx.tfrcrx_p);
	return o > 0;
}

static int set_cscov(int fd, int cscov)
{
	if (cscov <= 0)
		return 0;
	if (setsockopt(fd, SOL_DCCP, DCCP_SOCKOPT_SEND_CSCOV, &cscov, sizeof cscov) < 0)
		return -1;
	return setsockopt(fd, SOL_DCCP, DCCP_SOCKOPT_RECV_CSCOV, &cscov, sizeof cscov);
}

static int get_int_opt(int fd, int opt)
{
	int v = -1;
	socklen_t l = sizeof v;
	if (getsockopt(fd, SOL_DCCP, opt, &v, &l) < 0)
		return -1;
	return v;
}

/* "service=42 tx_ccid=2 rx_ccid=2 mps=1400 send_cscov=0 recv_cscov=0" for a
 * connected socket (the CSCOV values are the ones in force after negotiation) */
static void conn_params(int fd, char *out, size_t n)
{
	uint32_t svc = 0;
	socklen_t l = sizeof svc;
	getsockopt(fd, SOL_DCCP, DCCP_SOCKOPT_SERVICE, &svc, &l);
	snprintf(out, n, "service=%u tx_ccid=%d rx_ccid=%d mps=%d send_cscov=%d recv_cscov=%d",
		 ntohl(svc), get_int_opt(fd, DCCP_SOCKOPT_TX_CCID),
		 get_int_opt(fd, DCCP_SOCKOPT_RX_CCID), get_int_opt(fd, DCCP_SOCKOPT_GET_CUR_MPS),
		 get_int_opt(fd, DCCP_SOCKOPT_SEND_CSCOV), get_int_opt(fd, DCCP_SOCKOPT_RECV_CSCOV));
}

static void set_linger(int fd, int seconds)
{
	struct linger lg = {.l_onoff = 1, .l_linger = seconds};
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
}

/* --------------------------------------------------------------- servers */

enum behaviour { ECHO, GREET, GREET_TW, DISCARD };
static const char *const behaviour_name[] = {"echo", "greet", "greet-tw", "discard"};
static const char greeting[] = "hello from kernel dccp";

struct server {
	int port;
	uint32_t codes[4];
	int ncodes;
	struct ccids ccid; /* 0: kernel default */
	int cscov; /* SEND_CSCOV and RECV_CSCOV; 0: full coverage only */
	enum behaviour behaviour;
};

/* The standard set. Keep in sync with README.md and peer.sh status. */
static const struct server SERVERS[] = {
	{5001, {42, 0x4543484f}, 2, {2, 2}, 0, ECHO}, /* "ECHO" */
	{5003, {42}, 1, {3, 3}, 0, ECHO},
	{5004, {42}, 1, {0, 0}, 0, GREET},
	{5005, {42}, 1, {0, 0}, 0, GREET_TW},
	{5006, {42}, 1, {0, 0}, 1, ECHO},
	{5007, {42}, 1, {2, 3}, 0, ECHO}, /* sends with CCID 2, receives with CCID 3 */
	{5008, {42}, 1, {3, 2}, 0, ECHO}, /* sends with CCID 3, receives with CCID 2 */
	{5009, {42}, 1, {0, 0}, 0, DISCARD},
};

struct listener {
	int fd;
	int family;
	const struct server *srv;
};

struct conn {
	int fd;
	const struct server *srv;
	char peer[80];
};

static pthread_mutex_t conn_log_lock = PTHREAD_MUTEX_INITIALIZER;

static void record_conn(const struct conn *c, const char *params, unsigned long dgrams,
			unsigned long bytes, const char *end, const char *tfrc)
{
	event("end port=%d peer=%s behaviour=%s datagrams=%lu bytes=%lu end=%s%s", c->srv->port,
	      c->peer, behaviour_name[c->srv->behaviour], dgrams, bytes, end, tfrc);
	pthread_mutex_lock(&conn_log_lock);
	FILE *f = fopen(CONN_LOG, "a");
	if (f) {
		fprintf(f, "port=%d peer=%s %s behaviour=%s datagrams=%lu bytes=%lu end=%s%s\n",
			c->srv->port, c->peer, params, behaviour_name[c->srv->behaviour], dgrams,
			bytes, end, tfrc);
		fclose(f);
	}
	pthread_mutex_unlock(&conn_log_lock);
}

/* Read whatever the client already sent, so that close() is a clean Close or
 * CloseReq and not Reset(Aborted) for unread data (net/dccp/proto.c). */
static unsigned long drain(int fd, unsigned long *bytes)
{
	unsigned char buf[2048];
	unsigned long n = 0;
	ssize_t r;
	while ((r = recv(fd, buf, sizeof buf, MSG_DONTWAIT)) > 0) {
		n++;
		*bytes += (unsigned long)r;
	}
	return n;
}

static void *conn_thread(void *arg)
{
	struct conn *c = arg;
	const struct server *s = c->srv;
	char params[128];
	conn_params(c->fd, params, sizeof params);
	event("accept port=%d peer=%s %s behaviour=%s", s->port, c->peer, params,
	      behaviour_name[s->behaviour]);
	struct timeval snd = {10, 0};
	setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &snd, sizeof snd);

	unsigned long dgrams = 0, bytes = 0;
	if (s->behaviour == GREET || s->behaviour == GREET_TW) {
		if (s->behaviour == GREET_TW) {
			/* only valid on an accepted socket (EOPNOTSUPP on listeners) */
			int one = 1;
			if (setsockopt(c->fd, SOL_DCCP, DCCP_SOCKOPT_SERVER_TIMEWAIT, &one, sizeof one) < 0)
				event("setsockopt SERVER_TIMEWAIT: %s", errname(errno));
		}
		ssize_t w = send(c->fd, greeting, sizeof greeting - 1, 0);
		event("greet port=%d peer=%s sent=%zd%s%s", s->port, c->peer, w, w < 0 ? " error=" : "",
		      w < 0 ? errname(errno) : "");
		/* a short pause lets an eager client's first datagrams arrive */
		usleep(100 * 1000);
		dgrams = drain(c->fd, &bytes);
		set_linger(c->fd, 3); /* flush the greeting before terminating */
		close(c->fd);
		record_conn(c, params, dgrams, bytes,
			    s->behaviour == GREET ? "server-close(CloseReq)" : "server-close(Close)", "");
		free(c);
		return NULL;
	}

	unsigned char *buf = malloc(65536);
	const char *end = "closed";
	char tfrc[192] = "", latest[192];
	for (;;) {
		ssize_t r = recv(c->fd, buf, 65536, 0);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			end = errname(errno);
			break;
		}
		if (r == 0)
			break;
		dgrams++;
		bytes += (unsigned long)r;
		int chatty = dgrams <= 5 || dgrams % 1000 == 0;
		if (s->behaviour == DISCARD) {
			if (chatty)
				event("discard port=%d peer=%s n=%lu len=%zd", s->port, c->peer, dgrams, r);
			continue;
		}
		/* Linux 6.1's send() fails with EAGAIN when the TX queue (tx_qlen)
		 * is full, blocking socket or not: wait for room (up to 10 s) so
		 * that every datagram is echoed. */
		ssize_t w;
		for (int tries = 0;; tries++) {
			w = send(c->fd, buf, (size_t)r, 0);
			if (w >= 0 || (errno != EINTR && errno != EAGAIN) || tries > 10000)
				break;
			if (errno == EAGAIN) {
				struct pollfd p = {.fd = c->fd, .events = POLLOUT};
				poll(&p, 1, 1);
			}
		}
		if (chatty || w != r)
			event("echo port=%d peer=%s n=%lu len=%zd sent=%zd%s%s", s->port, c->peer, dgrams,
			      r, w, w < 0 ? " error=" : "", w < 0 ? errname(errno) : "");
		if (tfrc_params(c->fd, latest, sizeof latest))
			memcpy(tfrc, latest, sizeof tfrc);
	}
	/* the peer closed: the CCIDs are still there until close() */
	if (tfrc_params(c->fd, latest, sizeof latest))
		memcpy(tfrc, latest, sizeof tfrc);
	close(c->fd);
	free(buf);
	record_conn(c, params, dgrams, bytes, end, tfrc);
	free(c);
	return NULL;
}

static void *listener_thread(void *arg)
{
	struct listener *l = arg;
	for (;;) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof ss;
		int fd = accept(l->fd, (void *)&ss, &sl);
		if (fd < 0) {
			if (errno != EINTR && errno != ECONNABORTED)
				event("accept port=%d: %s", l->srv->port, errname(errno));
			continue;
		}
		struct conn *c = calloc(1, sizeof *c);
		c->fd = fd;
		c->srv = l->srv;
		fmt_addr(&ss, c->peer, sizeof c->peer);
		pthread_t t;
		if (pthread_create(&t, NULL, conn_thread, c) != 0) {
			event("pthread_create failed; dropping %s", c->peer);
			close(fd);
			free(c);
			continue;
		}
		pthread_detach(t);
	}
	return NULL;
}

static int open_listener(int family, const struct server *s)
{
	int fd = socket(family, SOCK_DCCP, IPPROTO_DCCP);
	if (fd < 0) {
		event("socket(%s, SOCK_DCCP): %s", family == AF_INET ? "inet" : "inet6",
		      errname(errno));
		return -1;
	}
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
	/* feature options must precede listen() (EISCONN afterwards) */
	if (set_service_codes(fd, s->codes, s->ncodes) < 0 || set_ccid(fd, s->ccid) < 0 ||
	    set_cscov(fd, s->cscov) < 0) {
		event("port %d: setsockopt: %s", s->port, errname(errno));
		close(fd);
		return -1;
	}
	struct sockaddr_storage ss;
	socklen_t sl;
	parse_addr(family == AF_INET ? "0.0.0.0" : "::", s->port, &ss, &sl);
	if (bind(fd, (void *)&ss, sl) < 0 || listen(fd, 32) < 0) {
		event("port %d: bind/listen: %s", s->port, errname(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static void describe_server(const struct server *s, char *out, size_t n)
{
	size_t o = (size_t)snprintf(out, n, "port=%d codes=", s->port);
	for (int i = 0; i < s->ncodes; i++)
		o += (size_t)snprintf(out + o, n - o, "%s%u", i ? "," : "", s->codes[i]);
	snprintf(out + o, n - o, " behaviour=%s ccid=%d/%d cscov=%d", behaviour_name[s->behaviour],
		 s->ccid.tx, s->ccid.rx, s->cscov);
}

/* Open every listener first, then start the accept threads: when this
 * returns 0 all servers accept connections. */
static int start_servers(const struct server *set, int nset)
{
	static const int families[] = {AF_INET, AF_INET6};
	int failures = 0;
	for (int i = 0; i < nset; i++) {
		for (int f = 0; f < 2; f++) {
			int fd = open_listener(families[f], &set[i]);
			if (fd < 0) {
				failures++;
				continue;
			}
			struct listener *l = calloc(1, sizeof *l);
			l->fd = fd;
			l->family = families[f];
			l->srv = &set[i];
			pthread_t t;
			if (pthread_create(&t, NULL, listener_thread, l) != 0) {
				failures++;
				continue;
			}
			pthread_detach(t);
			char d[160];
			describe_server(&set[i], d, sizeof d);
			event("listening %s %s", families[f] == AF_INET ? "ipv4" : "ipv6", d);
		}
	}
	return failures;
}

static int serve_main(void)
{
	mkdir(RUN_DIR, 0755);
	int failures = start_servers(SERVERS, (int)(sizeof SERVERS / sizeof SERVERS[0]));
	/* the init script waits for this file before it prints READY */
	FILE *f = fopen(RUN_DIR "/serve.ready", "w");
	if (f) {
		fprintf(f, "failures=%d\n", failures);
		fclose(f);
	}
	if (failures)
		event("serve: %d listener(s) failed", failures);
	for (;;)
		pause();
	return 0;
}

static int listen_main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: kpeer listen PORT CODES echo|greet|greet-tw|discard [CCID] [CSCOV]\n");
		return 2;
	}
	static struct server s;
	int ok;
	s.port = atoi(argv[0]);
	char *dup = strdup(argv[1]), *save = NULL;
	for (char *t = strtok_r(dup, ",", &save); t && s.ncodes < 4; t = strtok_r(NULL, ",", &save)) {
		s.codes[s.ncodes++] = parse_u32(t, &ok);
		if (!ok) {
			fprintf(stderr, "bad service code %s\n", t);
			return 2;
		}
	}
	int b;
	for (b = 0; b < 4 && strcmp(argv[2], behaviour_name[b]); b++)
		;
	if (b == 4 || s.port <= 0 || s.ncodes == 0) {
		fprintf(stderr, "bad arguments\n");
		return 2;
	}
	s.behaviour = (enum behaviour)b;
	if (argc > 3 && parse_ccids(argv[3], &s.ccid) < 0) {
		fprintf(stderr, "bad CCID %s\n", argv[3]);
		return 2;
	}
	s.cscov = argc > 4 ? atoi(argv[4]) : 0;
	mkdir(RUN_DIR, 0755);
	if (start_servers(&s, 1) == 2)
		return 1;
	for (;;)
		pause();
	return 0;
}

/* ---------------------------------------------------------------- client */

/* errno -> the Reset codes that produce it (net/dccp/input.c) */
static const char *reset_hint(int e)
{
	switch (e) {
	case ECONNRESET: return "2";
	case ECONNREFUSED: return "3,7";
	case ENOMSG: return "4";
	case EILSEQ: return "5";
	case EOPNOTSUPP: return "6";
	case EBADRQC: return "8";
	case EUSERS: return "9";
	case EBADR: return "10";
	case EDQUOT: return "11";
	default: return NULL;
	}
}

static int fail(const char *stage, int err, int ok, int count)
{
	if (err > 0) {
		const char *h = reset_hint(err);
		printf("RESULT error=%s stage=%s ok=%d/%d errno=%d%s%s\n", errname(err), stage, ok,
		       count, err, h ? " reset_hint=" : "", h ? h : "");
	} else {
		/* negative: a condition without errno */
		static const char *const what[] = {"", "timeout", "eof", "mismatch"};
		printf("RESULT error=%s stage=%s ok=%d/%d\n", what[-err], stage, ok, count);
	}
	return 1;
}
#define E_TIMEOUT (-1)
#define E_EOF (-2)
#define E_MISMATCH (-3)

/* poll one fd for `events` until `deadline` (mono ms); 0 ready, else E_TIMEOUT
 * or the socket's pending error */
static int wait_for(int fd, short events, double deadline)
{
	for (;;) {
		double left = deadline - mono_ms();
		if (left <= 0)
			return E_TIMEOUT;
		struct pollfd p = {.fd = fd, .events = events};
		int r = poll(&p, 1, (int)left + 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return errno;
		if (r == 0)
			continue;
		if (p.revents & POLLERR) {
			int e = 0;
			socklen_t l = sizeof e;
			getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &l);
			return e ? e : EIO;
		}
		return 0;
	}
}

struct client_args {
	const char *host;
	int port;
	uint32_t service;
	int count;
	const char *message;
	struct ccids ccid;
	int timeout_ms;
	int cscov;
};

/* nonblocking connect bounded by timeout_ms; prints CONNECTED; returns fd or
 * -1 after printing RESULT */
static int client_connect(const struct client_args *a, int count)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int family = parse_addr(a->host, a->port, &ss, &sl);
	if (family < 0) {
		printf("RESULT error=bad-address stage=connect ok=0/%d\n", count);
		return -1;
	}
	int fd = socket(family, SOCK_DCCP | SOCK_NONBLOCK, IPPROTO_DCCP);
	if (fd < 0) {
		fail("socket", errno, 0, count);
		return -1;
	}
	if (set_service_codes(fd, &a->service, 1) < 0 || set_ccid(fd, a->ccid) < 0 ||
	    set_cscov(fd, a->cscov) < 0) {
		fail("setsockopt", errno, 0, count);
		close(fd);
		return -1;
	}
	double t0 = mono_ms();
	int e = 0;
	if (connect(fd, (void *)&ss, sl) < 0) {
		if (errno != EINPROGRESS)
			e = errno;
		else
			e = wait_for(fd, POLLOUT, t0 + a->timeout_ms);
	}
	if (e == 0) {
		/* poll may report POLLOUT|POLLHUP on a socket that died */
		socklen_t l = sizeof e;
		getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &l);
	}
	if (e) {
		fail("connect", e, 0, count);
		close(fd);
		return -1;
	}
	struct sockaddr_storage ls;
	socklen_t ll = sizeof ls;
	getsockname(fd, (void *)&ls, &ll);
	char local[80], peer[80], params[128];
	fmt_addr(&ls, local, sizeof local);
	fmt_addr(&ss, peer, sizeof peer);
	conn_params(fd, params, sizeof params);
	printf("CONNECTED local=%s peer=%s %s connect_ms=%.1f\n", local, peer, params, mono_ms() - t0);
	fflush(stdout);
	return fd;
}

static void render(const char *tmpl, int n, char *out, size_t size)
{
	const char *p = strstr(tmpl, "{n}");
	if (!p) {
		snprintf(out, size, "%s", tmpl);
		return;
	}
	snprintf(out, size, "%.*s%d%s", (int)(p - tmpl), tmpl, n, p + 3);
}

/* send one datagram: the TX queue may be full (EAGAIN) while the CCID holds
 * packets back, so retry until the deadline */
static int send_one(int fd, const char *msg, size_t len, double deadline)
{
	for (;;) {
		if (send(fd, msg, len, MSG_DONTWAIT) >= 0)
			return 0;
		if (errno != EAGAIN && errno != EINTR)
			return errno;
		int e = wait_for(fd, POLLOUT, deadline);
		if (e)
			return e;
		if (mono_ms() >= deadline)
			return E_TIMEOUT;
		usleep(1000);
	}
}

static int client_main(int argc, char **argv, int mode /* 0 client, 1 send */)
{
	struct client_args a = {.ccid = {0, 0}, .timeout_ms = 5000};
	int pos = 0, ok;
	for (int i = 0; i < argc; i++) {
		if (!strncmp(argv[i], "cscov=", 6)) {
			a.cscov = atoi(argv[i] + 6);
			continue;
		}
		switch (pos++) {
		case 0: a.host = argv[i]; break;
		case 1: a.port = atoi(argv[i]); break;
		case 2:
			a.service = parse_u32(argv[i], &ok);
			if (!ok)
				goto usage;
			break;
		case 3: a.count = atoi(argv[i]); break;
		case 4: a.message = argv[i]; break;
		case 5:
			if (parse_ccids(argv[i], &a.ccid) < 0)
				goto usage;
			break;
		case 6: a.timeout_ms = atoi(argv[i]); break;
		default: goto usage;
		}
	}
	if (pos < 5 || a.count < 0 || a.timeout_ms <= 0)
		goto usage;

	int fd = client_connect(&a, a.count);
	if (fd < 0)
		return 1;
	int done = 0;
	static unsigned char buf[65536];
	char msg[4096], esc[8192];
	for (int i = 1; i <= a.count; i++) {
		render(a.message, i, msg, sizeof msg);
		size_t len = strlen(msg);
		double t1 = mono_ms();
		int e = send_one(fd, msg, len, t1 + a.timeout_ms);
		if (e) {
			fail("send", e, done, a.count);
			close(fd);
			return 1;
		}
		if (mode == 1) {
			printf("SENT n=%d len=%zu\n", i, len);
			done++;
			continue;
		}
		e = wait_for(fd, POLLIN, t1 + a.timeout_ms);
		ssize_t r = e ? -1 : recv(fd, buf, sizeof buf, MSG_DONTWAIT);
		if (!e && r < 0)
			e = errno;
		if (!e && r == 0)
			e = E_EOF;
		if (e) {
			fail("recv", e, done, a.count);
			close(fd);
			return 1;
		}
		int match = (size_t)r == len && memcmp(buf, msg, len) == 0;
		escape(buf, (size_t)r, esc, sizeof esc);
		printf("ECHO n=%d len=%zd rtt_ms=%.2f match=%s data=%s\n", i, r, mono_ms() - t1,
		       match ? "yes" : "no", esc);
		fflush(stdout);
		if (match)
			done++;
	}
	char tfrc[192];
	if (tfrc_params(fd, tfrc, sizeof tfrc))
		printf("TFRC%s\n", tfrc);
	if (mode == 1)
		set_linger(fd, (a.timeout_ms + 999) / 1000); /* let the CCID drain the queue */
	close(fd);
	if (done != a.count)
		return fail("recv", E_MISMATCH, done, a.count);
	printf("RESULT ok=%d/%d\n", done, a.count);
	return 0;
usage:
	fprintf(stderr, "usage: kpeer %s HOST PORT SERVICE COUNT MESSAGE [CCID] [TIMEOUT_MS] [cscov=N]\n",
		mode ? "send" : "client");
	return 2;
}

static int read_main(int argc, char **argv)
{
	struct client_args a = {.ccid = {0, 0}, .timeout_ms = 5000};
	int pos = 0, ok;
	for (int i = 0; i < argc; i++) {
		if (!strncmp(argv[i], "cscov=", 6)) {
			a.cscov = atoi(argv[i] + 6);
			continue;
		}
		switch (pos++) {
		case 0: a.host = argv[i]; break;
		case 1: a.port = atoi(argv[i]); break;
		case 2:
			a.service = parse_u32(argv[i], &ok);
			if (!ok)
				goto usage;
			break;
		case 3:
			if (parse_ccids(argv[i], &a.ccid) < 0)
				goto usage;
			break;
		case 4: a.timeout_ms = atoi(argv[i]); break;
		default: goto usage;
		}
	}
	if (pos < 3 || a.timeout_ms <= 0)
		goto usage;
	int fd = client_connect(&a, 0);
	if (fd < 0)
		return 1;
	static unsigned char buf[65536];
	char esc[8192];
	int n = 0;
	for (;;) {
		int e = wait_for(fd, POLLIN, mono_ms() + a.timeout_ms);
		ssize_t r = e ? -1 : recv(fd, buf, sizeof buf, MSG_DONTWAIT);
		if (!e && r < 0)
			e = errno;
		if (e == EAGAIN)
			continue;
		if (e) {
			fail("recv", e, n, n);
			close(fd);
			return 1;
		}
		if (r == 0)
			break;
		n++;
		escape(buf, (size_t)r, esc, sizeof esc);
		printf("DATA n=%d len=%zd data=%s\n", n, r, esc);
		fflush(stdout);
	}
	close(fd);
	printf("RESULT ok=%d/%d end=eof\n", n, n);
	return 0;
usage:
	fprintf(stderr, "usage: kpeer read HOST PORT SERVICE [CCID] [TIMEOUT_MS] [cscov=N]\n");
	return 2;
}

/* --------------------------------------------------------------- control */

static volatile sig_atomic_t alarmed;
static void on_alarm(int sig)
{
	(void)sig;
	alarmed = 1;
}

/*
 * One line per TCP connection, run by /bin/sh -c with stdout and stderr on the
 * socket and stdin from /dev/null. A line starting with "#rc " (a shell
 * comment, so no command can start that way) asks for the exit status: after
 * the shell exits the server appends "\0EXIT <status>\n" (status 128+N for
 * signal N). Commands are killed (whole process group) after LIMIT_S seconds.
 */
static void control_session(int c, int limit_s)
{
	char line[8192];
	size_t n = 0;
	struct timeval tv = {10, 0};
	setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	while (n < sizeof line - 1) {
		ssize_t r = read(c, line + n, 1);
		if (r <= 0 || line[n] == '\n')
			break;
		n++;
	}
	while (n && (line[n - 1] == '\r' || line[n - 1] == '\n'))
		n--;
	line[n] = 0;
	const char *cmd = line;
	int want_rc = 0;
	if (!strncmp(cmd, "#rc ", 4)) {
		want_rc = 1;
		cmd += 4;
	}
	event("ctl: %s", cmd);
	signal(SIGCHLD, SIG_DFL); /* the server ignores it; the shell must not inherit that */
	pid_t p = fork();
	if (p == 0) {
		setpgid(0, 0);
		int dn = open("/dev/null", O_RDONLY);
		dup2(dn, 0);
		dup2(c, 1);
		dup2(c, 2);
		close(c);
		signal(SIGPIPE, SIG_DFL);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	int status = 0;
	if (p > 0) {
		struct sigaction sa = {.sa_handler = on_alarm};
		sigaction(SIGALRM, &sa, NULL);
		alarm((unsigned)limit_s);
		while (waitpid(p, &status, 0) < 0) {
			if (errno != EINTR)
				break;
			if (alarmed) {
				event("ctl: killing '%s' after %ds", cmd, limit_s);
				kill(-p, SIGKILL);
				alarmed = 0;
			}
		}
		alarm(0);
	} else {
		status = 127 << 8;
	}
	if (want_rc) {
		int rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		char t[32];
		int tl = snprintf(t, sizeof t, "%cEXIT %d\n", 0, rc);
		ssize_t w = write(c, t, (size_t)tl);
		(void)w;
	}
	close(c);
}

static int control_main(int port, int limit_s)
{
	int fd = socket(AF_INET6, SOCK_STREAM, 0); /* dual stack: 10.77.0.2 and fd77::2 */
	int one = 1, zero = 0;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
	struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port),
				 .sin6_addr = IN6ADDR_ANY_INIT};
	if (bind(fd, (void *)&a, sizeof a) < 0 || listen(fd, 16) < 0) {
		event("control: bind tcp %d: %s", port, errname(errno));
		return 1;
	}
	mkdir(RUN_DIR, 0755);
	FILE *f = fopen(RUN_DIR "/control.ready", "w");
	if (f)
		fclose(f);
	event("control: tcp port %d, command limit %ds", port, limit_s);
	signal(SIGCHLD, SIG_IGN); /* sessions are reaped automatically */
	for (;;) {
		int c = accept(fd, NULL, NULL);
		if (c < 0)
			continue;
		pid_t p = fork();
		if (p == 0) {
			close(fd);
			control_session(c, limit_s);
			_exit(0);
		}
		close(c);
	}
}

/* ------------------------------------------------------------------ misc */

static void print_file(const char *key, const char *path)
{
	char v[256] = "";
	FILE *f = fopen(path, "r");
	if (f) {
		if (!fgets(v, sizeof v, f))
			v[0] = 0;
		fclose(f);
	}
	v[strcspn(v, "\n")] = 0;
	printf("%s=%s\n", key, f ? v : "?");
}

static int info_main(void)
{
	struct utsname u;
	uname(&u);
	printf("kernel=%s\n", u.release);
	int fd = socket(AF_INET, SOCK_DCCP, IPPROTO_DCCP);
	if (fd < 0) {
		printf("dccp=unavailable error=%s\n", errname(errno));
		return 1;
	}
	uint8_t ccids[16];
	socklen_t l = sizeof ccids;
	printf("ccids=");
	if (getsockopt(fd, SOL_DCCP, DCCP_SOCKOPT_AVAILABLE_CCIDS, ccids, &l) == 0)
		for (socklen_t i = 0; i < l; i++)
			printf("%s%u", i ? "," : "", ccids[i]);
	printf("\n");
	close(fd);
	static const char *const sysctls[] = {"request_retries", "retries1", "retries2", "rx_ccid",
					      "tx_ccid", "seq_window", "sync_ratelimit", "tx_qlen"};
	for (size_t i = 0; i < sizeof sysctls / sizeof sysctls[0]; i++) {
		char k[64], p[128];
		snprintf(k, sizeof k, "sysctl.%s", sysctls[i]);
		snprintf(p, sizeof p, "/proc/sys/net/dccp/default/%s", sysctls[i]);
		print_file(k, p);
	}
	for (size_t i = 0; i < sizeof SERVERS / sizeof SERVERS[0]; i++) {
		char d[160];
		describe_server(&SERVERS[i], d, sizeof d);
		printf("server %s\n", d);
	}
	return 0;
}

/* PID 1 ends up here: orphans of control sessions are reparented to us */
static int reap_main(void)
{
	for (;;) {
		int st;
		pid_t p = waitpid(-1, &st, 0);
		if (p < 0 && errno == ECHILD)
			sleep(1);
	}
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	const char *cmd = argc > 1 ? argv[1] : "";
	if (!strcmp(cmd, "serve"))
		return serve_main();
	if (!strcmp(cmd, "listen"))
		return listen_main(argc - 2, argv + 2);
	if (!strcmp(cmd, "client"))
		return client_main(argc - 2, argv + 2, 0);
	if (!strcmp(cmd, "send"))
		return client_main(argc - 2, argv + 2, 1);
	if (!strcmp(cmd, "read"))
		return read_main(argc - 2, argv + 2);
	if (!strcmp(cmd, "control") && argc > 2)
		return control_main(atoi(argv[2]), argc > 3 ? atoi(argv[3]) : 300);
	if (!strcmp(cmd, "info"))
		return info_main();
	if (!strcmp(cmd, "reap"))
		return reap_main();
	fprintf(stderr, "usage: kpeer serve | listen PORT CODES BEHAVIOUR [CCID] [CSCOV]\n"
			"     | client|send HOST PORT SERVICE COUNT MESSAGE [CCID] [TIMEOUT_MS] [cscov=N]\n"
			"     | read HOST PORT SERVICE [CCID] [TIMEOUT_MS] [cscov=N]\n"
			"     | control PORT [LIMIT_S] | info | reap\n");
	return 2;
}

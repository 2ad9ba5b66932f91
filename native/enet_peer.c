/*
 * ENet (Debian's libenet, reliable packets on channel 0, default host
 * settings) as a peer of the reliable-UDP loss benchmark (bench/cases/rudploss.ts).
 * Our code only: it links against the system's libenet; no ENet source here.
 *
 *   enet_peer --role recv --count N [--cap-ms 12000]
 *       listens on 127.0.0.1:0, prints {"ready":true,"port":N}, then one result line
 *       when N messages arrived (or at the cap, counted from the first message's send
 *       time): {"delivered","done","completion_s","p50_ms","p99_ms","max_ms",
 *       "disconnected","out_of_order","bytes"}
 *   enet_peer --role send --port P --workload burst|paced|bulk --count N --size S
 *       [--rate 2000]   connects to 127.0.0.1:P and sends the workload; runs until killed
 *
 * Every message: seq u32 LE | 0 u32 | offered time f64 LE (µs of CLOCK_MONOTONIC) | padding.
 * Latency = delivery time − offered time (burst and bulk: every message is offered at t0).
 */
// LIBS: -lenet
#include "common.h"
#include <enet/enet.h>
#include <math.h>

static double now_us(void) { return (double)now_ns() / 1000.0; }

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y ? 1 : 0;
}

static void result(double *lat, long delivered, long count, double t0, double last, int disconnected, long ooo, long long bytes) {
  double p50 = 0, p99 = 0, max = 0;
  if (delivered > 0) {
    qsort(lat, (size_t)delivered, sizeof *lat, cmp_double);
    p50 = lat[(long)floor(0.5 * (double)(delivered - 1))] / 1000.0;
    p99 = lat[(long)floor(0.99 * (double)(delivered - 1))] / 1000.0;
    max = lat[delivered - 1] / 1000.0;
  }
  printf("{\"delivered\":%ld,\"expected\":%ld,\"done\":%d,\"completion_s\":%.6f,\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"max_ms\":%.3f,"
         "\"disconnected\":%d,\"out_of_order\":%ld,\"bytes\":%lld}\n",
         delivered, count, delivered == count ? 1 : 0, delivered > 0 ? (last - t0) / 1e6 : 0.0, p50, p99, max, disconnected, ooo, bytes);
  fflush(stdout);
}

static int recv_role(int argc, char **argv) {
  long count = (long)arg_int(argc, argv, "--count", 10000);
  double cap_us = (double)arg_int(argc, argv, "--cap-ms", 12000) * 1000.0;
  ENetAddress address;
  enet_address_set_host(&address, "127.0.0.1");
  address.port = 0;
  ENetHost *host = enet_host_create(&address, 1, 1, 0, 0);
  if (host == NULL) die("enet_host_create");
  ENetAddress bound;
  if (enet_socket_get_address(host->socket, &bound) < 0) die("enet_socket_get_address");
  printf("{\"ready\":true,\"port\":%u}\n", (unsigned)bound.port);
  fflush(stdout);
  double *lat = calloc((size_t)count, sizeof *lat);
  long delivered = 0, ooo = 0;
  long long bytes = 0;
  double t0 = -1, last = 0;
  int disconnected = 0;
  for (;;) {
    ENetEvent ev;
    int r = enet_host_service(host, &ev, 1);
    double now = now_us();
    if (r > 0 && ev.type == ENET_EVENT_TYPE_RECEIVE) {
      if (ev.packet->dataLength >= 16) {
        uint32_t seq;
        double sent;
        memcpy(&seq, ev.packet->data, 4);
        memcpy(&sent, ev.packet->data + 8, 8);
        if (t0 < 0 || sent < t0) t0 = sent;
        if ((long)seq != delivered) ooo++;
        if (delivered < count) lat[delivered] = now - sent;
        delivered++;
        bytes += (long long)ev.packet->dataLength;
        last = now;
      }
      enet_packet_destroy(ev.packet);
      if (delivered >= count) break;
    } else if (r > 0 && ev.type == ENET_EVENT_TYPE_DISCONNECT) {
      disconnected = 1;
    }
    if (t0 >= 0 && now - t0 > cap_us) break;
  }
  result(lat, delivered < count ? delivered : count, count, t0, last, disconnected, ooo, bytes);
  return 0;
}

static int send_role(int argc, char **argv) {
  int port = (int)arg_int(argc, argv, "--port", 0);
  long count = (long)arg_int(argc, argv, "--count", 10000);
  size_t size = (size_t)arg_int(argc, argv, "--size", 100);
  const char *workload = arg_str(argc, argv, "--workload", "burst");
  double rate = arg_double(argc, argv, "--rate", 2000);
  int paced = strcmp(workload, "paced") == 0;
  ENetHost *host = enet_host_create(NULL, 1, 1, 0, 0);
  if (host == NULL) die("enet_host_create");
  ENetAddress to;
  enet_address_set_host(&to, "127.0.0.1");
  to.port = (enet_uint16)port;
  ENetPeer *peer = enet_host_connect(host, &to, 1, 0);
  if (peer == NULL) die("enet_host_connect");
  ENetEvent ev;
  for (;;) {
    if (enet_host_service(host, &ev, 100) > 0 && ev.type == ENET_EVENT_TYPE_CONNECT) break;
  }
  unsigned char *buf = calloc(size < 16 ? 16 : size, 1);
  double t0 = now_us();
  long next = 0;
  for (;;) {
    double now = now_us();
    while (next < count && (!paced || t0 + (double)next * 1e6 / rate <= now)) {
      double offered = paced ? t0 + (double)next * 1e6 / rate : t0;
      uint32_t seq = (uint32_t)next;
      memcpy(buf, &seq, 4);
      memcpy(buf + 8, &offered, 8);
      ENetPacket *p = enet_packet_create(buf, size, ENET_PACKET_FLAG_RELIABLE);
      if (enet_peer_send(peer, 0, p) < 0) die("enet_peer_send");
      next++;
    }
    // Service without blocking while paced messages are due within a millisecond.
    int r = enet_host_service(host, &ev, paced && next < count ? 0 : 1);
    if (r > 0 && ev.type == ENET_EVENT_TYPE_DISCONNECT) {
      printf("{\"disconnected\":1,\"sent\":%ld}\n", next);
      fflush(stdout);
      return 0;
    }
    if (r > 0 && ev.type == ENET_EVENT_TYPE_RECEIVE) enet_packet_destroy(ev.packet);
    if (paced && next < count && r == 0) {
      struct timespec ts = { 0, 100000 };
      nanosleep(&ts, NULL);
    }
  }
}

int main(int argc, char **argv) {
  if (enet_initialize() != 0) die("enet_initialize");
  const char *role = arg_str(argc, argv, "--role", "");
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (strcmp(role, "recv") == 0) return recv_role(argc, argv);
  if (strcmp(role, "send") == 0) return send_role(argc, argv);
  fprintf(stderr, "enet_peer: --role recv|send\n");
  return 2;
}

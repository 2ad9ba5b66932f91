/**
 * UDP per-datagram CPU cost in one process (issue "Sockets", baselines.md group 7):
 * receive via recvBatch / recvFrom / DatagramSocket against node:dgram 'message',
 * send via send / sendBatch / DatagramSocket against dgram.send. One process per
 * run (bench/peers/udp_cost.ts) measures every variant; the variants are its figures.
 */
import { type Case, field, perRun, type RunContext, type Sample, type Variant } from "../lib/bench.ts"
import { type Program, withSession } from "../lib/proc.ts"

const CPU = "0"

const sizeCases = (size: number): ReadonlyArray<Case> => {
  /** One process measuring `size` B datagrams: our peer, or a C program. */
  const measured = (program: (args: ReadonlyArray<string | number>) => Program, name: string) =>
    perRun((ctx: RunContext) =>
      withSession(async (s) => {
        const args = ["--size", size, "--k", 1000, "--rounds", ctx.quick ? 15 : 40, "--warm", 5]
        return s.spawn({ name, program: program(args), cpu: CPU }).result(120_000)
      })
    )
  const job = measured((args) => ({ peer: "udp_cost", args }), "udp_cost")
  // The C floor: the same drain with recvmmsg(32) from C, in a process of its own.
  const floor = measured((args) => ({ c: "udp_recv_cost", args }), "udp_recv_cost")
  const v = (name: string, key: string, ref = false): Variant => ({
    name,
    placement: "one process",
    ref,
    run: async (ctx): Promise<Sample> => {
      const r = await job(ctx)
      // The per-call figures for scale have no CPU-time twin.
      return { value: field(r, key), extra: `${key}_cpu` in r ? { cpu_ns: field(r, `${key}_cpu`) } : {} }
    }
  })
  const method =
    "One Node process pinned to CPU 0. Receive: 1,000 datagrams are queued on the socket (sendmmsg from the same process, untimed), " +
    "then the time to take them all out, each copied into a fresh Uint8Array (C: recvmmsg(32), each copied into a fresh malloc'd buffer, in a " +
    "process of its own: native/udp_recv_cost.c). Send: 1,000 datagrams to a connected loopback sink " +
    "(drained untimed; the kernel's loopback delivery is part of the send). 40 rounds interleaved, the first 5 discarded; total time / datagrams. " +
    "cpu_ns: the same by the process's own CPU time (process.cpuUsage; C: CLOCK_PROCESS_CPUTIME_ID), which other processes on the CPU do not inflate."
  return [
    {
      id: `udp-recv-cost-${size}`,
      group: "udpcost",
      title: `UDP receive CPU cost per datagram in one process, ${size} B (ns/datagram)`,
      unit: "ns",
      better: "lower",
      method,
      variants: [
        v("node:dgram 'message' events", "recv_dgram_ns", true),
        v("ours UdpSocket.recvBatch(32) + copy", "recv_batch_ns"),
        v("ours UdpSocket.recvFrom per datagram + copy", "recv_from_ns"),
        v("ours DatagramSocket reader.pull (Udp.make, park)", "recv_fiber_ns"),
        {
          name: "for scale: C recvmmsg(32) + copy (the kernel's floor)",
          placement: "one process",
          run: async (ctx): Promise<Sample> => {
            const r = await floor(ctx)
            return { value: field(r, "recv_c_ns"), extra: { recv_c_one_ns: field(r, "recv_c_one_ns"), cpu_ns: field(r, "recv_c_cpu_ns") } }
          }
        },
        v("for scale: ours recv → WouldBlock (ns/call)", "recv_wouldblock_ns"),
        v("for scale: koffi getpid() (ns/call)", "koffi_getpid_ns")
      ]
    },
    {
      id: `udp-send-cost-${size}`,
      group: "udpcost",
      title: `UDP send CPU cost per datagram in one process, ${size} B (ns/datagram)`,
      unit: "ns",
      better: "lower",
      method,
      variants: [
        v("node:dgram send()", "send_dgram_ns", true),
        v("ours UdpSocket.send per datagram", "send_one_ns"),
        v("ours UdpSocket.sendBatch x32", "send_batch_ns"),
        v("ours DatagramSocket writer.writeAll x32", "send_fiber_ns")
      ]
    }
  ]
}

export const cases: ReadonlyArray<Case> = [...sizeCases(64), ...sizeCases(1200)]

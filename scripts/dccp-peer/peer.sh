#!/usr/bin/env bash
# peer.sh — boot a Linux 6.1 guest (kernel DCCP) in QEMU behind a tap device in
# a private network namespace, as the peer for effect-mio's DCCP interop tests.
# See README.md next to this file.
#
#   peer.sh install        apt-get install the host tools that are missing
#   peer.sh build          fetch the .debs, build kpeer and the initramfs (if changed)
#   peer.sh start          build if needed, create netns + tap, boot, wait for READY
#   peer.sh stop           kill the guest (pid file), delete the netns
#   peer.sh status         state, addresses, ports; exit 0 up, 1 unhealthy, 3 down
#   peer.sh env            shell assignments describing the peer (eval-able)
#   peer.sh exec CMD...    run CMD inside the netns
#   peer.sh ctl 'CMD'      run CMD in the guest (/bin/sh -c); exits with its status
#   peer.sh relay [ARGS]   run the DCCP-UDP <-> native DCCP relay in the netns
#   peer.sh probe [ARGS]   run the raw/UDP DCCP probe in the netns
#   peer.sh console [-f]   print (or follow) the guest's serial console
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

NS=${MIO_DCCP_NS:-mio-dccp}
CACHE=${MIO_DCCP_CACHE:-/var/tmp/effect-mio-dccp-peer}
TAP=${MIO_DCCP_TAP:-miodccp0}
HOST4=${MIO_DCCP_HOST4:-10.77.0.1}
GUEST4=${MIO_DCCP_GUEST4:-10.77.0.2}
HOST6=${MIO_DCCP_HOST6:-fd77::1}
GUEST6=${MIO_DCCP_GUEST6:-fd77::2}
CTL_PORT=${MIO_DCCP_CTL_PORT:-7000}
ACCEL=${MIO_DCCP_ACCEL:-auto}            # auto | kvm | tcg
MEM=${MIO_DCCP_MEM:-256}                 # MiB
BOOT_TIMEOUT=${MIO_DCCP_BOOT_TIMEOUT:-90} # seconds until READY
CTL_TIMEOUT=${MIO_DCCP_CTL_TIMEOUT:-60}   # seconds per ctl command
KERNEL_PKG=${MIO_DCCP_KERNEL_PKG:-}      # default: what linux-image-amd64 depends on
PYTHON=${MIO_DCCP_PYTHON:-python3}
KERNEL_ARGS=${MIO_DCCP_KERNEL_ARGS:-}    # appended to the guest kernel command line

RUN=$CACHE/run/$NS
# modules whose dependency closure goes into the initramfs
MODULES=(virtio_pci virtio_net dccp_ipv4 dccp_ipv6 dccp_diag)
# bump these when the layouts below change, to force a rebuild
KERNEL_FORMAT=2
IMAGE_FORMAT=4

say() { echo "peer: $*" >&2; }
die() { echo "peer: error: $*" >&2; exit 1; }
need_root() { [ "$(id -u)" = 0 ] || die "$1 needs root (network namespaces, tap devices, raw sockets)"; }

[ ${#TAP} -le 15 ] || die "MIO_DCCP_TAP '$TAP' is longer than 15 characters"

# ---------------------------------------------------------------- install --

install_tools() {
	need_root install
	local need=()
	command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
	command -v cpio >/dev/null || need+=(cpio)
	command -v depmod >/dev/null && command -v modprobe >/dev/null || need+=(kmod)
	command -v xz >/dev/null || need+=(xz-utils)
	command -v zstd >/dev/null || need+=(zstd)
	command -v ethtool >/dev/null || need+=(ethtool)
	command -v ip >/dev/null || need+=(iproute2)
	command -v gcc >/dev/null || need+=(gcc)
	[ -e /usr/lib/x86_64-linux-gnu/libc.a ] || need+=(libc6-dev)
	[ -e /usr/include/linux/dccp.h ] || need+=(linux-libc-dev)
	command -v "$PYTHON" >/dev/null || need+=(python3)
	command -v flock >/dev/null || need+=(util-linux)
	if [ "${MIO_DCCP_NO_TSHARK:-0}" != 1 ]; then command -v tshark >/dev/null || need+=(tshark); fi
	if [ ${#need[@]} -eq 0 ]; then
		say "install: all tools present"
		return 0
	fi
	say "install: ${need[*]}"
	export DEBIAN_FRONTEND=noninteractive
	# tshark asks whether non-root users may capture: answer no
	echo 'wireshark-common wireshark-common/install-setuid boolean false' | debconf-set-selections
	local log; log=$(mktemp)
	if ! apt-get install -y -qq --no-install-recommends "${need[@]}" >"$log" 2>&1; then
		say "install: retrying after apt-get update"
		apt-get update -qq >"$log" 2>&1 || { cat "$log" >&2; rm -f "$log"; die "apt-get update failed"; }
		apt-get install -y -qq --no-install-recommends "${need[@]}" >"$log" 2>&1 ||
			{ cat "$log" >&2; rm -f "$log"; die "apt-get install ${need[*]} failed"; }
	fi
	rm -f "$log"
	say "install: done"
}

# ------------------------------------------------------------------ build --

require_tools() {
	local t missing=()
	for t in "$@"; do command -v "$t" >/dev/null || missing+=("$t"); done
	[ ${#missing[@]} -eq 0 ] || die "missing tools: ${missing[*]} (run: $0 install)"
}

# the .deb for a package in $CACHE/debs, downloading it when absent
fetch_deb() {
	local pkg=$1 deb
	deb=$(ls "$CACHE/debs/${pkg}_"*.deb 2>/dev/null | head -n1 || true)
	if [ -z "$deb" ]; then
		say "downloading $pkg"
		(cd "$CACHE/debs" && apt-get download -q -o APT::Sandbox::User=root "$pkg" >/dev/null 2>"$CACHE/.apt.err") || {
			cat "$CACHE/.apt.err" >&2
			die "apt-get download $pkg failed (is apt-get update needed? try: $0 install)"
		}
		deb=$(ls "$CACHE/debs/${pkg}_"*.deb 2>/dev/null | head -n1 || true)
		[ -n "$deb" ] || die "apt-get download $pkg produced no .deb"
	fi
	echo "$deb"
}

kernel_package() {
	if [ -n "$KERNEL_PKG" ]; then echo "$KERNEL_PKG"; return; fi
	# reuse a cached kernel without asking apt (works offline)
	local cached
	cached=$(ls "$CACHE"/debs/linux-image-*-amd64_*.deb 2>/dev/null | head -n1 || true)
	if [ -n "$cached" ]; then basename "$cached" | cut -d_ -f1; return; fi
	local pkg
	pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ { print $2; exit }')
	[ -n "$pkg" ] || die "cannot resolve linux-image-amd64 with apt-cache (run apt-get update)"
	echo "$pkg"
}

# The ELF kernel inside a bzImage, if it can be booted directly (PVH entry
# note): QEMU then skips the real-mode setup and the in-guest decompression,
# which take about 3 s under TCG.
extract_vmlinux() {
	local bz=$1 out=$2
	"$PYTHON" - "$bz" "$out" <<'EOF' || return 1
import lzma, sys, zlib
data = open(sys.argv[1], "rb").read()
def xz(d): return lzma.LZMADecompressor().decompress(d)
def gz(d): return zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(d)
for magic, fn in ((b"\xfd7zXZ\x00", xz), (b"\x1f\x8b\x08\x00", gz)):
    at = data.find(magic)
    while at >= 0:
        try:
            elf = fn(data[at:])
            if elf[:4] == b"\x7fELF":
                open(sys.argv[2], "wb").write(elf)
                sys.exit(0)
        except Exception:
            pass
        at = data.find(magic, at + 1)
sys.exit(1)
EOF
	# XEN_ELFNOTE_PHYS32_ENTRY (18) marks a PVH entry point
	if command -v readelf >/dev/null && ! readelf -n "$out" 2>/dev/null | grep -q 'note type: (0x00000012)'; then
		rm -f "$out"
		return 1
	fi
}

# Unpack the kernel .deb once per kernel version into $CACHE/kernel/<kver>:
# vmlinuz (and vmlinux when it has a PVH entry), the needed modules
# (uncompressed) and their load order.
prepare_kernel() {
	local deb=$1 kver=$2 kdir=$CACHE/kernel/$2
	[ -e "$kdir/.complete-v$KERNEL_FORMAT" ] && return 0
	require_tools dpkg-deb depmod modprobe xz zstd
	say "unpacking kernel $kver"
	local tmp=$CACHE/tmp.kernel
	rm -rf "$tmp" "$kdir"
	mkdir -p "$tmp" "$kdir/modules"
	dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$tmp" --wildcards './boot/vmlinuz-*' './lib/modules/*' ||
		die "cannot unpack $deb"
	[ -e "$tmp/boot/vmlinuz-$kver" ] || die "$deb has no boot/vmlinuz-$kver"
	depmod -b "$tmp" "$kver" || die "depmod failed"
	local m deps line path order=()
	declare -A seen=()
	for m in "${MODULES[@]}"; do
		# prints "insmod /path" lines, dependencies first ("builtin m" for built-ins)
		deps=$(modprobe -d "$tmp" -S "$kver" --show-depends "$m") || die "module $m not found in kernel $kver"
		while read -r line; do
			case $line in
				insmod\ *) path=${line#insmod }; path=${path%% *} ;;
				*) continue ;;
			esac
			[ -n "${seen[$path]:-}" ] && continue
			seen[$path]=1
			order+=("$path")
		done <<< "$deps"
	done
	: > "$kdir/modules.order"
	for path in "${order[@]}"; do
		local base; base=$(basename "$path")
		case $base in
			*.ko.xz) xz -dc "$path" > "$kdir/modules/${base%.xz}"; base=${base%.xz} ;;
			*.ko.zst) zstd -qdc "$path" > "$kdir/modules/${base%.zst}"; base=${base%.zst} ;;
			*.ko.gz) gzip -dc "$path" > "$kdir/modules/${base%.gz}"; base=${base%.gz} ;;
			*.ko) cp "$path" "$kdir/modules/$base" ;;
			*) die "unexpected module file $path" ;;
		esac
		echo "$base" >> "$kdir/modules.order"
	done
	grep -q '^dccp_ipv4\.ko$' "$kdir/modules.order" || die "kernel $kver has no dccp_ipv4 module (DCCP was removed in 6.16; use a 6.1 kernel)"
	cp "$tmp/boot/vmlinuz-$kver" "$kdir/vmlinuz"
	extract_vmlinux "$kdir/vmlinuz" "$kdir/vmlinux" || say "note: no PVH-bootable vmlinux in $kver; booting the bzImage (slower)"
	rm -rf "$tmp" # about 450 MB unpacked; the .deb stays cached
	touch "$kdir/.complete-v$KERNEL_FORMAT"
	say "kernel $kver modules: $(tr '\n' ' ' < "$kdir/modules.order")"
}

build() {
	mkdir -p "$CACHE/debs" "$CACHE/image"
	exec 8>"$CACHE/.build.lock"
	flock -w 900 8 || die "another build holds $CACHE/.build.lock"
	require_tools gcc cpio gzip sha256sum dpkg-deb apt-get
	local kpkg kdeb bdeb kver
	kpkg=$(kernel_package)
	kver=${kpkg#linux-image-}
	case $kver in
		[0-5].*|6.[0-9].*|6.1[0-5].*) ;;
		*) die "kernel package $kpkg is not older than 6.16, so it has no DCCP; set MIO_DCCP_KERNEL_PKG" ;;
	esac
	kdeb=$(fetch_deb "$kpkg")
	bdeb=$(fetch_deb busybox-static)
	prepare_kernel "$kdeb" "$kver"

	local stamp
	stamp=$( { echo "format=$IMAGE_FORMAT kver=$kver busybox=$(basename "$bdeb")"
		sha256sum "$HERE/guest/init" "$HERE/guest/kpeer.c" | cut -d' ' -f1; } | sha256sum | cut -d' ' -f1)
	if [ -s "$CACHE/image/initramfs.gz" ] && [ "$(cat "$CACHE/image/stamp" 2>/dev/null)" = "$stamp" ]; then
		flock -u 8
		return 0
	fi
	say "building initramfs"
	local stage=$CACHE/tmp.stage
	rm -rf "$stage"
	mkdir -p "$stage"/{bin,sbin,etc/kpeer,lib/modules,proc,sys,dev,run,tmp}
	gcc -static -O2 -Wall -Wextra -Werror -pthread -o "$stage/bin/kpeer" "$HERE/guest/kpeer.c" ||
		die "compiling guest/kpeer.c failed"
	dpkg-deb --fsys-tarfile "$bdeb" | tar -x -O ./bin/busybox > "$stage/bin/busybox" ||
		die "cannot unpack busybox from $bdeb"
	chmod 0755 "$stage/bin/busybox"
	install -m 0755 "$HERE/guest/init" "$stage/init"
	cp "$CACHE/kernel/$kver/modules/"*.ko "$stage/lib/modules/"
	cp "$CACHE/kernel/$kver/modules.order" "$stage/etc/kpeer/modules"
	(cd "$stage" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc --owner=0:0 --quiet) |
		gzip -6 > "$CACHE/image/initramfs.gz.tmp"
	mv "$CACHE/image/initramfs.gz.tmp" "$CACHE/image/initramfs.gz"
	rm -f "$CACHE/image/vmlinuz" # older layout kept a copy of the kernel here
	echo "$stamp" > "$CACHE/image/stamp"
	echo "$kver" > "$CACHE/image/kernel-version"
	rm -rf "$stage"
	flock -u 8
	say "built $CACHE/image (kernel $kver, initramfs $(du -k "$CACHE/image/initramfs.gz" | cut -f1) KiB)"
}

# -------------------------------------------------------------- run state --

ns_exists() { [ -e "/run/netns/$NS" ]; }

# pid of our QEMU, if it is alive
qemu_pid() {
	local pid
	pid=$(cat "$RUN/qemu.pid" 2>/dev/null) || return 1
	[ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 1
	tr '\0' ' ' < "/proc/$pid/cmdline" | grep -q -- "-name mio-dccp-peer,process=mio-dccp-$NS" || return 1
	echo "$pid"
}

lock_run() {
	mkdir -p "$RUN"
	exec 9>"$RUN/.lock"
	flock -w 180 9 || die "another peer.sh holds $RUN/.lock"
}

accel_args() {
	local mode=$ACCEL
	if [ "$mode" = auto ]; then
		# A writable /dev/kvm is not enough: on a PVM host (kvm_pvm, no vmx/svm
		# in cpuinfo) only PVM-enabled guest kernels run, so use TCG there.
		if [ -w /dev/kvm ] && grep -qwE 'vmx|svm' /proc/cpuinfo; then mode=kvm; else mode=tcg; fi
	fi
	case $mode in
		kvm) echo "-accel kvm -cpu host" ;;
		tcg) echo "-accel tcg" ;;
		*) die "MIO_DCCP_ACCEL must be auto, kvm or tcg" ;;
	esac
}

setup_netns() {
	ns_exists && ip netns del "$NS"
	ip netns add "$NS"
	ip -n "$NS" link set lo up
	ip -n "$NS" tuntap add dev "$TAP" mode tap
	ip netns exec "$NS" sysctl -q -w "net.ipv6.conf.$TAP.accept_dad=0" "net.ipv6.conf.$TAP.router_solicitations=0" >/dev/null
	ip -n "$NS" addr add "$HOST4/24" dev "$TAP"
	ip -n "$NS" -6 addr add "$HOST6/64" dev "$TAP" nodad
	ip -n "$NS" link set "$TAP" up
}

start() {
	need_root start
	lock_run
	local pid
	if pid=$(qemu_pid); then
		say "already running (pid $pid, netns $NS)"
		return 0
	fi
	[ -e /dev/net/tun ] || die "/dev/net/tun is missing"
	require_tools qemu-system-x86_64 ip
	build
	rm -f "$RUN/qemu.pid" "$RUN/console.log" "$RUN/boot-seconds"
	setup_netns
	local accel kernel kdir
	accel=$(accel_args)
	kdir=$CACHE/kernel/$(cat "$CACHE/image/kernel-version")
	kernel=$kdir/vmlinuz
	# MIO_DCCP_BOOT=bzimage forces the compressed kernel
	if [ -e "$kdir/vmlinux" ] && [ "${MIO_DCCP_BOOT:-pvh}" != bzimage ]; then kernel=$kdir/vmlinux; fi
	local t0; t0=$(date +%s%N)
	# shellcheck disable=SC2086 # $accel is a word list
	if ! ip netns exec "$NS" qemu-system-x86_64 $accel -m "$MEM" -smp 1 \
		-name "mio-dccp-peer,process=mio-dccp-$NS" -nodefaults -no-user-config -display none \
		-kernel "$kernel" -initrd "$CACHE/image/initramfs.gz" \
		-append "console=ttyS0 quiet loglevel=3 panic=-1 kpeer.ip4=$GUEST4/24 kpeer.ip6=$GUEST6/64 kpeer.gw4=$HOST4 kpeer.ctl=$CTL_PORT $KERNEL_ARGS" \
		-netdev "tap,id=net0,ifname=$TAP,script=no,downscript=no" \
		-device "virtio-net-pci,netdev=net0,mac=52:54:00:77:00:02,romfile=" \
		-serial "file:$RUN/console.log" -no-reboot \
		-daemonize -pidfile "$RUN/qemu.pid" 2>"$RUN/qemu.err" 8>&- 9>&-; then
		cat "$RUN/qemu.err" >&2
		ip netns del "$NS" 2>/dev/null || true
		die "qemu did not start"
	fi
	local deadline=$((SECONDS + BOOT_TIMEOUT)) line
	while :; do
		line=$(grep -a -m1 '^KPEER READY' "$RUN/console.log" 2>/dev/null || true)
		[ -n "$line" ] && break
		if ! qemu_pid >/dev/null; then
			tail -n 30 "$RUN/console.log" >&2 || true
			stop_quiet
			die "the guest died while booting (console above)"
		fi
		if [ $SECONDS -ge $deadline ]; then
			tail -n 30 "$RUN/console.log" >&2 || true
			stop_quiet
			die "the guest was not ready after ${BOOT_TIMEOUT}s (console above; MIO_DCCP_BOOT_TIMEOUT)"
		fi
		sleep 0.1
	done
	local ms=$((($(date +%s%N) - t0) / 1000000))
	printf '%d.%03d\n' $((ms / 1000)) $((ms % 1000)) > "$RUN/boot-seconds"
	case $line in
		*failures=0*) ;;
		*)
			grep -a -E 'FAILED|failed|error' "$RUN/console.log" >&2 || true
			stop_quiet
			die "the guest booted with failures: $line"
			;;
	esac
	# QEMU asks for checksum offload on the tap; turn tx offload off so that
	# what the host sends carries complete checksums (captures show them Good)
	if command -v ethtool >/dev/null; then
		ip netns exec "$NS" ethtool -K "$TAP" tx off >/dev/null 2>&1 || say "warning: ethtool -K $TAP tx off failed"
	else
		say "warning: ethtool missing; tx checksum offload stays on for $TAP"
	fi
	say "up in $(cat "$RUN/boot-seconds")s (${accel%% -cpu*}, $(basename "$kernel"), pid $(qemu_pid)): guest $GUEST4 $GUEST6, host side $HOST4 $HOST6 in netns $NS"
}

stop_quiet() {
	local pid
	if pid=$(qemu_pid); then
		kill -TERM "$pid" 2>/dev/null || true
		local i
		for i in $(seq 50); do [ -d "/proc/$pid" ] || break; sleep 0.1; done
		if [ -d "/proc/$pid" ]; then kill -KILL "$pid" 2>/dev/null || true; fi
		say "stopped guest (pid $pid)"
	fi
	rm -f "$RUN/qemu.pid"
	if ns_exists; then
		local left
		left=$(ip netns pids "$NS" 2>/dev/null | tr '\n' ' ' || true)
		[ -z "${left// /}" ] || say "warning: processes still in netns $NS (not ours to kill): $left"
		ip netns del "$NS"
		say "deleted netns $NS"
	fi
}

stop() {
	need_root stop
	lock_run
	if ! qemu_pid >/dev/null && ! ns_exists; then
		say "not running"
		return 0
	fi
	stop_quiet
}

# run a command in the guest through the control port
ctl() {
	need_root ctl
	[ $# -gt 0 ] || die "usage: $0 ctl 'shell command'"
	ns_exists || die "not running (netns $NS missing; run: $0 start)"
	ip netns exec "$NS" "$PYTHON" "$HERE/host/ctl.py" --host "$GUEST4" --port "$CTL_PORT" \
		--timeout "$CTL_TIMEOUT" -- "$*"
}

status() {
	local pid rc=0
	if ! pid=$(qemu_pid); then
		echo "state: down"
		ns_exists && echo "note: netns $NS exists without a guest (run: $0 stop)"
		return 3
	fi
	echo "state: running (qemu pid $pid, booted in $(cat "$RUN/boot-seconds" 2>/dev/null || echo '?')s)"
	echo "netns: $NS  tap: $TAP  host side: $HOST4 $HOST6"
	echo "guest: $GUEST4 $GUEST6  control: tcp $CTL_PORT  kernel: $(cat "$CACHE/image/kernel-version" 2>/dev/null)"
	echo "dccp:  5001 echo ccid2 (service 42, 0x4543484f)  5003 echo ccid3  5004 greet+close (CloseReq)"
	echo "       5005 greet+close with SERVER_TIMEWAIT (Close)  5006 echo cscov=1  5007 echo tx ccid2/rx ccid3"
	echo "       5008 echo tx ccid3/rx ccid2  5009 discard  (others: Reset 3)"
	echo "log:   $RUN/console.log"
	if [ "$(id -u)" = 0 ]; then
		if MIO_DCCP_CTL_TIMEOUT=5 ctl true >/dev/null 2>&1; then echo "control: reachable"; else echo "control: NOT reachable"; rc=1; fi
	fi
	return $rc
}

print_env() {
	cat <<EOF
MIO_DCCP_NS=$NS
MIO_DCCP_TAP=$TAP
MIO_DCCP_HOST4=$HOST4
MIO_DCCP_GUEST4=$GUEST4
MIO_DCCP_HOST6=$HOST6
MIO_DCCP_GUEST6=$GUEST6
MIO_DCCP_CTL_PORT=$CTL_PORT
MIO_DCCP_CACHE=$CACHE
MIO_DCCP_CONSOLE=$RUN/console.log
EOF
}

usage() { sed -n '2,/^[^#]/{/^#/p}' "$0" | sed 's/^# \{0,1\}//'; }

cmd=${1:-}
[ $# -gt 0 ] && shift
case $cmd in
	install) install_tools ;;
	build) need_root build; build; say "image up to date: $CACHE/image (kernel $(cat "$CACHE/image/kernel-version"))" ;;
	start) start ;;
	stop) stop ;;
	restart) stop; start ;;
	status) status ;;
	env) print_env ;;
	exec)
		need_root exec
		[ $# -gt 0 ] || die "usage: $0 exec CMD [ARGS...]"
		ns_exists || die "not running (netns $NS missing; run: $0 start)"
		exec ip netns exec "$NS" "$@"
		;;
	ctl) ctl "$@" ;;
	relay)
		need_root relay
		ns_exists || die "not running (netns $NS missing; run: $0 start)"
		exec ip netns exec "$NS" "$PYTHON" "$HERE/host/dccp_udp_relay.py" --guest "$GUEST4" --local "$HOST4" "$@"
		;;
	probe)
		need_root probe
		ns_exists || die "not running (netns $NS missing; run: $0 start)"
		exec ip netns exec "$NS" "$PYTHON" "$HERE/host/dccp_probe.py" "$@"
		;;
	console)
		[ -e "$RUN/console.log" ] || die "no console log at $RUN/console.log"
		if [ "${1:-}" = -f ]; then exec tail -n +1 -f "$RUN/console.log"; else cat "$RUN/console.log"; fi
		;;
	-h|--help|help) usage ;;
	*) usage >&2; exit 2 ;;
esac

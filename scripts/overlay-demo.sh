#!/usr/bin/env bash
# Overlay networks on one machine: three swarmd hosts, each in a network
# namespace of its own (qs-h1..3, 10.198.0.11-13/24 on a bridge in qs-hub,
# like e2e's NewNetnsCluster on another subnet), a swarm of one manager and
# two workers, the overlay network skynet, three swarm-http tasks on it and
# a client task on host-1 that finds them by name and fetches a page from
# each. Prints every swarmctl command it runs with its output.
#
# Usage: sudo scripts/overlay-demo.sh [BIN_DIR]   (default ./bin; make build)
#
# Needs root and iproute2 (namespaces, veths, TUN devices), curl and getent.
# Several swarmd on loopback addresses of one machine share one network
# stack, which overlays cannot: hence one namespace per host. Everything
# created here (namespaces, swarmd processes, task namespaces, the data
# directory) is removed on exit, also on failure or Ctrl-C.
set -euo pipefail

BIN=${1:-./bin}
HOSTS=3
HUB=qs-hub
SUBNET=10.198.0

die() {
	echo "overlay-demo: $*" >&2
	exit 1
}

[[ $EUID -eq 0 ]] || die "needs root (network namespaces, TUN devices): sudo $0 ${1:-}"
for tool in ip curl getent; do
	command -v "$tool" >/dev/null || die "needs $tool"
done
for b in swarmd swarmctl swarm-http; do
	[[ -x "$BIN/$b" ]] || die "$BIN/$b not found: run make build, or give the bin directory"
done
BIN=$(cd "$BIN" && pwd)
# nsexists tells whether /run/netns/NAME exists (ip netns list complains
# about every entry whose namespace is gone, so it is not asked).
nsexists() { [[ -e "/run/netns/$1" ]]; }
for ns in "$HUB" $(seq -f "qs-h%g" 1 $HOSTS); do
	if nsexists "$ns"; then
		die "namespace $ns exists (another run of this script?); remove it with: ip netns del $ns"
	fi
done

WORK=$(mktemp -d -t overlay-demo.XXXXXX)
declare -a PIDS=() NAMESPACES=() TASKS=()

addr() { echo "$SUBNET.$((10 + $1))"; }
sock() { echo "$WORK/h$1/swarmd.sock"; }
ctl() {
	local i=$1
	shift
	"$BIN/swarmctl" -H "unix://$(sock "$i")" "$@"
}
# say prints a command as typed; show says swarmctl's command on host i
# (SWARM_HOST is host-1), then runs it.
say() { printf '\n$ %s\n' "$*"; }
show() {
	local i=$1
	shift
	if [[ $i -eq 1 ]]; then
		say "swarmctl $*"
	else
		say "swarmctl -H unix://$(sock "$i") $*"
	fi
	ctl "$i" "$@" 2>&1
}

# note_tasks adds the IDs of the tasks of web and client to TASKS: the
# tasks' network namespaces (as-<first 12 characters>) are swarmd's to
# remove, and cleanup removes those a swarmd leaves behind.
note_tasks() {
	local svc
	[[ -S "$(sock 1)" ]] || return 0
	for svc in web client; do
		mapfile -t -O "${#TASKS[@]}" TASKS < <(ctl 1 service ps -q --no-trunc "$svc" 2>/dev/null || true)
	done
}

cleanup() {
	local status=$?
	set +e
	trap - EXIT INT TERM
	note_tasks
	for pid in "${PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	for pid in "${PIDS[@]}"; do
		for _ in $(seq 1 100); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		if kill -0 "$pid" 2>/dev/null; then
			echo "overlay-demo: swarmd $pid still runs 10 s after SIGTERM; killing it" >&2
			kill -KILL "$pid" 2>/dev/null || true
		fi
	done
	for id in "${TASKS[@]}"; do
		ns="as-${id:0:12}"
		if nsexists "$ns"; then
			echo "overlay-demo: task namespace $ns left behind by swarmd; removing it" >&2
			ip netns del "$ns" || true
		fi
	done
	for ((k = ${#NAMESPACES[@]} - 1; k >= 0; k--)); do
		ip netns del "${NAMESPACES[k]}" 2>/dev/null || true
	done
	if [[ $status -ne 0 ]]; then
		for i in $(seq 1 $HOSTS); do
			[[ -f "$WORK/h$i.log" ]] || continue
			echo "--- last lines of host-$i's log:" >&2
			tail -15 "$WORK/h$i.log" >&2
		done
	fi
	rm -rf "$WORK"
	exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

newns() {
	ip netns add "$1"
	NAMESPACES+=("$1")
	ip -n "$1" link set lo up
}

echo "Three hosts: network namespaces qs-h1..$HOSTS, $(addr 1)-$(addr $HOSTS)/24 on a bridge in $HUB."
newns "$HUB"
ip -n "$HUB" link add br0 type bridge
ip -n "$HUB" link set br0 up
for i in $(seq 1 $HOSTS); do
	ns=qs-h$i
	newns "$ns"
	ip link add "qs-veth$i" netns "$HUB" type veth peer name eth0 netns "$ns"
	ip -n "$HUB" link set "qs-veth$i" master br0 up
	ip -n "$ns" addr add "$(addr "$i")/24" dev eth0
	ip -n "$ns" link set eth0 up
done

for i in $(seq 1 $HOSTS); do
	mkdir -p "$WORK/h$i"
	say "setsid ip netns exec qs-h$i $BIN/swarmd --data-dir $WORK/h$i --addr $(addr "$i") --hostname host-$i >$WORK/h$i.log 2>&1 &"
	# setsid and ip netns exec exec: $! is swarmd's pid, in a session of
	# its own so that Ctrl-C reaches this script only, which stops it.
	setsid ip netns exec "qs-h$i" "$BIN/swarmd" --data-dir "$WORK/h$i" --addr "$(addr "$i")" --hostname "host-$i" \
		>"$WORK/h$i.log" 2>&1 &
	PIDS+=($!)
done
for i in $(seq 1 $HOSTS); do
	for _ in $(seq 1 200); do
		kill -0 "${PIDS[i - 1]}" 2>/dev/null || die "swarmd of host-$i exited while starting"
		if [[ -S "$(sock "$i")" ]]; then
			# An unjoined node refuses node ls, but it answers.
			if out=$(ctl "$i" node ls -q 2>&1) || [[ $out == "Error response from daemon:"* ]]; then
				continue 2
			fi
		fi
		sleep 0.05
	done
	die "swarmd of host-$i did not answer on $(sock "$i")"
done

say "export SWARM_HOST=unix://$(sock 1)"
show 1 swarm init
worker_token=$(ctl 1 swarm join-token -q worker)
for i in $(seq 2 $HOSTS); do
	show "$i" swarm join --token "$worker_token" "$(addr 1):2377"
done

show 1 network create -d overlay skynet
show 1 service create -d --name web --replicas 3 --network skynet "$BIN/swarm-http"
for _ in $(seq 1 300); do
	[[ $(ctl 1 service ls --filter name=web --format '{{.Replicas}}') == 3/3 ]] && break
	sleep 0.1
done

# The client: every 2 s, what the names web, web.1 and tasks.web resolve
# to, the page of each task by address, and the page of http://web/. One
# printf per round, so that a round's lines reach the log together.
read -r -d '' CLIENT <<'EOF' || true
while true; do
  out="round at $(date +%T)"
  out="$out
web       -> $(getent ahostsv4 web | cut -d' ' -f1 | sort -u | xargs)"
  out="$out
web.1     -> $(getent ahostsv4 web.1 | cut -d' ' -f1 | sort -u)"
  for a in $(getent ahostsv4 tasks.web | cut -d' ' -f1 | sort -u); do
    out="$out
tasks.web -> $a: $(curl -s --max-time 1 "http://$a/")"
  done
  out="$out
http://web/: $(curl -s --max-time 2 http://web/)"
  printf '%s\n' "$out"
  sleep 2
done
EOF
say "CLIENT=\$(cat <<'EOF'"
printf '%s\nEOF\n)\n' "$CLIENT"
say 'swarmctl service create -d --name client --network skynet --constraint node.hostname==host-1 /bin/sh -c "$CLIENT"'
ctl 1 service create -d --name client --network skynet --constraint node.hostname==host-1 /bin/sh -c "$CLIENT" 2>&1
note_tasks

# Wait for two rounds in which all three tasks answered by address.
good=0
for _ in $(seq 1 60); do
	good=$(ctl 1 service logs --raw client 2>&1 |
		awk '/^round/ { if (n == 3) g++; n = 0 } /^tasks.web -> .*processed by host/ { n++ } END { print g + 0 }')
	[[ $good -ge 2 ]] && break
	sleep 1
done

note_tasks

show 1 network ls
show 1 network inspect skynet
show 1 service ps web
show 1 service ps client
show 1 service logs -n 14 client
[[ $good -ge 2 ]] || die "the client did not reach all three web tasks within a minute"
echo
echo "Stopping the three swarmd and removing the namespaces."

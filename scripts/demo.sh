#!/usr/bin/env bash
# The quickstart on one machine: five swarmd nodes on loopback addresses
# (127.0.0.101-105, no root needed), three managers and two workers formed
# with swarmctl only, then a crash of the Raft leader and of a worker, timed.
# Everything started here is stopped on exit.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

BIN=${SWARM_BIN:-$PWD/bin}
NODES=5
WORK=$(mktemp -d -t actorswarm-demo.XXXXXX)
declare -a PIDS

cleanup() {
	for pid in "${PIDS[@]:-}"; do
		[[ -n "$pid" ]] && kill -TERM "$pid" 2>/dev/null || true
	done
	for pid in "${PIDS[@]:-}"; do
		for _ in $(seq 1 50); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null || true
	done
	rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

ip_of() { echo "127.0.0.$((100 + $1))"; }
ctl() {
	local i=$1
	shift
	"$BIN/swarmctl" -H "unix://$WORK/node$i/swarmd.sock" "$@"
}
start() {
	local i=$1
	mkdir -p "$WORK/node$i"
	"$BIN/swarmd" --data-dir "$WORK/node$i" --addr "$(ip_of "$i")" --hostname "node$i" \
		>>"$WORK/node$i.log" 2>&1 &
	PIDS[$i]=$!
	disown "${PIDS[$i]}"
	for _ in $(seq 1 100); do
		[[ -S "$WORK/node$i/swarmd.sock" ]] && return 0
		sleep 0.05
	done
	echo "node$i did not start; its log:" >&2
	tail -20 "$WORK/node$i.log" >&2
	exit 1
}
now_ms() { date +%s%3N; }
# get HOST PORT prints the body of GET / (bash's /dev/tcp: no curl needed).
get() {
	local body
	exec 3<>"/dev/tcp/$1/$2" || return 1
	printf 'GET / HTTP/1.0\r\nHost: %s\r\n\r\n' "$1" >&3
	body=$(timeout 2 cat <&3 | sed '1,/^\r\{0,1\}$/d')
	exec 3<&-
	printf '%s\n' "$body"
}
say() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }

echo "Starting $NODES swarmd nodes on $(ip_of 1)..$(ip_of $NODES) (data in $WORK)"
for i in $(seq 1 $NODES); do start "$i"; done

say "swarmctl swarm init                      # on node1"
ctl 1 swarm init
manager_token=$(ctl 1 swarm join-token -q manager)
worker_token=$(ctl 1 swarm join-token -q worker)
for i in 2 3; do
	say "swarmctl swarm join --token <manager token> $(ip_of 1):2377   # on node$i"
	ctl "$i" swarm join --token "$manager_token" "$(ip_of 1):2377"
done
for i in 4 5; do
	say "swarmctl swarm join --token <worker token> $(ip_of 1):2377    # on node$i"
	ctl "$i" swarm join --token "$worker_token" "$(ip_of 1):2377"
done
sleep 0.5
say "swarmctl node ls                         # on node4, a worker: it forwards to a manager"
ctl 4 node ls

say "swarmctl service create --name http --replicas 2 -p 18080:80 bin/swarm-http"
ctl 1 service create --name http --replicas 2 -p 18080:80 "$BIN/swarm-http"
say "swarmctl service ls"
ctl 4 service ls
say "swarmctl service ps http"
ctl 4 service ps http
say "curl http://<every node>:18080/   # the routing mesh: any node, balanced over the tasks"
for i in $(seq 1 $NODES); do
	for _ in 1 2; do
		printf '%s: ' "$(ip_of "$i")"
		get "$(ip_of "$i")" 18080 || echo "(no answer)"
	done
done
say "swarmctl service scale http=5"
ctl 4 service scale http=5
ctl 4 service ps http

# running tasks (desired and current Running), one line each: NODE
running_nodes() {
	ctl 1 service ps http --format '{{.Node}} {{.DesiredState}} {{.CurrentState}}' |
		awk '$2 == "Running" && $3 == "Running" {print $1}'
}
victim=node4
for n in node5 node4; do
	if running_nodes | grep -qx "$n"; then victim=$n; fi
done
vi=${victim#node}
say "kill -9 <swarmd of $victim, a worker running tasks of http>"
t0=$(now_ms)
kill -KILL "${PIDS[$vi]}"
until [[ $(running_nodes | grep -vcx "$victim") == 5 ]]; do sleep 0.02; done
t1=$(now_ms)
echo "all 5 replicas running again, none on $victim, $((t1 - t0)) ms after the kill"
ctl 1 service ps http

leader=$(ctl 1 node ls --format '{{.Hostname}} {{.ManagerStatus}}' | awk '$2 == "Leader" {print $1}')
li=${leader#node}
say "kill -9 <swarmd of $leader, the Raft leader>"
t0=$(now_ms)
kill -KILL "${PIDS[$li]}"
ask=1
[[ $li == 1 ]] && ask=2
until ctl "$ask" service scale -d http=4 >/dev/null 2>&1; do sleep 0.02; done
t1=$(now_ms)
echo "first successful write (service scale http=4) $((t1 - t0)) ms after the kill"
until ctl "$ask" node ls --format '{{.Hostname}} {{.Status}}' | grep -q "^$leader Down"; do sleep 0.05; done
ctl "$ask" node ls

say "restart $victim and $leader on their data dirs"
start "$vi"
start "$li"
until [[ $(ctl "$ask" node ls --format '{{.Status}}' | grep -c Ready) == "$NODES" ]]; do sleep 0.05; done
ctl "$ask" node ls
say "swarmctl service rm http"
ctl "$ask" service rm http
echo
echo "Overlay networks need one swarmd per network namespace (and root): sudo scripts/overlay-demo.sh shows them on three namespace hosts."
echo "Stopping everything."

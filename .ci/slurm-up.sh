#!/usr/bin/env bash
# A real one-node Slurm for the slurm tier: Debian's slurm-wlm (22.05) and munge,
# slurmctld and slurmd in their foreground forms under setsid (no systemd here), no
# cgroups (proctrack/linuxproc, task/none), no accounting database (jobcomp/filetxt).
# Idempotent; as root. Waits until the node is idle; SLURM_WAIT bounds that wait.
set -euo pipefail

BASE=${SLURM_BASE:-/tmp/ci-slurm}
WAIT=${SLURM_WAIT:-90}
NODE=$(hostname -s)
CONF=/etc/slurm/slurm.conf

log() { echo "[slurm-up] $*"; }
fail() { echo "[slurm-up] error: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || fail "run as root"
mkdir -p "$BASE/run" "$BASE/state/ctld" "$BASE/state/d"

if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
    log "installing slurm-wlm and munge"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge >"$BASE/apt.log" 2>&1 \
        || { tail -20 "$BASE/apt.log"; fail "apt-get install failed"; }
fi

# slurmd finds its node by `hostname -s`, which must resolve.
getent hosts "$NODE" >/dev/null || echo "127.0.0.1 $NODE" >>/etc/hosts

running() { [ -s "$BASE/run/$1.pid" ] && kill -0 "$(cat "$BASE/run/$1.pid")" 2>/dev/null; }
daemon() {  # daemon NAME COMMAND...: in a session of its own, its pid in run/NAME.pid
    local name=$1; shift
    running "$name" && return 0
    setsid bash -c 'echo $$ >"$0"; exec "$@"' "$BASE/run/$name.pid" "$@" \
        >>"$BASE/$name.log" 2>&1 </dev/null &
    sleep 1
    running "$name" || { tail -20 "$BASE/$name.log"; fail "$name did not start"; }
    log "$name is running (pid $(cat "$BASE/run/$name.pid"))"
}

# munge: a key, its folders, and the daemon as the munge user.
mkdir -p /etc/munge
[ -s /etc/munge/munge.key ] || dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
chown -R munge:munge /etc/munge && chmod 700 /etc/munge && chmod 400 /etc/munge/munge.key
install -d -o munge -g munge -m 755 /run/munge
install -d -o munge -g munge -m 711 /var/lib/munge
install -d -o munge -g munge -m 700 /var/log/munge
if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
    daemon munged setpriv --reuid=munge --regid=munge --init-groups /usr/sbin/munged -F
    for _ in $(seq 50); do munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break; sleep 0.2; done
fi

read -r CPUS MEMORY < <(slurmd -C | awk '/^NodeName/ {
    for (i = 1; i <= NF; i++) { split($i, kv, "="); value[kv[1]] = kv[2] }
    print value["CPUs"], value["RealMemory"] }')
cat >"$CONF" <<EOF
# Written by .ci/slurm-up.sh: one node, no accounting database, no cgroups.
ClusterName=ci
SlurmctldHost=$NODE
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$BASE/jobcomp.log
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=1024
ReturnToService=2
MpiDefault=none
MailProg=/bin/true
StateSaveLocation=$BASE/state/ctld
SlurmdSpoolDir=$BASE/state/d
SlurmctldPidFile=$BASE/state/slurmctld.pid
SlurmdPidFile=$BASE/state/slurmd.pid
SlurmctldLogFile=$BASE/slurmctld.log
SlurmdLogFile=$BASE/slurmd.log
InactiveLimit=0
KillWait=10
MinJobAge=300
NodeName=$NODE CPUs=$CPUS RealMemory=$MEMORY State=UNKNOWN
PartitionName=debug Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
EOF

daemon slurmctld /usr/sbin/slurmctld -D -i -f "$CONF"
for _ in $(seq 30); do scontrol ping 2>/dev/null | grep -q UP && break; sleep 1; done
daemon slurmd /usr/sbin/slurmd -D -f "$CONF"

for _ in $(seq "$WAIT"); do
    state=$(sinfo --noheader --format=%T 2>/dev/null | head -1)
    case $state in
        idle|mixed|allocated) log "node $NODE is $state"; sinfo; exit 0 ;;
        down*|drain*) scontrol update NodeName="$NODE" State=RESUME 2>/dev/null || true ;;
    esac
    sleep 1
done
tail -20 "$BASE/slurmctld.log" "$BASE/slurmd.log" || true
fail "node $NODE is not idle after ${WAIT}s"

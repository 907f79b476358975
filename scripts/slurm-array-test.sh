#!/usr/bin/env bash
# A sharded upload and download run as a real Slurm job array on this machine.
#
# Installs Debian's slurm-wlm and munge (needs root and apt-get, as on a fresh CI
# machine), writes a single-node slurm.conf for this host, starts munged, slurmctld and
# slurmd, starts the emulator on 127.0.0.1, and submits `sbatch --array=0-3 --wait` jobs
# running `dtvi assets upload|download --shard auto`. Then checks that every file is in the
# dataset exactly once, that every shard's report names only its files, and that the
# download holds every file, byte-identical. Everything it starts is stopped on exit.
#
# Usage: scripts/slurm-array-test.sh [FILES]   (default 400 files)
set -euo pipefail
cd "$(dirname "$0")/.."

files=${1:-400}
shards=4
work=$(mktemp -d /tmp/vi-slurm.XXXXXX)
chmod 755 "$work"
pids=()

cleanup() {
  set +e
  scancel --quiet --user=root 2>/dev/null
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done
  wait 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

say() { printf '[slurm-array-test] %s\n' "$*"; }
fail() { say "FAILED: $*"; exit 1; }

if [ "$(id -u)" != 0 ]; then
  fail "run as root: it installs and starts Slurm and munge"
fi

if ! command -v sbatch >/dev/null || ! command -v munged >/dev/null; then
  say "installing slurm-wlm and munge"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends slurm-wlm munge >/dev/null
fi

say "building the CLI and the emulator"
cargo build --quiet -p vi-cli -p vi-emulator
bin_dir=${CARGO_TARGET_DIR:-target}/debug
vi="$(realpath "$bin_dir/dtvi")"
emulator="$(realpath "$bin_dir/vi-emulator")"

# munge: a fresh key, the daemon as root (--force: this machine is the whole cluster).
mkdir -p /etc/munge /var/log/munge /run/munge /var/lib/munge
if [ ! -s /etc/munge/munge.key ]; then
  dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key status=none
fi
chmod 400 /etc/munge/munge.key
chown -R root:root /etc/munge /var/log/munge /run/munge /var/lib/munge
if ! munge -n >/dev/null 2>&1; then
  munged --force
  # Stopped on exit with the rest: started here, so ours.
  pids+=("$(cat /run/munge/munged.pid)")
fi
munge -n | unmunge >/dev/null || fail "munge does not work"

# One node, this host, all its CPUs; no cgroups (CI machines and containers often lack
# them) and no accounting.
host=$(hostname -s)
cpus=$(nproc)
conf_dir=/etc/slurm
mkdir -p "$conf_dir" /var/spool/slurmctld /var/spool/slurmd /var/log/slurm
cat >"$conf_dir/slurm.conf" <<EOF
ClusterName=vi-test
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SwitchType=switch/none
MpiDefault=none
ReturnToService=2
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
NodeName=$host CPUs=$cpus State=UNKNOWN
PartitionName=test Nodes=$host Default=YES MaxTime=INFINITE State=UP OverSubscribe=YES
EOF
slurmctld -D -i >"$work/slurmctld.out" 2>&1 &
pids+=($!)
slurmd -D >"$work/slurmd.out" 2>&1 &
pids+=($!)
for _ in $(seq 1 60); do
  if sinfo -h -o '%T' 2>/dev/null | grep -qE 'idle|mixed'; then break; fi
  sleep 1
done
sinfo -h -o '%T' | grep -qE 'idle|mixed' || {
  cat "$work/slurmctld.out" "$work/slurmd.out" /var/log/slurm/*.log 2>/dev/null | tail -40
  fail "the Slurm node did not come up"
}
say "slurm is up: $(sinfo -h -o '%P %D %T')"

# The emulator on 127.0.0.1; it makes up a test key and prints it.
"$emulator" --host 127.0.0.1 --port 0 --data-dir "$work/emulator" >"$work/emulator.out" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do
  grep -q '^listening on ' "$work/emulator.out" 2>/dev/null && break
  sleep 0.1
done
url=$(sed -n 's/^listening on //p' "$work/emulator.out")
org=$(sed -n 's/^organization id: //p' "$work/emulator.out")
key=$(sed -n 's/^secret key: //p' "$work/emulator.out")
[ -n "$url" ] || { cat "$work/emulator.out"; fail "the emulator did not start"; }
export DATATURE_VI_API_ENDPOINT=$url DATATURE_VI_SECRET_KEY=$key DATATURE_VI_ORGANIZATION_ID=$org
say "emulator at $url"

# The inputs: small distinct images in a few folders.
python3 - "$work/in" "$files" <<'EOF'
import os, struct, sys, zlib
root, n = sys.argv[1], int(sys.argv[2])
def png(w, seed):
    raw = b"".join(b"\x00" + bytes(((x * 31 + seed * 7) & 255) for x in range(w * 3)) for _ in range(1))
    chunk = lambda t, d: struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, 1, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
for i in range(n):
    d = os.path.join(root, f"d{i % 5}")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, f"img{i:05d}.png"), "wb") as f:
        f.write(png(1 + i % 13, i))
EOF
dataset=$("$vi" --json datasets create "slurm array" | python3 -c 'import json,sys; print(json.load(sys.stdin)["dataset_id"])')
say "dataset $dataset, $files files, $shards shards"

# The same batch script for both directions: each array task takes its shard.
cat >"$work/job.sh" <<EOF
#!/bin/bash
set -eu
"$vi" --quiet assets "\$@" --shard auto --report "$work/\$1-\$SLURM_ARRAY_TASK_ID.jsonl"
EOF
chmod +x "$work/job.sh"

run_array() {
  local what=$1
  shift
  sbatch --wait --array=0-$((shards - 1)) --job-name="vi-$what" --output="$work/$what-%a.out" \
    --chdir="$work" "$work/job.sh" "$what" "$@" >/dev/null || {
    tail -n 20 "$work/$what"-*.out
    fail "the $what job array failed"
  }
}

say "sbatch --array=0-$((shards - 1)): upload"
run_array upload --dataset "$dataset" "$work/in"
say "sbatch --array=0-$((shards - 1)): download"
run_array download --dataset "$dataset" --to "$work/out"

python3 - "$work" "$files" "$shards" "$dataset" "$vi" <<'EOF'
import json, os, subprocess, sys
work, n, shards, dataset, vi = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
names = {f"img{i:05d}.png" for i in range(n)}
def fnv(s):
    h = 0xcbf29ce484222325
    for b in s.encode():
        h = ((h ^ b) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return h
for what, outcome in (("upload", "uploaded"), ("download", "downloaded")):
    seen = set()
    for k in range(shards):
        for line in open(os.path.join(work, f"{what}-{k}.jsonl")):
            rec = json.loads(line)
            f = rec["file"]
            assert rec["outcome"] == outcome, rec
            assert fnv(f) % shards == k, f"{f} is not shard {k}'s"
            assert f not in seen, f"{f} twice"
            seen.add(f)
    assert seen == names, f"{what}: {len(seen)} of {len(names)} files"
listed = json.loads(subprocess.check_output([vi, "--json", "assets", "list", "--dataset", dataset, "--all", "--page-size", "1000"]))
got = [a["filename"] for a in listed]
assert len(got) == len(set(got)) == n and set(got) == names, f"dataset holds {len(got)} assets"
out = os.path.join(work, "out", dataset)
for name in names:
    d = f"d{int(name[3:8]) % 5}"
    assert open(os.path.join(out, name), "rb").read() == open(os.path.join(work, "in", d, name), "rb").read(), name
print(f"[slurm-array-test] ok: {n} files, each once in the dataset, each shard's reports name only its files, the download is byte-identical")
EOF

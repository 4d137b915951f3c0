#!/usr/bin/env bash
# swarm-pool.sh: a real multi-host Docker Swarm on this one machine, for the tests of
# playlab's `swarm` backend (runner/tests/swarm.rs).
#
#   swarm-pool.sh up NAME     start the pool, print its endpoints as KEY=VALUE lines
#   swarm-pool.sh down NAME   remove everything labelled playlab.swarm-pool=NAME
#   swarm-pool.sh env NAME    print the endpoints of a running pool again
#   swarm-pool.sh tls NAME DIR
#                             switch every host's engine API to TLS on port 2376
#                             (--tlsverify: clients need a certificate of the CA), with
#                             the files `playlab swarm certs` (runner's
#                             PoolCertificates) wrote for each host in DIR/hosts/HOST/
#   swarm-pool.sh load NAME IMAGE...
#                             copy images (every tag of a repository named without
#                             one) from the outer engine into the manager's, as an
#                             operator's build host would have them (into hostN's
#                             instead with SWARM_POOL_LOAD_INTO=hostN)
#
# What `up` makes, all labelled `playlab.swarm-pool=NAME`:
# - a private bridge network NAME on the outer engine;
# - SWARM_POOL_HOSTS (default 3) "Docker hosts" NAME-host1..N: playlab/docker-node containers (systemd as
#   PID 1, their own dockerd and containerd) started with playlab's system profile, as
#   runner/src/docker/node.rs `system_profile` gives it (every capability but
#   SYSTEM_NODE_DROPPED_CAPS, never --privileged; seccomp and AppArmor unconfined; a
#   private cgroup namespace made writable by system-node-init.sh; tmpfs /run,
#   /run/lock, /tmp; net.ipv4.ip_forward=1; a named volume each for /var/lib/docker and
#   /var/lib/containerd; /lib/modules read-only where the host has it);
# - a Distribution registry NAME-registry (Debian's `docker-registry` package in an
#   image built here from debian:bookworm-slim, playlab/swarm-registry:latest), on
#   the pool network at <ip>:5000 and published on 127.0.0.1:<random> for the outer
#   engine (Docker treats loopback registries as insecure without configuration).
#
# Each inner dockerd also listens on tcp://0.0.0.0:2375 WITHOUT TLS (the pool network
# is private to this machine; TLS comes later), published on 127.0.0.1:<random> too,
# and accepts the pool network's subnet as an insecure registry. Every container of
# an inner engine gets a private cgroup namespace and (SWARM_POOL_SECCOMP, default
# "unconfined") an allow-all seccomp profile, daemon-wide: see host_files_tar.
# host1 runs `docker swarm init`; the others join as workers: one manager keeps a
# single API endpoint and no Raft quorum to wait for
# (managers would only matter for testing manager fail-over). The manager stays
# schedulable, so all three hosts run tasks.
#
# Kernel gotchas seen on the CI machine (see the branch's report): no IP_VS, so
# service VIPs and the ingress routing mesh do not work: create services with
# `--endpoint-mode dnsrr`, and publish ports only with `mode=host`; no INET_ESP, so
# `--opt encrypted` overlays carry no traffic. Overlay MTU is 1450.
#
# Needs the images playlab/docker-node:latest (content/images/docker-node) and
# debian:bookworm-slim on the outer engine; builds playlab/swarm-registry if missing.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../../.." && pwd)
init_script="$repo/runner/src/docker/system-node-init.sh"
node_image=${SWARM_POOL_NODE_IMAGE:-playlab/docker-node:latest}
registry_image=${SWARM_POOL_REGISTRY_IMAGE:-playlab/swarm-registry:latest}
hosts=()
for ((n = 1; n <= ${SWARM_POOL_HOSTS:-3}; n++)); do hosts+=("host$n"); done
wait_limit=${SWARM_POOL_WAIT:-180}

# Mirrors SYSTEM_NODE_DROPPED_CAPS in runner/src/docker/node.rs.
dropped_caps=(SYS_RESOURCE SYS_MODULE SYS_TIME SYS_RAWIO SYSLOG MAC_ADMIN MAC_OVERRIDE
  WAKE_ALARM BLOCK_SUSPEND AUDIT_CONTROL)

say() { echo "swarm-pool: $*" >&2; }
die() { say "$*"; exit 1; }

usage() {
  echo "usage: $0 up|down|env NAME, $0 tls NAME DIR, or $0 load NAME IMAGE..." >&2
  exit 2
}

label() { echo "playlab.swarm-pool=$1"; }

ip_of() { # container network
  docker inspect -f "{{(index .NetworkSettings.Networks \"$2\").IPAddress}}" "$1"
}

# Builds the registry image from the local debian:bookworm-slim and Debian's mirror.
ensure_registry_image() {
  docker image inspect "$registry_image" >/dev/null 2>&1 && return
  say "building $registry_image"
  docker build -q -t "$registry_image" - >/dev/null <<'EOF'
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends docker-registry \
 && apt-get clean && rm -rf /var/lib/apt/lists/*
# Debian's config asks for htpasswd auth (with no users): this one has none, keeps
# filesystem storage in /var/lib/docker-registry and listens on :5000.
RUN printf '%s\n' 'version: 0.1' 'log:' '  level: warn' 'storage:' \
      '  filesystem:' '    rootdirectory: /var/lib/docker-registry' \
      '  delete:' '    enabled: true' 'http:' '  addr: :5000' \
      > /etc/docker/registry/pool.yml
EXPOSE 5000
CMD ["/usr/bin/docker-registry", "serve", "/etc/docker/registry/pool.yml"]
EOF
}

# The files copied into a host before it boots:
# - dockerd's daemon.json: the image's (content/images/docker-node/daemon.json) plus
#   the pool subnet as insecure registries, a private cgroup namespace for every
#   container (Swarm services cannot ask for one), and, unless SWARM_POOL_SECCOMP=
#   default, an allow-all seccomp profile as every container's default: Docker 20.10
#   services cannot ask for seccomp=unconfined, and a playlab system node run as a
#   service needs it (under the default profile its nested runc fails with "unable to
#   join session keyring: unable to create session key: operation not permitted").
#   20.10's dockerd does not know `"seccomp-profile": "unconfined"` (it opens a file
#   of that name), hence the file.
# - /etc/default/docker, whose DOCKER_OPTS Debian's docker.service appends to
#   `dockerd -H fd://` (a "hosts" key in daemon.json would conflict with the -H flag).
#   `--tls=false`: without it dockerd sleeps 16 s at start to warn about a TCP socket
#   without TLS.
host_files_tar() { # subnet
  local dir seccomp=
  dir=$(mktemp -d)
  mkdir -p "$dir/etc/docker" "$dir/etc/default"
  if [ "${SWARM_POOL_SECCOMP:-unconfined}" != default ]; then
    echo '{"defaultAction":"SCMP_ACT_ALLOW"}' >"$dir/etc/docker/seccomp-allow-all.json"
    seccomp='"seccomp-profile": "/etc/docker/seccomp-allow-all.json",'
  fi
  cat >"$dir/etc/docker/daemon.json" <<EOF
{
  "storage-driver": "overlay2",
  "exec-opts": ["native.cgroupdriver=systemd"],
  "log-driver": "json-file",
  "log-opts": { "max-size": "1m", "max-file": "2" },
  "default-address-pools": [{ "base": "10.99.0.0/16", "size": 24 }],
  "default-cgroupns-mode": "private",
  $seccomp
  "insecure-registries": ["$1"]
}
EOF
  echo 'DOCKER_OPTS="-H tcp://0.0.0.0:2375 --tls=false"' >"$dir/etc/default/docker"
  tar -C "$dir" --owner=0 --group=0 -cf - etc
  rm -rf "$dir"
}

create_host() { # name host subnet
  local pool=$1 host=$2 subnet=$3 ctr="$1-$2" init modules=()
  local caps=(--cap-add ALL)
  for c in "${dropped_caps[@]}"; do caps+=(--cap-drop "$c"); done
  [ -d /lib/modules ] && modules=(-v /lib/modules:/lib/modules:ro)
  init=$(cat "$init_script")
  docker create --name "$ctr" --hostname "$ctr" \
    --label "$(label "$pool")" \
    --network "$pool" --network-alias "$host" \
    "${caps[@]}" \
    --security-opt seccomp=unconfined --security-opt apparmor=unconfined \
    --cgroupns private \
    --sysctl net.ipv4.ip_forward=1 \
    --tmpfs /run:rw,nosuid,nodev --tmpfs /run/lock:rw,nosuid,nodev \
    --tmpfs /tmp:rw,nosuid,nodev \
    "${modules[@]}" \
    --mount "type=volume,src=$ctr-containerd,dst=/var/lib/containerd,volume-label=$(label "$pool")" \
    --mount "type=volume,src=$ctr-docker,dst=/var/lib/docker,volume-label=$(label "$pool")" \
    --env container=docker --stop-signal SIGRTMIN+3 \
    -p 127.0.0.1::2375 \
    --entrypoint /bin/sh \
    "$node_image" -c "$init" playlab-init "$init" /sbin/init >/dev/null
  host_files_tar "$subnet" | docker cp - "$ctr:/"
  docker start "$ctr" >/dev/null
}

wait_engine() { # container
  local start
  start=$(date +%s)
  until docker exec "$1" docker info >/dev/null 2>&1; do
    if [ $(( $(date +%s) - start )) -ge "$wait_limit" ]; then
      docker exec "$1" journalctl -u docker.service -n 20 --no-pager -o cat >&2 || true
      die "$1: the inner engine did not answer within ${wait_limit}s"
    fi
    sleep 0.5
  done
}

print_env() { # name
  local pool=$1 ip n=0 port
  [ "$(docker inspect -f '{{.State.Running}}' "$pool-host1" 2>/dev/null)" = true ] \
    || die "pool $pool is not running"
  for host in "${hosts[@]}"; do
    n=$((n + 1))
    ip=$(ip_of "$pool-$host" "$pool")
    port=$(docker port "$pool-$host" 2375/tcp | head -n1 | sed 's/.*://')
    [ "$n" = 1 ] && {
      echo "SWARM_MANAGER_API=tcp://$ip:2375"
      echo "SWARM_MANAGER_API_LOOPBACK=tcp://127.0.0.1:$port"
    }
    echo "SWARM_HOST${n}_NAME=$pool-$host"
    echo "SWARM_HOST${n}_API=tcp://$ip:2375"
    echo "SWARM_HOST${n}_API_LOOPBACK=tcp://127.0.0.1:$port"
  done
  ip=$(ip_of "$pool-registry" "$pool")
  port=$(docker port "$pool-registry" 5000/tcp | head -n1 | sed 's/.*://')
  echo "SWARM_REGISTRY=$ip:5000"
  echo "SWARM_REGISTRY_PUSH=127.0.0.1:$port"
  echo "SWARM_NETWORK=$pool"
}

up() { # name
  local pool=$1 subnet manager_ip token
  [ -r "$init_script" ] || die "missing $init_script"
  docker image inspect "$node_image" >/dev/null 2>&1 \
    || die "missing image $node_image: docker build -t $node_image $repo/content/images/docker-node"
  docker network inspect "$pool" >/dev/null 2>&1 && die "network $pool exists: run down first"
  ensure_registry_image
  docker network create --driver bridge --label "$(label "$pool")" "$pool" >/dev/null
  subnet=$(docker network inspect -f '{{(index .IPAM.Config 0).Subnet}}' "$pool")
  docker run -d --name "$pool-registry" --label "$(label "$pool")" \
    --network "$pool" --network-alias registry \
    --mount "type=volume,src=$pool-registry,dst=/var/lib/docker-registry,volume-label=$(label "$pool")" \
    -p 127.0.0.1::5000 "$registry_image" >/dev/null
  for host in "${hosts[@]}"; do create_host "$pool" "$host" "$subnet"; done
  for host in "${hosts[@]}"; do wait_engine "$pool-$host"; done
  manager_ip=$(ip_of "$pool-host1" "$pool")
  docker exec "$pool-host1" docker swarm init --advertise-addr "$manager_ip" >/dev/null
  token=$(docker exec "$pool-host1" docker swarm join-token -q worker)
  for host in "${hosts[@]:1}"; do
    docker exec "$pool-$host" docker swarm join --token "$token" \
      --advertise-addr "$(ip_of "$pool-$host" "$pool")" "$manager_ip:2377" >/dev/null
  done
  # Ready: every node Ready (joins are reported before the manager sees them).
  local start
  start=$(date +%s)
  until [ "$(docker exec "$pool-host1" docker node ls --format '{{.Status}}' | grep -c '^Ready$')" = "${#hosts[@]}" ]; do
    [ $(( $(date +%s) - start )) -ge 60 ] && die "not every swarm node is Ready"
    sleep 0.5
  done
  print_env "$pool"
}

down() { # name
  local pool=$1 ids left
  ids=$(docker ps -aq --filter "label=$(label "$pool")")
  # -v: the anonymous volumes too; the named ones go below.
  [ -n "$ids" ] && docker rm -f -v $ids >/dev/null
  ids=$(docker network ls -q --filter "label=$(label "$pool")")
  [ -n "$ids" ] && docker network rm $ids >/dev/null
  ids=$(docker volume ls -q --filter "label=$(label "$pool")")
  [ -n "$ids" ] && docker volume rm $ids >/dev/null
  left=$(docker ps -aq --filter "label=$(label "$pool")"
         docker network ls -q --filter "label=$(label "$pool")"
         docker volume ls -q --filter "label=$(label "$pool")")
  [ -z "$left" ] || die "left behind: $left"
  say "pool $pool removed"
}

load() { # name image...
  local pool=$1
  shift
  docker save "$@" \
    | docker -H "tcp://$(ip_of "$pool-${SWARM_POOL_LOAD_INTO:-host1}" "$pool"):2375" load -q >&2
}

tls() { # name dir
  local pool=$1 dir=$2 ctr tls_dir=/etc/docker/playlab-tls start
  for host in "${hosts[@]}"; do
    ctr="$pool-$host"
    [ -r "$dir/hosts/$ctr/server-key.pem" ] || die "no TLS files for $ctr in $dir/hosts/$ctr"
    docker exec "$ctr" mkdir -p "$tls_dir"
    for f in ca.pem server-cert.pem server-key.pem; do
      docker cp -q "$dir/hosts/$ctr/$f" "$ctr:$tls_dir/$f"
    done
    docker exec "$ctr" sh -c "echo 'DOCKER_OPTS=\"-H tcp://0.0.0.0:2376 --tlsverify \
      --tlscacert=$tls_dir/ca.pem --tlscert=$tls_dir/server-cert.pem \
      --tlskey=$tls_dir/server-key.pem\"' > /etc/default/docker && systemctl restart docker"
  done
  for host in "${hosts[@]}"; do wait_engine "$pool-$host"; done
  start=$(date +%s)
  until [ "$(docker exec "$pool-host1" docker node ls --format '{{.Status}}' 2>/dev/null | grep -c '^Ready$')" = "${#hosts[@]}" ]; do
    [ $(( $(date +%s) - start )) -ge 60 ] && die "not every swarm node is Ready after the switch to TLS"
    sleep 0.5
  done
}

[ $# -ge 2 ] || usage
case $1 in
  up) up "$2" ;;
  down) down "$2" ;;
  env) print_env "$2" ;;
  load) shift; load "$@" ;;
  tls) [ $# -eq 3 ] || usage; tls "$2" "$3" ;;
  *) usage ;;
esac

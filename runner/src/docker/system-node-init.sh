# The first process of a system node (see `node.rs`): prepares what systemd,
# containerd and Docker inside the node need, then execs the node's own command so it
# becomes PID 1. Run as `sh -c <this> playlab-init <this> <command>...`: it gets its
# own text as $1 so it can run itself again in a new cgroup namespace (stage two).
#
# Why each step:
# - Docker mounts the node's cgroup hierarchies read-only, and cgroup v1 mounts cannot
#   be remounted (they are busy), so each is unmounted and mounted afresh, read-write.
#   A private cgroup namespace roots every fresh mount at the node's own cgroup: the
#   host's tree stays out of sight.
# - The node's own cgroup carries the operator's limits (pids, memory, CPU), and with
#   cgroup v1 a writable mount would let root in the node raise them. So everything
#   moves one level down, into `playlab-node`, and a second cgroup namespace is rooted
#   there: the limits sit above the node's root, out of reach, and still bound every
#   process in it, nested containers included.
# - `/` rshared: containerd and kubelet propagate mounts into containers.
# - `/dev/kmsg`: kubelet's OOM watcher opens it; Docker gives an unprivileged node
#   none, and the host's kernel log is not the node's to read, so /dev/null stands in.
# Failures are reported (`docker logs`) and do not stop the node: a node without
# writable cgroups still serves a terminal, and its self-check says what is missing.
set -u
say() { echo "playlab-init: $*" >&2; }

cgroup_mounts() { grep -E '^[^ ]+ [^ ]+ cgroup2? ' /proc/self/mounts; }

mount_cgroups_rw() {
  if grep -qE '^[^ ]+ /sys/fs/cgroup tmpfs ' /proc/self/mounts; then
    mount -o remount,rw /sys/fs/cgroup || say "cannot make /sys/fs/cgroup writable"
  fi
  cgroup_mounts | while read -r _ dir type options _; do
    options=$(echo "$options" | sed 's/^ro,/rw,/; s/,ro,/,rw,/; s/,ro$/,rw/')
    umount "$dir" && mount -t "$type" -o "$options" "$type" "$dir" \
      || say "cannot mount $dir read-write"
  done
}

enter_node_cgroup() {
  for dir in $(cgroup_mounts | cut -d' ' -f2); do
    child="$dir/playlab-node"
    mkdir -p "$child" || { say "cannot create $child"; continue; }
    # A v1 cpuset cgroup starts with no CPUs or memory nodes: give it its parent's.
    for file in cpuset.cpus cpuset.mems; do
      [ -e "$child/$file" ] && cat "$dir/$file" > "$child/$file"
    done
    echo $$ > "$child/cgroup.procs" || say "cannot move into $child"
    # cgroup v2: the child gets a controller only if its parent hands it down, which
    # the parent may now that it holds no process.
    if [ -e "$dir/cgroup.subtree_control" ]; then
      for controller in $(cat "$dir/cgroup.controllers"); do
        echo "+$controller" > "$dir/cgroup.subtree_control" \
          || say "cannot delegate $controller"
      done
    fi
  done
}

if [ "${1:-}" = --in-node-cgroup ]; then
  shift
  mount_cgroups_rw
  mount --make-rshared / || say "cannot make / rshared"
  [ -e /dev/kmsg ] || ln -s /dev/null /dev/kmsg
  exec "$@"
fi
self=$1
shift
mount_cgroups_rw
enter_node_cgroup
exec unshare --cgroup /bin/sh -c "$self" playlab-init --in-node-cgroup "$@"

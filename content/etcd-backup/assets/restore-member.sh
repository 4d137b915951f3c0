#!/bin/bash
# The author's solution for the restore step on one member (run by `playlab test`):
# restore the snapshot into a fresh data directory as a new cluster and start etcd.
set -eu
snap=/root/backup/etcd-snapshot.db
[ -f $snap ] || snap=/root/etcd-snapshot.db
. /etc/etcd/etcd.env
etcd-member stop
rm -rf /var/lib/etcd.lost && mv /var/lib/etcd /var/lib/etcd.lost
ETCDCTL_API=3 etcdctl snapshot restore $snap \
  --name "$ETCD_NAME" \
  --initial-cluster "$ETCD_INITIAL_CLUSTER" \
  --initial-cluster-token playlab-etcd-restored \
  --initial-advertise-peer-urls "$ETCD_INITIAL_ADVERTISE_PEER_URLS" \
  --data-dir /var/lib/etcd
etcd-member start

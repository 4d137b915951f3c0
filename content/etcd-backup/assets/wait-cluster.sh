#!/bin/bash
# Last setup on etcd1: wait until all three members are healthy, remember the
# cluster's ID (the restore step's check proves a restore created a new cluster), and
# withdraw the certificate bundles now that every member has its own.
set -u
for _ in $(seq 60); do
  etcdctl-admin endpoint health >/dev/null 2>&1 && break
  sleep 1
done
etcdctl-admin endpoint health || { echo "the etcd cluster did not become healthy"; etcd-member logs; exit 1; }
mkdir -p /var/lib/playlab
ENDPOINTS=https://etcd1:2379 etcdctl-admin endpoint status -w fields | awk -F" : " '/"ClusterID"/ {print $2; exit}' \
  > /var/lib/playlab/original-cluster-id
rm -f /srv/playlab/share/*-pki.tar

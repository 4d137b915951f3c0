#!/bin/bash
# Setup on etcd2 and etcd3: fetch this member's certificate bundle from etcd1.
set -eu
me=$(hostname)
mkdir -p /etc/kubernetes/pki
for _ in $(seq 50); do
  curl -sSf -o /tmp/pki.tar "http://etcd1:8080/$me-pki.tar" 2>/dev/null && break
  sleep 0.2
done
tar -C /etc/kubernetes/pki -xf /tmp/pki.tar
rm /tmp/pki.tar
chmod 600 /etc/kubernetes/pki/etcd/*.key

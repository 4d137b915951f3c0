#!/bin/bash
# Setup on every member: write /etc/etcd/etcd.env (etcd reads ETCD_* variables as its
# flags) for a 3-member cluster with mutual TLS on both the client and the peer port,
# then start the member.
set -eu
me=$(hostname)
pki=/etc/kubernetes/pki/etcd
cat > /etc/etcd/etcd.env <<EOC
ETCD_NAME=$me
ETCD_DATA_DIR=/var/lib/etcd
ETCD_LISTEN_CLIENT_URLS=https://0.0.0.0:2379
ETCD_ADVERTISE_CLIENT_URLS=https://$me:2379
ETCD_LISTEN_PEER_URLS=https://0.0.0.0:2380
ETCD_INITIAL_ADVERTISE_PEER_URLS=https://$me:2380
ETCD_INITIAL_CLUSTER=etcd1=https://etcd1:2380,etcd2=https://etcd2:2380,etcd3=https://etcd3:2380
ETCD_INITIAL_CLUSTER_TOKEN=playlab-etcd
ETCD_INITIAL_CLUSTER_STATE=new
ETCD_CERT_FILE=$pki/server.crt
ETCD_KEY_FILE=$pki/server.key
ETCD_TRUSTED_CA_FILE=$pki/ca.crt
ETCD_CLIENT_CERT_AUTH=true
ETCD_PEER_CERT_FILE=$pki/peer.crt
ETCD_PEER_KEY_FILE=$pki/peer.key
ETCD_PEER_TRUSTED_CA_FILE=$pki/ca.crt
ETCD_PEER_CLIENT_CERT_AUTH=true
EOC
rm -rf /var/lib/etcd && mkdir -m 700 /var/lib/etcd
etcd-member start

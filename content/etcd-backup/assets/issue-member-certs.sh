#!/bin/bash
# Setup on etcd1, the node that holds the session's etcd CA: issue server and peer
# certificates for the other members (what `kubeadm init phase certs etcd-server` and
# `etcd-peer` do on each control-plane node), bundle them with the CA certificate and
# a client certificate, and offer the bundles over HTTP on the session's private
# network so etcd2 and etcd3 can fetch them (the nodes share no disk).
set -eu
pki=/etc/kubernetes/pki/etcd
share=/srv/playlab/share
mkdir -p $share
for member in etcd2 etcd3; do
  d=$(mktemp -d)
  mkdir -p $d/etcd
  for kind in server peer; do
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
      -keyout $d/etcd/$kind.key -subj "/CN=$member" -out $d/$kind.csr 2>/dev/null
    printf '%s\n' 'keyUsage=critical,digitalSignature' \
      'extendedKeyUsage=serverAuth,clientAuth' \
      "subjectAltName=DNS:$member,DNS:localhost,IP:127.0.0.1,IP:::1" > $d/ext
    openssl x509 -req -in $d/$kind.csr -CA $pki/ca.crt -CAkey $pki/ca.key \
      -set_serial "0x$(openssl rand -hex 16)" -days 365 -sha256 -extfile $d/ext \
      -out $d/etcd/$kind.crt 2>/dev/null
  done
  cp $pki/ca.crt $pki/healthcheck-client.crt $pki/healthcheck-client.key $d/etcd/
  tar -C $d -cf $share/$member-pki.tar etcd
  rm -rf $d
done
busybox httpd -p 8080 -h $share

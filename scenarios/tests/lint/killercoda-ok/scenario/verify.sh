test -f /root/a.yaml

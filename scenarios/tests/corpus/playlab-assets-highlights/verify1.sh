#!/bin/sh
test -x /root/apps/app1/src/main.sh && test -f /root/json/app2/conf/settings.json && test -f /etc/demo/a.yaml

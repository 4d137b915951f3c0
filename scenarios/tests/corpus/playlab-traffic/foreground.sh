#!/bin/bash
# Serves ~/site on port 8080 and says where the learner's browser finds it.
mkdir -p ~/site
echo 'hello from the traffic scenario' > ~/site/index.html
(cd ~/site && setsid python3 -m http.server 8080 >/tmp/http.log 2>&1 </dev/null &)
echo "The app: {{TRAFFIC_HOST1_8080}}"
echo "From the host file: $(sed s/PORT/8080/ /etc/killercoda/host)"

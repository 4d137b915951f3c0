test -f /tmp/done

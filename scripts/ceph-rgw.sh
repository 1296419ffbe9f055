#!/bin/bash
# A single-node Ceph with an S3 gateway, from Debian packages (ceph-mon, ceph-osd, radosgw), for
# `make test-ceph`: one monitor, one OSD on memstore (in memory: a test cluster, nothing to format),
# one radosgw on 127.0.0.1. Ceph RGW enforces S3 Object Lock (FIELD-NOTES "Several machines").
#
#   bash scripts/ceph-rgw.sh start   # prints the export lines for the endpoint and its keys
#   bash scripts/ceph-rgw.sh stop    # stops the daemons it started and removes the folder
#
# Everything lives under $CEPH_DIR (default /tmp/qms-ceph); daemons are stopped by their pid files.
set -euo pipefail

CEPH_DIR=${CEPH_DIR:-/tmp/qms-ceph}
RGW_PORT=${RGW_PORT:-7480}
MON_PORT=${MON_PORT:-6799}
ACCESS=${CEPH_ACCESS_KEY:-qmstestaccesskey00}
SECRET=${CEPH_SECRET_KEY:-qmstestsecretkey0000000000000000000000}
CONF=$CEPH_DIR/ceph.conf
say() { echo "ceph-rgw: $*" >&2; }

need() {
  local missing=()
  for bin in ceph-mon ceph-osd radosgw radosgw-admin ceph ceph-authtool monmaptool; do
    command -v "$bin" >/dev/null || missing+=("$bin")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    say "missing ${missing[*]}: apt-get install --no-install-recommends ceph-mon ceph-osd radosgw ceph-common"
    exit 4
  fi
}

start() {
  need
  [ -e "$CEPH_DIR" ] && { say "$CEPH_DIR exists: stop first (bash $0 stop)"; exit 1; }
  mkdir -p "$CEPH_DIR"/{mon,osd,rgw,run,log}
  local fsid; fsid=$(cat /proc/sys/kernel/random/uuid)
  cat > "$CONF" <<CONF
[global]
fsid = $fsid
mon host = 127.0.0.1:$MON_PORT
mon initial members = a
auth cluster required = cephx
auth service required = cephx
auth client required = cephx
keyring = $CEPH_DIR/\$name.keyring
run dir = $CEPH_DIR/run
log file = $CEPH_DIR/log/\$name.log
admin socket = $CEPH_DIR/run/\$name.asok
pid file = $CEPH_DIR/run/\$name.pid
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd crush chooseleaf type = 0
mon allow pool size one = true
mon allow pool delete = true
mon warn on pool no redundancy = false
osd objectstore = memstore
memstore device bytes = 1073741824
ms bind ipv6 = false
[mon.a]
mon data = $CEPH_DIR/mon
[osd.0]
osd data = $CEPH_DIR/osd
[client.rgw.qms]
rgw frontends = beast endpoint=127.0.0.1:$RGW_PORT
rgw data = $CEPH_DIR/rgw
rgw enable usage log = false
CONF
  # keys: the monitor's, the admin's, the OSD bootstrap's
  ceph-authtool --create-keyring "$CEPH_DIR/mon.keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
  ceph-authtool --create-keyring "$CEPH_DIR/client.admin.keyring" --gen-key -n client.admin \
    --cap mon 'allow *' --cap osd 'allow *' --cap mgr 'allow *' >/dev/null
  ceph-authtool "$CEPH_DIR/mon.keyring" --import-keyring "$CEPH_DIR/client.admin.keyring" >/dev/null
  monmaptool --create --add a "127.0.0.1:$MON_PORT" --fsid "$fsid" "$CEPH_DIR/monmap" >/dev/null
  ceph-mon -c "$CONF" --mkfs -i a --monmap "$CEPH_DIR/monmap" --keyring "$CEPH_DIR/mon.keyring"
  cp "$CEPH_DIR/mon.keyring" "$CEPH_DIR/mon.a.keyring"
  ceph-mon -c "$CONF" -i a
  say "monitor up"
  local c=(ceph -c "$CONF" -n client.admin -k "$CEPH_DIR/client.admin.keyring")
  timeout 60 "${c[@]}" -s >/dev/null
  # the OSD
  local uuid id; uuid=$(cat /proc/sys/kernel/random/uuid)
  id=$("${c[@]}" osd new "$uuid")         # the OSD boots only if its store carries this same uuid
  "${c[@]}" auth get-or-create "osd.$id" mon 'allow profile osd' osd 'allow *' mgr 'allow profile osd' \
    -o "$CEPH_DIR/osd.$id.keyring"
  ceph-osd -c "$CONF" -i "$id" --mkfs --osd-uuid "$uuid" --osd-data "$CEPH_DIR/osd" --keyring "$CEPH_DIR/osd.$id.keyring"
  ceph-osd -c "$CONF" -i "$id" --osd-data "$CEPH_DIR/osd" --keyring "$CEPH_DIR/osd.$id.keyring"
  for _ in $(seq 90); do "${c[@]}" osd stat 2>/dev/null | grep -q " 1 up" && break; sleep 1; done
  "${c[@]}" osd stat 2>/dev/null | grep -q " 1 up" || { say "osd.$id did not come up; see $CEPH_DIR/log"; exit 1; }
  say "osd.$id up"
  # the gateway and its S3 user
  "${c[@]}" auth get-or-create client.rgw.qms mon 'allow rw' osd 'allow rwx' -o "$CEPH_DIR/client.rgw.qms.keyring"
  radosgw -c "$CONF" -n client.rgw.qms -k "$CEPH_DIR/client.rgw.qms.keyring"
  for _ in $(seq 120); do
    curl -s -o /dev/null "http://127.0.0.1:$RGW_PORT/" && break; sleep 1
  done
  curl -s -o /dev/null "http://127.0.0.1:$RGW_PORT/" || { say "radosgw did not answer; see $CEPH_DIR/log"; exit 1; }
  radosgw-admin -c "$CONF" -n client.admin -k "$CEPH_DIR/client.admin.keyring" user create --uid=qms \
    --display-name="qms test" --access-key="$ACCESS" --secret-key="$SECRET" >/dev/null
  say "radosgw up on 127.0.0.1:$RGW_PORT"
  echo "export QMS_TEST_S3_ENDPOINT=http://127.0.0.1:$RGW_PORT AWS_ACCESS_KEY_ID=$ACCESS AWS_SECRET_ACCESS_KEY=$SECRET AWS_DEFAULT_REGION=us-east-1"
}

stop() {
  for pidfile in "$CEPH_DIR"/run/*.pid; do
    [ -f "$pidfile" ] || continue
    pid=$(cat "$pidfile"); kill "$pid" 2>/dev/null || true
    for _ in $(seq 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  done
  rm -rf "$CEPH_DIR"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac

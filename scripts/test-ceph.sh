#!/bin/bash
# `make test-ceph`: the lock-conformance suite (tests/test_object_lock.py) against a real S3 server.
#
# Given QMS_TEST_S3_ENDPOINT (and AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY for it), it runs there;
# without one it starts a single-node Ceph RGW (scripts/ceph-rgw.sh) and stops it afterwards.
# On a real server nothing is marked xfail: a case it fails is a case its Object Lock does not keep.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTEST=${PYTEST:-.venv/bin/pytest}
started=
if [ -z "${QMS_TEST_S3_ENDPOINT:-}" ]; then
  eval "$(bash scripts/ceph-rgw.sh start)"
  started=1
  trap 'bash scripts/ceph-rgw.sh stop' EXIT
fi
: "${AWS_ACCESS_KEY_ID:?the endpoint's access key}" "${AWS_SECRET_ACCESS_KEY:?the endpoint's secret key}"
export QMS_TEST_S3_ENDPOINT AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_DEFAULT_REGION=${AWS_DEFAULT_REGION:-us-east-1}
echo "test-ceph: lock conformance against $QMS_TEST_S3_ENDPOINT${started:+ (single-node Ceph started here)}" >&2
PYTHONPATH=src "$PYTEST" -p no:xdist -q -rxXs tests/test_object_lock.py "$@"

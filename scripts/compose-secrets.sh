#!/usr/bin/env bash
# Writes the docker-compose stack's secrets as files under .run/compose/secrets
# (docker-compose.yml mounts them at /run/secrets): the demo store's and the
# simulator's documented credentials, and fresh random values for the rest.
# Existing files are kept, so a stack's data stays readable. Replace them
# with your own for anything but the demo. The directory is private to you;
# the files are world-readable so that the containers' non-root users (uid
# 10001 in the ivsbatch image) can read their bind mounts, except the
# personal-data keys: readable by group 10001 only (needs root or sudo once).
set -euo pipefail
cd "$(dirname "$0")/.."
dir=.run/compose/secrets
mkdir -p "$dir"
chmod 0700 .run/compose "$dir"
put() { # name value: write unless present
  [ -s "$dir/$1" ] && return 0
  printf '%s' "$2" >"$dir/$1"
  chmod 0444 "$dir/$1"
  echo "wrote $dir/$1" >&2
}
rand() { head -c 32 /dev/urandom | base64 -w0; }
put postgres_password "$(rand | tr -d '/+=' | head -c 32)"
put pgpass "postgres:5432:ivsbatch:ivsbatch:$(cat "$dir/postgres_password")"
put aws_secret_access_key ivsbatch-secret            # the demo store's (docker-compose.yml, s3)
put ivs_ak SIMAK0000000000000000                     # the simulator's documented pair
put ivs_sk sim-secret-key
put pii_keys "compose1:$(rand)"
put pii_index_key "$(rand)"
# The workers refuse a personal-data key file others can read (pii.ReadKeyFile):
# these two are readable by the image user's group (gid 10001) only.
if ! chgrp 10001 "$dir/pii_keys" "$dir/pii_index_key" 2>/dev/null; then
  echo "give the containers' group the personal-data keys: sudo chgrp 10001 $dir/pii_keys $dir/pii_index_key" >&2
  exit 1
fi
chmod 0440 "$dir/pii_keys" "$dir/pii_index_key"
put grafana_admin_password "$(rand | tr -d '/+=' | head -c 24)"

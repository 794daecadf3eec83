#!/usr/bin/env bash
# A private Distribution v2 registry (Debian's `docker-registry`) for tests and benchmarks.
#
#   registry.sh start DIR ADDR [options]   config + storage in DIR, listen on ADDR (127.0.0.1:PORT),
#                                          wait until /v2/ answers; pid in DIR/registry.pid
#       --htpasswd FILE                    basic auth (bcrypt htpasswd file)
#       --tls CERT KEY                     HTTPS with this certificate
#       --client-ca CA                     (after --tls) require client certificates signed by CA
#       --token REALM ISSUER SERVICE CERT  bearer-token auth: tokens from REALM, signed by CERT's key
#   registry.sh push DIR ADDR [NAME=OCI_LAYOUT:TAG ...]
#                                          skopeo copy OCI layouts into it (default: the fixtures'
#                                          busybox and, when built, debian); plain HTTP unless DIR/tls
#   registry.sh stop DIR                   stop the registry started by `start` (by its pid file)
#   registry.sh free-port                  print a free TCP port on 127.0.0.1
set -euo pipefail
FIXTURES=${BERTH_FIXTURES:-/var/tmp/berth-fixtures}
log() { printf '== registry: %s\n' "$*" >&2; }

running() { [[ -f $1/registry.pid ]] && kill -0 "$(cat "$1/registry.pid")" 2>/dev/null; }

cmd=${1:-}
shift || true
case $cmd in
start)
  dir=$1 addr=$2; shift 2
  mkdir -p "$dir/storage"
  if running "$dir"; then log "already running, pid $(cat "$dir/registry.pid")"; exit 0; fi
  auth="" tls="" scheme=http curl_opts=()
  while [[ $# -gt 0 ]]; do
    case $1 in
      --htpasswd) auth="auth:
  htpasswd:
    realm: berth-test
    path: $2"; shift 2 ;;
      --tls) tls="  tls:
    certificate: $2
    key: $3"; scheme=https; curl_opts=(-k); touch "$dir/tls"; shift 3 ;;
      --client-ca) tls="$tls
    clientcas:
      - $2"; shift 2 ;;
      --token) auth="auth:
  token:
    realm: $2
    issuer: $3
    service: $4
    rootcertbundle: $5"; shift 5 ;;
      *) echo "registry.sh: unknown option $1" >&2; exit 2 ;;
    esac
  done
  cat > "$dir/config.yml" <<CFG
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $dir/storage
  delete:
    enabled: true
  cache:
    blobdescriptor: inmemory
http:
  addr: $addr
$tls
$auth
CFG
  setsid docker-registry serve "$dir/config.yml" >>"$dir/registry.log" 2>&1 </dev/null &
  echo $! >"$dir/registry.pid"
  for _ in $(seq 100); do
    code=$(curl -s "${curl_opts[@]}" -o /dev/null -w '%{http_code}' "$scheme://$addr/v2/" || true)
    if [[ $code == 200 || $code == 401 ]]; then log "up on $scheme://$addr, pid $(cat "$dir/registry.pid")"; exit 0; fi
    # With client certificates required, curl cannot ask; a listening port will do.
    if [[ $tls == *clientcas* ]] && (exec 3<>"/dev/tcp/${addr%:*}/${addr##*:}") 2>/dev/null; then
      log "up on $scheme://$addr (client certificates required), pid $(cat "$dir/registry.pid")"; exit 0
    fi
    kill -0 "$(cat "$dir/registry.pid")" 2>/dev/null || break
    sleep 0.1
  done
  log "did not come up; $dir/registry.log says:"; tail -5 "$dir/registry.log" >&2; exit 1 ;;
push)
  dir=$1 addr=$2; shift 2
  tls_verify=false
  items=("$@")
  if [[ ${#items[@]} -eq 0 ]]; then
    items=("fixtures/busybox:latest=$FIXTURES/oci-busybox:latest")
    [[ -f $FIXTURES/oci-debian/index.json ]] && items+=("fixtures/debian:bookworm=$FIXTURES/oci-debian:bookworm")
  fi
  for item in "${items[@]}"; do
    name=${item%%=*} src=${item#*=}
    skopeo copy -q --dest-tls-verify=$tls_verify ${REGISTRY_CREDS:+--dest-creds "$REGISTRY_CREDS"} \
      "oci:$src" "docker://$addr/$name" >&2
  done ;;
stop)
  dir=$1
  if running "$dir"; then
    pid=$(cat "$dir/registry.pid"); kill "$pid"
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
  fi
  rm -f "$dir/registry.pid" ;;
free-port)
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' ;;
*) sed -n '2,16p' "$0" >&2; exit 2 ;;
esac

#!/usr/bin/env bash
# A throwaway Kubernetes control plane (etcd + kube-apiserver) on 127.0.0.1
# for Ferry's end-to-end tests of `ferryctl discovery --kubeconfig`.
#
#   cluster.sh build      build the binaries into a cache outside the repo
#   cluster.sh up DIR     start etcd + apiserver, write DIR/kubeconfig (admin) and
#                         DIR/limited-kubeconfig (user "limited": no groups, so RBAC
#                         grants it only what a test binds to it)
#   cluster.sh down DIR   stop what `up DIR` started and remove DIR
#
# No controller-manager, scheduler or nodes: the tests only need CRUD and
# watches (CRDs, Services, EndpointSlices, Istio config).
set -euo pipefail

K8S_VERSION=v1.36.3
ETCD_VERSION=v3.6.13
CACHE=${FERRY_K8S_CACHE:-$HOME/.cache/ferry-k8s}/k8s-${K8S_VERSION}-etcd-${ETCD_VERSION}
BIN=$CACHE/bin
GO=${GO:-$(command -v go || echo /usr/local/go/bin/go)}

export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-modcacherw

die() { echo "cluster.sh: $*" >&2; exit 1; }
log() { echo "cluster.sh: $*" >&2; }

build_kube_apiserver() {
    local mod
    mod=$(mktemp -d)
    # shellcheck disable=SC2064 # expand now: the directory is local
    trap "rm -rf '$mod'" RETURN
    (
        cd "$mod"
        "$GO" mod init k8stestbins >/dev/null 2>&1
        # k8s.io/kubernetes requires its staging modules at v0.0.0 and fixes that
        # with local replaces, which do not apply to a dependency: replace each
        # with the published v0.<minor>.<patch> instead.
        local gomod staging m
        gomod=$("$GO" mod download -json "k8s.io/kubernetes@$K8S_VERSION" |
            sed -n 's/.*"GoMod": "\(.*\)",/\1/p')
        [[ -f $gomod ]] || die "cannot download k8s.io/kubernetes@$K8S_VERSION"
        staging="v0.${K8S_VERSION#v1.}"
        for m in $(sed -n 's|^\s*\(k8s.io/[^ ]*\) => ./staging/src/.*|\1|p' "$gomod"); do
            "$GO" mod edit -replace="$m=$m@$staging"
        done
        "$GO" mod edit -require="k8s.io/kubernetes@$K8S_VERSION" -tool=k8s.io/kubernetes/cmd/kube-apiserver
        "$GO" mod tidy
        local minor=${K8S_VERSION#v1.} x="" p date
        minor=${minor%%.*}
        date=$(date -u +%Y-%m-%dT%H:%M:%SZ)
        for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
            x="$x -X $p.gitVersion=$K8S_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$minor"
            x="$x -X $p.gitTreeState=clean -X $p.buildDate=$date"
        done
        "$GO" build -trimpath -tags notest,grpcnotrace -ldflags "-s -w $x" \
            -o "$BIN/kube-apiserver.tmp" k8s.io/kubernetes/cmd/kube-apiserver
        mv "$BIN/kube-apiserver.tmp" "$BIN/kube-apiserver"
    )
}

build_etcd() {
    local mod
    mod=$(mktemp -d)
    # shellcheck disable=SC2064
    trap "rm -rf '$mod'" RETURN
    (
        cd "$mod"
        # Its own module: etcd keeps its own dependency pins.
        "$GO" mod init etcdbin >/dev/null 2>&1
        "$GO" get "go.etcd.io/etcd/server/v3@$ETCD_VERSION"
        "$GO" build -trimpath -ldflags "-s -w" -o "$BIN/etcd.tmp" go.etcd.io/etcd/server/v3
        mv "$BIN/etcd.tmp" "$BIN/etcd"
    )
}

# Go >= 1.26 (what k8s.io/kubernetes v1.36 declares); Debian 12's golang-go is 1.19, too old,
# and no toolchain is downloaded here (GOTOOLCHAIN=local).
check_go() {
    [[ -x $GO ]] || die "Go not found: install Go >= 1.26 (e.g. in /usr/local/go) or set GO=/path/to/go"
    local v
    v=$("$GO" env GOVERSION)
    v=${v#go}
    local major=${v%%.*} minor=${v#*.}
    minor=${minor%%.*}
    if ((major < 1 || (major == 1 && minor < 26))); then
        die "Go $v at $GO is too old: Go >= 1.26 is needed to build kube-apiserver $K8S_VERSION"
    fi
}

cmd_build() {
    if [[ -x $BIN/etcd && -x $BIN/kube-apiserver ]]; then
        log "etcd and kube-apiserver: cached in $BIN"
        return 0
    fi
    check_go
    mkdir -p "$BIN"
    if [[ -x $BIN/etcd ]]; then log "etcd: cached in $BIN"; else
        log "building etcd $ETCD_VERSION"
        build_etcd
    fi
    if [[ -x $BIN/kube-apiserver ]]; then log "kube-apiserver: cached in $BIN"; else
        log "building kube-apiserver $K8S_VERSION"
        build_kube_apiserver
    fi
    log "binaries in $BIN"
}

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

make_pki() {
    local p=$1/pki
    mkdir -p "$p"
    (
        cd "$p"
        openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 30 -subj /CN=ferry-test-ca \
            -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
        openssl req -newkey rsa:2048 -nodes -keyout apiserver.key -out apiserver.csr -subj /CN=kube-apiserver
        printf '%s\n' 'basicConstraints=CA:FALSE' 'keyUsage=critical,digitalSignature,keyEncipherment' \
            'extendedKeyUsage=serverAuth' \
            'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,IP:10.96.0.1' \
            >srv.ext
        openssl x509 -req -in apiserver.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 30 \
            -out apiserver.crt -extfile srv.ext
        openssl genrsa -out sa.key 2048
        openssl rsa -in sa.key -pubout -out sa.pub
    ) >/dev/null 2>&1 || die "openssl failed to make the test PKI"
    # Token auth: a random admin token in system:masters (bypasses RBAC), and one for a user
    # in no group, for tests of what ferryctl does when RBAC forbids a read.
    local token limited
    token=$(openssl rand -hex 24)
    limited=$(openssl rand -hex 24)
    {
        echo "$token,admin,admin-uid,system:masters"
        echo "$limited,limited,limited-uid"
    } >"$p/tokens.csv"
    echo "$token" >"$p/token"
    echo "$limited" >"$p/limited-token"
}

# wait_for URL SECONDS PID CURL-ARGS...
wait_for() {
    local url=$1 secs=$2 pid=$3 i
    shift 3
    for ((i = 0; i < secs * 4; i++)); do
        if curl -sf -o /dev/null "$@" "$url"; then return 0; fi
        kill -0 "$pid" 2>/dev/null || return 1
        sleep 0.25
    done
    return 1
}

cmd_up() {
    local dir=${1:?usage: cluster.sh up DIR}
    [[ -x $BIN/etcd && -x $BIN/kube-apiserver ]] || die "binaries missing in $BIN: run 'cluster.sh build'"
    mkdir -p "$dir/logs"
    dir=$(cd "$dir" && pwd)
    [[ ! -e $dir/pids ]] || die "$dir/pids exists: run 'cluster.sh down $dir' first"
    : >"$dir/pids"
    make_pki "$dir"

    local etcd_client etcd_peer api
    etcd_client=$(free_port)
    etcd_peer=$(free_port)
    api=$(free_port)
    "$BIN/etcd" --name=node0 --data-dir="$dir/etcd" \
        --listen-client-urls="http://127.0.0.1:$etcd_client" --advertise-client-urls="http://127.0.0.1:$etcd_client" \
        --listen-peer-urls="http://127.0.0.1:$etcd_peer" --initial-advertise-peer-urls="http://127.0.0.1:$etcd_peer" \
        --initial-cluster="node0=http://127.0.0.1:$etcd_peer" \
        --unsafe-no-fsync=true --quota-backend-bytes=2147483648 --auto-compaction-retention=1 --log-level=warn \
        >"$dir/logs/etcd.log" 2>&1 &
    local etcd_pid=$!
    echo "$etcd_pid etcd" >>"$dir/pids"
    if ! wait_for "http://127.0.0.1:$etcd_client/readyz" 30 "$etcd_pid"; then
        tail -n 30 "$dir/logs/etcd.log" >&2
        die "etcd did not become ready"
    fi

    local p=$dir/pki
    "$BIN/kube-apiserver" --etcd-servers="http://127.0.0.1:$etcd_client" \
        --bind-address=127.0.0.1 --advertise-address=127.0.0.1 --secure-port="$api" \
        --tls-cert-file="$p/apiserver.crt" --tls-private-key-file="$p/apiserver.key" --cert-dir="$p" \
        --token-auth-file="$p/tokens.csv" \
        --service-account-issuer=https://kubernetes.default.svc.cluster.local \
        --service-account-key-file="$p/sa.pub" --service-account-signing-key-file="$p/sa.key" \
        --service-cluster-ip-range=10.96.0.0/16 --authorization-mode=RBAC --allow-privileged=true \
        --disable-admission-plugins=ServiceAccount \
        --endpoint-reconciler-type=none --profiling=false --v=1 \
        >"$dir/logs/kube-apiserver.log" 2>&1 &
    local api_pid=$!
    echo "$api_pid kube-apiserver" >>"$dir/pids"
    if ! wait_for "https://127.0.0.1:$api/readyz" 120 "$api_pid" --cacert "$p/ca.crt"; then
        tail -n 40 "$dir/logs/kube-apiserver.log" >&2
        die "kube-apiserver did not become ready"
    fi

    local user
    for user in admin limited; do
        local file=$dir/kubeconfig token_file=$p/token
        if [[ $user == limited ]]; then file=$dir/limited-kubeconfig token_file=$p/limited-token; fi
        cat >"$file" <<KUBECONFIG
apiVersion: v1
kind: Config
clusters:
- name: ferry-test
  cluster:
    server: https://127.0.0.1:$api
    certificate-authority-data: $(base64 -w0 "$p/ca.crt")
users:
- name: $user
  user:
    token: $(cat "$token_file")
contexts:
- name: ferry-test
  context: {cluster: ferry-test, user: $user, namespace: default}
current-context: ferry-test
KUBECONFIG
    done
    log "up: kube-apiserver on https://127.0.0.1:$api, kubeconfig $dir/kubeconfig"
}

cmd_down() {
    local dir=${1:?usage: cluster.sh down DIR}
    [[ -d $dir ]] || return 0
    if [[ -f $dir/pids ]]; then
        local pid name i
        # Reverse order: the apiserver before etcd.
        while read -r pid name; do
            kill "$pid" 2>/dev/null || continue
            for ((i = 0; i < 40; i++)); do
                kill -0 "$pid" 2>/dev/null || break
                sleep 0.25
            done
            if kill -0 "$pid" 2>/dev/null; then
                log "$name ($pid) ignored SIGTERM; killing"
                kill -9 "$pid" 2>/dev/null || true
            fi
        done < <(tac "$dir/pids")
    fi
    rm -rf "$dir"
}

case ${1:-} in
build) cmd_build ;;
up) cmd_up "${2:-}" ;;
down) cmd_down "${2:-}" ;;
*) die "usage: cluster.sh build | up DIR | down DIR" ;;
esac

#!/usr/bin/env bash
# A throwaway Kubernetes cluster on 127.0.0.1 for Ferry's end-to-end tests: etcd,
# kube-apiserver, kube-controller-manager, kube-scheduler and kwok with one fake Node
# (kwok-node-0), so Deployments get ReplicaSets and Pods that are scheduled and reported Running
# and Ready, without a kubelet or containers. kwok also serves the node's kubelet API on
# 127.0.0.1, so the API server's port-forward to a pod reaches whatever a kwok PortForward object
# (kwok.x-k8s.io/v1alpha1, named as the pod) points that port at, e.g. a local process.
#
#   cluster.sh build      build the binaries into a cache outside the repo, keyed by the
#                         versions (only the missing ones are built)
#   cluster.sh up DIR     start the cluster, write DIR/kubeconfig (admin) and
#                         DIR/limited-kubeconfig (user "limited": no groups, so RBAC
#                         grants it only what a test binds to it); every port is picked
#                         free, so `up` with two DIRs gives two independent clusters
#   cluster.sh down DIR   stop what `up DIR` started (by the pids it recorded) and remove DIR
#
# Build times on 2 cores (go1.26.8), modules already downloaded:
# - Go build cache empty, at nice 19 while other builds kept the load at 8-10: etcd 676 s;
#   kube-apiserver, kube-controller-manager and kube-scheduler (one `go build`) 1196 s; kwok 74 s
#   (its own module, mostly sharing the packages just built); 32 min in all for 8.7 min of user
#   and 1.7 min of system CPU (so perhaps 6-10 min on idle cores: an estimate, not measured).
# - Go build cache warm (only linking, and kwok's own packages): etcd 6 s, the three k8s
#   commands 53 s, kwok 59 s.
# `up` takes about 5 s to a Ready node and a Running pod.
set -euo pipefail

K8S_VERSION=v1.36.3
ETCD_VERSION=v3.6.13
KWOK_VERSION=v0.8.0
# Keyed by every version, so a cache from before a binary was added (or bumped) is not
# mistaken for a complete one: `build` then fills in only what is missing.
CACHE=${FERRY_K8S_CACHE:-$HOME/.cache/ferry-k8s}/k8s-${K8S_VERSION}-etcd-${ETCD_VERSION}-kwok-${KWOK_VERSION}
BIN=$CACHE/bin
# kwok's Stage objects (v0.8.0 has no built-in defaults), copied out of the module cache at
# build time so a `go clean -modcache` does not break `up`.
STAGES=$CACHE/kwok-stages
K8S_BINS=(kube-apiserver kube-controller-manager kube-scheduler)
ALL_BINS=(etcd "${K8S_BINS[@]}" kwok)
GO=${GO:-$(command -v go || echo /usr/local/go/bin/go)}

export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-modcacherw

die() { echo "cluster.sh: $*" >&2; exit 1; }
log() { echo "cluster.sh: $*" >&2; }

# build_kube MISSING... builds the given k8s.io/kubernetes commands in one `go build`, so
# they share compiled packages.
build_kube() {
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
        local gomod staging m c pkgs=()
        gomod=$("$GO" mod download -json "k8s.io/kubernetes@$K8S_VERSION" |
            sed -n 's/.*"GoMod": "\(.*\)",/\1/p')
        [[ -f $gomod ]] || die "cannot download k8s.io/kubernetes@$K8S_VERSION"
        staging="v0.${K8S_VERSION#v1.}"
        for m in $(sed -n 's|^\s*\(k8s.io/[^ ]*\) => ./staging/src/.*|\1|p' "$gomod"); do
            "$GO" mod edit -replace="$m=$m@$staging"
        done
        "$GO" mod edit -require="k8s.io/kubernetes@$K8S_VERSION"
        for c in "$@"; do
            pkgs+=("k8s.io/kubernetes/cmd/$c")
            "$GO" mod edit -tool="k8s.io/kubernetes/cmd/$c"
        done
        "$GO" mod tidy
        local minor=${K8S_VERSION#v1.} x="" p date
        minor=${minor%%.*}
        date=$(date -u +%Y-%m-%dT%H:%M:%SZ)
        for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
            x="$x -X $p.gitVersion=$K8S_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$minor"
            x="$x -X $p.gitTreeState=clean -X $p.buildDate=$date"
        done
        # Into a scratch dir, then renamed: an interrupted build leaves no half binary
        # that a later `build` would take as cached.
        mkdir -p "$BIN/.tmp"
        "$GO" build -trimpath -tags notest,grpcnotrace -ldflags "-s -w $x" -o "$BIN/.tmp/" "${pkgs[@]}"
        for c in "$@"; do mv "$BIN/.tmp/$c" "$BIN/$c"; done
        rmdir "$BIN/.tmp"
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

build_kwok() {
    local mod
    mod=$(mktemp -d)
    # shellcheck disable=SC2064
    trap "rm -rf '$mod'" RETURN
    (
        cd "$mod"
        # Its own module, like etcd: kwok pins its own k8s.io/* versions.
        "$GO" mod init kwokbin >/dev/null 2>&1
        # The package, not the module: `go get` then records the sums of everything it imports.
        "$GO" get "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
        "$GO" build -trimpath -ldflags "-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=${KWOK_VERSION#v}" \
            -o "$BIN/kwok.tmp" sigs.k8s.io/kwok/cmd/kwok
        local src
        src=$("$GO" list -m -f '{{.Dir}}' sigs.k8s.io/kwok)/kustomize/stage
        rm -rf "$STAGES.tmp"
        mkdir -p "$STAGES.tmp"
        cp "$src/node/fast/node-initialize.yaml" "$src/node/heartbeat-with-lease/node-heartbeat-with-lease.yaml" \
            "$src/pod/fast/pod-ready.yaml" "$src/pod/fast/pod-complete.yaml" "$src/pod/fast/pod-delete.yaml" \
            "$STAGES.tmp/"
        rm -rf "$STAGES"
        mv "$STAGES.tmp" "$STAGES"
        mv "$BIN/kwok.tmp" "$BIN/kwok"
    )
}

have_all() {
    local b
    for b in "${ALL_BINS[@]}"; do [[ -x $BIN/$b ]] || return 1; done
    [[ -d $STAGES ]]
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
    if have_all; then
        log "${ALL_BINS[*]}: cached in $BIN"
        return 0
    fi
    check_go
    mkdir -p "$BIN"
    local t0=$SECONDS
    if [[ -x $BIN/etcd ]]; then log "etcd: cached in $BIN"; else
        log "building etcd $ETCD_VERSION"
        build_etcd
        log "etcd built in $((SECONDS - t0)) s"
    fi
    local missing=() c
    for c in "${K8S_BINS[@]}"; do [[ -x $BIN/$c ]] || missing+=("$c"); done
    if ((${#missing[@]} == 0)); then log "${K8S_BINS[*]}: cached in $BIN"; else
        t0=$SECONDS
        log "building ${missing[*]} $K8S_VERSION"
        build_kube "${missing[@]}"
        log "${missing[*]} built in $((SECONDS - t0)) s"
    fi
    if [[ -x $BIN/kwok && -d $STAGES ]]; then log "kwok: cached in $BIN"; else
        t0=$SECONDS
        log "building kwok $KWOK_VERSION"
        build_kwok
        log "kwok built in $((SECONDS - t0)) s"
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
        # kwok's kubelet server (port-forward): the API server dials it over HTTPS. It has no
        # --kubelet-certificate-authority, so it does not verify this certificate, as with a
        # kubelet's self-signed one; the SAN is there for anyone who does.
        openssl req -newkey rsa:2048 -nodes -keyout kubelet.key -out kubelet.csr -subj /CN=kwok-node-0
        printf '%s\n' 'basicConstraints=CA:FALSE' 'keyUsage=critical,digitalSignature,keyEncipherment' \
            'extendedKeyUsage=serverAuth' 'subjectAltName=IP:127.0.0.1,DNS:kwok-node-0' >kubelet.ext
        openssl x509 -req -in kubelet.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 30 \
            -out kubelet.crt -extfile kubelet.ext
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
    have_all || die "binaries missing in $BIN: run 'cluster.sh build'"
    local t0=$SECONDS
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
    # --kubelet-preferred-address-types: kwok's node has InternalIP 127.0.0.1 and Hostname
    # kwok-node-0, which no DNS resolves; logs and port-forward reach its "kubelet" (kwok's
    # server) by the IP.
    "$BIN/kube-apiserver" --etcd-servers="http://127.0.0.1:$etcd_client" \
        --bind-address=127.0.0.1 --advertise-address=127.0.0.1 --secure-port="$api" \
        --tls-cert-file="$p/apiserver.crt" --tls-private-key-file="$p/apiserver.key" --cert-dir="$p" \
        --token-auth-file="$p/tokens.csv" \
        --service-account-issuer=https://kubernetes.default.svc.cluster.local \
        --service-account-key-file="$p/sa.pub" --service-account-signing-key-file="$p/sa.key" \
        --service-cluster-ip-range=10.96.0.0/16 --authorization-mode=RBAC --allow-privileged=true \
        --disable-admission-plugins=ServiceAccount \
        --endpoint-reconciler-type=none --profiling=false --v=1 \
        --kubelet-preferred-address-types=InternalIP \
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
    start_controllers "$dir" "$api"
    log "up: kube-apiserver on https://127.0.0.1:$api with node kwok-node-0 in $((SECONDS - t0)) s, kubeconfig $dir/kubeconfig"
}

# api DIR METHOD PATH [JSON]: one request as the admin, the body on stdout; fails on HTTP errors.
api() {
    local dir=$1 method=$2 path=$3 body=${4:-}
    local args=(-sf --cacert "$dir/pki/ca.crt" -H "Authorization: Bearer $(cat "$dir/pki/token")"
        -X "$method" "$(sed -n 's/^ *server: //p' "$dir/kubeconfig")$path")
    if [[ -n $body ]]; then args+=(-H 'Content-Type: application/json' --data "$body"); fi
    curl "${args[@]}"
}

# start_controllers DIR API_PORT: kube-controller-manager, kube-scheduler and kwok, then one fake
# Node that kwok keeps Ready, so Deployments get ReplicaSets, Pods are bound to the node, and kwok
# marks them Running and Ready without running any container.
start_controllers() {
    local dir=$1 p=$1/pki
    # All of them use the admin kubeconfig (a token in system:masters): with the default
    # --use-service-account-credentials=false every controller runs as that user.
    # --secure-port=0: no health endpoint to serve (and no port to pick); readiness is checked
    # below by what they do. The cloud controllers are off: there is no cloud provider (they
    # would only log a warning each; naming them keeps the log to what matters).
    "$BIN/kube-controller-manager" --kubeconfig="$dir/kubeconfig" --leader-elect=false --secure-port=0 \
        --service-account-private-key-file="$p/sa.key" --root-ca-file="$p/ca.crt" \
        --cluster-signing-cert-file="$p/ca.crt" --cluster-signing-key-file="$p/ca.key" \
        --controllers='*,-service-lb-controller,-node-route-controller,-cloud-node-lifecycle-controller' \
        --kube-api-qps=100 --kube-api-burst=200 --node-monitor-period=2s \
        --concurrent-deployment-syncs=10 --concurrent-replicaset-syncs=10 --v=1 \
        >"$dir/logs/kube-controller-manager.log" 2>&1 &
    echo "$! kube-controller-manager" >>"$dir/pids"
    "$BIN/kube-scheduler" --kubeconfig="$dir/kubeconfig" --leader-elect=false --secure-port=0 --v=1 \
        >"$dir/logs/kube-scheduler.log" 2>&1 &
    echo "$! kube-scheduler" >>"$dir/pids"
    # Port-forward to a pod: no container runs, so kwok's kubelet server answers the API server's
    # port-forward by dialing what a kwok PortForward object (named as the pod, in its namespace)
    # names, e.g. a process on 127.0.0.1. Tests create those objects; kwok watches the CRD.
    install_port_forward_crd "$dir"
    local kubelet_port
    kubelet_port=$(free_port)
    # KWOK_WORKDIR: kwok otherwise also loads ~/.kwok/kwok.yaml, whatever a developer keeps there.
    # Only nodes annotated kwok.x-k8s.io/node=fake are kwok's, so a test creating its own Node
    # gets a Node nobody manages, as on a real cluster. --node-ip and --node-port are what the
    # node reports (InternalIP, kubelet endpoint), so the API server dials the server on
    # --server-address for logs and port-forward.
    local s=$STAGES
    KWOK_WORKDIR=$dir/kwok "$BIN/kwok" --kubeconfig="$dir/kubeconfig" \
        --manage-all-nodes=false --manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake \
        --cidr=10.244.0.0/16 --node-ip=127.0.0.1 --node-lease-duration-seconds=40 \
        --node-port="$kubelet_port" --server-address="127.0.0.1:$kubelet_port" \
        --tls-cert-file="$p/kubelet.crt" --tls-private-key-file="$p/kubelet.key" \
        --enable-crds=PortForward \
        --config="$s/node-initialize.yaml" --config="$s/node-heartbeat-with-lease.yaml" \
        --config="$s/pod-ready.yaml" --config="$s/pod-complete.yaml" --config="$s/pod-delete.yaml" \
        >"$dir/logs/kwok.log" 2>&1 &
    local kwok_pid=$!
    echo "$kwok_pid kwok" >>"$dir/pids"
    if ! wait_for "https://127.0.0.1:$kubelet_port/healthz" 60 "$kwok_pid" --insecure; then
        tail -n 30 "$dir/logs/kwok.log" >&2
        die "kwok's server did not answer on 127.0.0.1:$kubelet_port"
    fi

    # No taint: ordinary Deployments (istiod, the gateways) must schedule onto it.
    api "$dir" POST /api/v1/nodes '{"apiVersion":"v1","kind":"Node","metadata":{"name":"kwok-node-0",
        "annotations":{"node.alpha.kubernetes.io/ttl":"0","kwok.x-k8s.io/node":"fake"},
        "labels":{"kubernetes.io/hostname":"kwok-node-0","kubernetes.io/os":"linux",
                  "kubernetes.io/arch":"amd64","type":"kwok"}},
        "spec":{"providerID":"kwok://kwok-node-0"}}' >/dev/null || die "cannot create node kwok-node-0"

    # Ready: kwok reports the node Ready and the node lifecycle controller (so the
    # controller-manager) has lifted the not-ready taint that admission put on it.
    local i node=""
    for ((i = 0; i < 240; i++)); do
        check_alive "$dir"
        node=$(api "$dir" GET /api/v1/nodes/kwok-node-0 || true)
        if python3 -c '
import json, sys
n = json.loads(sys.argv[1])
ready = any(c["type"] == "Ready" and c["status"] == "True" for c in n["status"].get("conditions", []))
tainted = any(t["key"].startswith("node.kubernetes.io/") for t in n["spec"].get("taints", []))
sys.exit(0 if ready and not tainted else 1)' "$node" 2>/dev/null; then
            break
        fi
        sleep 0.25
    done
    ((i < 240)) || die "node kwok-node-0 did not become Ready and untainted in 60 s: $node"

    # The scheduler and the pod path: one Pod bound by the scheduler and marked Running by kwok.
    api "$dir" POST /api/v1/namespaces/default/pods '{"apiVersion":"v1","kind":"Pod",
        "metadata":{"name":"cluster-sh-smoke"},
        "spec":{"containers":[{"name":"c","image":"none"}]}}' >/dev/null || die "cannot create the smoke pod"
    local pod=""
    for ((i = 0; i < 240; i++)); do
        check_alive "$dir"
        pod=$(api "$dir" GET /api/v1/namespaces/default/pods/cluster-sh-smoke || true)
        if python3 -c '
import json, sys
sys.exit(0 if json.loads(sys.argv[1])["status"].get("phase") == "Running" else 1)' "$pod" 2>/dev/null; then
            break
        fi
        sleep 0.25
    done
    ((i < 240)) || die "the smoke pod was not scheduled and Running in 60 s: $pod"
    api "$dir" DELETE /api/v1/namespaces/default/pods/cluster-sh-smoke >/dev/null || true
}

# install_port_forward_crd DIR: kwok's PortForward kind (kwok.x-k8s.io/v1alpha1), which
# `kwok --enable-crds=PortForward` watches. The schema keeps every field (kwok reads
# spec.forwards[].ports and .target.{address,port}); kwok validates what it reads.
install_port_forward_crd() {
    local dir=$1 i
    api "$dir" POST /apis/apiextensions.k8s.io/v1/customresourcedefinitions '{"apiVersion":"apiextensions.k8s.io/v1",
        "kind":"CustomResourceDefinition","metadata":{"name":"portforwards.kwok.x-k8s.io"},
        "spec":{"group":"kwok.x-k8s.io","scope":"Namespaced",
          "names":{"kind":"PortForward","listKind":"PortForwardList","plural":"portforwards","singular":"portforward"},
          "versions":[{"name":"v1alpha1","served":true,"storage":true,"subresources":{"status":{}},
            "schema":{"openAPIV3Schema":{"type":"object","x-kubernetes-preserve-unknown-fields":true}}}]}}' \
        >/dev/null || die "cannot create the PortForward CRD"
    for ((i = 0; i < 120; i++)); do
        if api "$dir" GET /apis/kwok.x-k8s.io/v1alpha1/portforwards >/dev/null 2>&1; then return 0; fi
        sleep 0.25
    done
    die "the PortForward CRD is not served after 30 s"
}

# check_alive DIR: dies with the log tail of the first process of DIR that exited.
check_alive() {
    local pid name
    while read -r pid name; do
        if ! kill -0 "$pid" 2>/dev/null; then
            tail -n 30 "$1/logs/$name.log" >&2
            die "$name exited"
        fi
    done <"$1/pids"
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

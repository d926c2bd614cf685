#!/usr/bin/env bash
# Build the real tools our tests use as oracles: helm (+ the helm-diff plugin), helmfile, eksctl with a
# config validator that runs eksctl's own loader, and kube-apiserver + etcd. Everything comes from the Go
# module proxy at the versions pinned in versions.env; nothing here is part of the product.
#
# Output: $COMPOSER_REALTOOLS (default ~/.cache/fargate-composer/realtools)
#   bin/            helm helmfile eksctl eksctl-validate kube-apiserver kube-controller-manager etcd kubectl aws
#                   kubeconform
#   helm-plugins/   diff/ (plugin.yaml + bin/diff), installed by hand so no network is needed
#   go/             GOMODCACHE and GOCACHE, kept between runs so a warm run takes seconds
# A tool is rebuilt only when its stamp (pinned version + hash of our own sources) changes.
# Usage: tests/realtools/build.sh [tool ...]     (tools: helm helm-diff helmfile kube kcm kubectl eksctl aws kubeconform; default all)
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=versions.env
. "$here/versions.env"

root="${COMPOSER_REALTOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/fargate-composer/realtools}"
bin="$root/bin"
stamps="$root/stamps"
src="$root/src"
mkdir -p "$bin" "$stamps" "$src" "$root/helm-plugins"
export GOMODCACHE="$root/go/mod" GOCACHE="$root/go/cache" GOBIN="$bin"
export GOFLAGS="-mod=mod -buildvcs=false" CGO_ENABLED=0
# A module that needs a newer Go than the machine's gets the one toolchain the proxy serves for it.
export GOTOOLCHAIN="${GOTOOLCHAIN:-go1.27.3+auto}"
command -v go >/dev/null || { echo "build.sh: Go is not installed; the real-tool tests will skip" >&2; exit 2; }

log() { printf '%s realtools: %s\n' "$(date +%H:%M:%S)" "$*"; }
# up_to_date NAME STAMP: the tool was built from exactly STAMP and its outputs still exist.
up_to_date() { [[ -f "$stamps/$1" && "$(cat "$stamps/$1")" == "$2" ]]; }
mark() { printf '%s' "$2" >"$stamps/$1"; }
# Fail loudly: `go mod download -json` reports errors in its JSON and still exits 0.
mod_json() { local j; j="$(go mod download -json "$1")"; if grep -q '"Error"' <<<"$j"; then echo "$j" >&2; return 1; fi; echo "$j"; }
mod_dir() { mod_json "$1" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p'; }
mod_file() { mod_json "$1" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p'; }
# required_version GOMOD MODULE: the version GOMOD requires of MODULE.
required_version() { awk -v m="$2" '$1 == m && $2 ~ /^v/ {print $2; exit}' "$1"; }

build_helm() {
    local stamp="helm $HELM_VERSION"
    up_to_date helm "$stamp" && [[ -x "$bin/helm" ]] && return 0
    log "building helm $HELM_VERSION"
    # As helm's Makefile does: version by ldflags, and the default Kubernetes capability = client-go's + 1.
    local cg major minor
    cg="$(required_version "$(mod_file "helm.sh/helm/v3@$HELM_VERSION")" k8s.io/client-go)"
    IFS=. read -r major minor _ <<<"${cg#v}"
    major=$((major + 1))
    local p=helm.sh/helm/v3
    go install -trimpath -ldflags "-s -w -X $p/internal/version.version=$HELM_VERSION \
        -X $p/internal/version.gitTreeState=clean \
        -X $p/pkg/lint/rules.k8sVersionMajor=$major -X $p/pkg/lint/rules.k8sVersionMinor=$minor \
        -X $p/pkg/chartutil.k8sVersionMajor=$major -X $p/pkg/chartutil.k8sVersionMinor=$minor" \
        "$p/cmd/helm@$HELM_VERSION"
    mark helm "$stamp"
}

build_helm_diff() {
    local stamp="helm-diff $HELM_DIFF_VERSION (plugin.yaml without hooks)"
    local plugin="$root/helm-plugins/diff"
    up_to_date helm-diff "$stamp" && [[ -x "$plugin/bin/diff" ]] && return 0
    log "building helm-diff $HELM_DIFF_VERSION"
    local m=github.com/databus23/helm-diff/v3
    local dir tmp sum
    export GONOSUMDB=github.com/databus23/helm-diff
    sum="$(go mod download -json "$m@$HELM_DIFF_VERSION" | sed -n 's/^[[:space:]]*"Sum": "\(.*\)",$/\1/p')"
    if [[ "$sum" != "$HELM_DIFF_SUM" ]]; then
        echo "build.sh: helm-diff $HELM_DIFF_VERSION has hash '$sum', expected $HELM_DIFF_SUM" >&2
        return 1
    fi
    dir="$(mod_dir "$m@$HELM_DIFF_VERSION")"
    tmp="$(mktemp -d)"
    # Built in its module-cache copy: `go install m@v` would also ask the proxy for the module's version
    # list (for deprecation notices), which the proxy refuses for this module.
    (cd "$dir" && GOFLAGS="-mod=readonly -buildvcs=false" go build -trimpath \
        -ldflags "-s -w -X $m/cmd.Version=${HELM_DIFF_VERSION#v}" -o "$tmp/helm-diff" .)
    # By hand what `helm plugin install` would do, minus its download hook.
    rm -rf "$plugin" && mkdir -p "$plugin/bin"
    # Its plugin.yaml without the (platform)hooks, which only download the binary we have just built.
    awk '/^[A-Za-z]/ {skip = ($1 == "hooks:" || $1 == "platformHooks:")} !skip' "$dir/plugin.yaml" >"$plugin/plugin.yaml"
    mv "$tmp/helm-diff" "$plugin/bin/diff" && rmdir "$tmp"
    mark helm-diff "$stamp"
}

# helmfile >= 1.5 has replace lines in its go.mod, so it is built inside its module-cache copy, where
# its own go.mod and go.sum apply (read-only: nothing is resolved afresh).
build_helmfile() {
    local stamp="helmfile $HELMFILE_VERSION"
    up_to_date helmfile "$stamp" && [[ -x "$bin/helmfile" ]] && return 0
    log "building helmfile $HELMFILE_VERSION"
    local dir
    dir="$(mod_dir "github.com/helmfile/helmfile@$HELMFILE_VERSION")"
    (cd "$dir" && GOFLAGS="-mod=readonly -buildvcs=false" go build -trimpath \
        -ldflags "-s -w -X go.szostok.io/version.version=$HELMFILE_VERSION" -o "$bin/helmfile" .)
    mark helmfile "$stamp"
}

# k8s.io/kubernetes replaces every staging module with a local path, so it cannot be installed directly:
# a wrapper module requires it and points each staging module at its published version instead.
# kube_module: a module in $src that requires k8s.io/kubernetes at the pinned version, its staging
# modules replaced by their published versions (as Kubernetes' own go.mod does with ./staging paths);
# sets $w (the folder) and $ld (version ldflags, as Kubernetes' build sets them).
kube_module() {
    local gomod staging
    w="$src/kube-$KUBERNETES_VERSION"
    gomod="$(mod_file "k8s.io/kubernetes@$KUBERNETES_VERSION")"
    staging="v0.${KUBERNETES_VERSION#v1.}"
    rm -rf "$w" && mkdir -p "$w"
    {
        echo "module composer.test/kube"
        echo
        awk '/^go /' "$gomod"
        echo
        echo "require k8s.io/kubernetes $KUBERNETES_VERSION"
        echo
        echo "replace ("
        awk -v v="$staging" '$2 == "=>" && $3 ~ /^\.\/staging\// {print "\t" $1 " => " $1 " " v}' "$gomod"
        echo ")"
    } >"$w/go.mod"
    echo 'package kube' >"$w/kube.go"
    local major minor
    IFS=. read -r major minor _ <<<"${KUBERNETES_VERSION#v}"
    ld="-s -w"
    for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
        ld+=" -X $p.gitVersion=$KUBERNETES_VERSION -X $p.gitMajor=$major -X $p.gitMinor=$minor"
        ld+=" -X $p.gitTreeState=clean -X $p.buildDate=1970-01-01T00:00:00Z"
    done
}

build_kube() {
    local stamp="kube $KUBERNETES_VERSION"
    up_to_date kube "$stamp" && [[ -x "$bin/kube-apiserver" && -x "$bin/etcd" ]] && return 0
    log "building kube-apiserver $KUBERNETES_VERSION and etcd"
    local w ld
    kube_module
    (cd "$w" && go build -trimpath -ldflags "$ld" -o "$bin/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver)
    # etcd at the version Kubernetes itself requires (its server module has a main package).
    (cd "$w" && go build -trimpath -ldflags "-s -w" -o "$bin/etcd" go.etcd.io/etcd/server/v3)
    mark kube "$stamp"
}

# kube_command STAMP COMMAND: one command of Kubernetes' own module (k8s.io/kubernetes/cmd/COMMAND) into
# bin/COMMAND, stamped "COMMAND <version>" under STAMP.
kube_command() {
    local stamp="$2 $KUBERNETES_VERSION"
    up_to_date "$1" "$stamp" && [[ -x "$bin/$2" ]] && return 0
    log "building $2 $KUBERNETES_VERSION"
    local w ld
    kube_module
    (cd "$w" && go build -trimpath -ldflags "$ld" -o "$bin/$2" "k8s.io/kubernetes/cmd/$2")
    mark "$1" "$stamp"
}

# kube-controller-manager: the real Deployment, ReplicaSet, PodDisruptionBudget and garbage-collection
# controllers behind the simulated EKS the day-2 scenario tests run (tests/simeks.py).
build_kcm() { kube_command kcm kube-controller-manager; }

# kubectl: `compose apply` reads pods and runs `kubectl rollout restart` with it; the tests run the real one.
build_kubectl() { kube_command kubectl kubectl; }

# eksctl's go.mod pins the Kubernetes modules with replace lines, so both eksctl and our validator are
# built inside a copy of eksctl's own module source (its go.mod and go.sum apply unchanged).
build_eksctl() {
    local ours
    ours="$(cat "$here/eksctl-validate/main.go" | sha256sum | cut -c1-16)"
    local stamp="eksctl $EKSCTL_VERSION validator $ours"
    up_to_date eksctl "$stamp" && [[ -x "$bin/eksctl" && -x "$bin/eksctl-validate" ]] && return 0
    log "building eksctl $EKSCTL_VERSION and eksctl-validate"
    local dir w="$src/eksctl-$EKSCTL_VERSION"
    dir="$(mod_dir "github.com/weaveworks/eksctl@$EKSCTL_VERSION")"
    if [[ ! -f "$w/go.mod" ]]; then
        rm -rf "$w" && cp -r "$dir" "$w.tmp" && chmod -R u+w "$w.tmp" && mv "$w.tmp" "$w"
    fi
    mkdir -p "$w/cmd/composer-eksctl-validate"
    cp "$here/eksctl-validate/main.go" "$w/cmd/composer-eksctl-validate/main.go"
    (cd "$w" && go build -trimpath -ldflags "-s -w" -o "$bin/eksctl-validate" ./cmd/composer-eksctl-validate)
    (cd "$w" && go build -trimpath -ldflags "-s -w -X github.com/weaveworks/eksctl/pkg/version.gitVersion=${EKSCTL_VERSION#v}" \
        -o "$bin/eksctl" ./cmd/eksctl)
    mark eksctl "$stamp"
}

# The AWS CLI (pure Python, from PyPI into a virtual environment of its own, so its pinned botocore never
# meets the test environment's): apply asks it whether the Fargate pod execution role may write logs.
build_aws() {
    local stamp="awscli $AWSCLI_VERSION"
    up_to_date aws "$stamp" && [[ -x "$bin/aws" ]] && return 0
    log "installing awscli $AWSCLI_VERSION"
    rm -rf "$root/awscli"
    python3 -m venv "$root/awscli"
    "$root/awscli/bin/pip" install -q "awscli==$AWSCLI_VERSION"
    ln -sf "$root/awscli/bin/aws" "$bin/aws"
    mark aws "$stamp"
}

build_kubeconform() {
    local stamp="kubeconform $KUBECONFORM_VERSION"
    up_to_date kubeconform "$stamp" && [[ -x "$bin/kubeconform" ]] && return 0
    log "building kubeconform $KUBECONFORM_VERSION"
    go install -trimpath -ldflags "-s -w" "github.com/yannh/kubeconform/cmd/kubeconform@$KUBECONFORM_VERSION"
    mark kubeconform "$stamp"
}

main() {
    local tools=("$@") start=$SECONDS
    [[ ${#tools[@]} -gt 0 ]] || tools=(helm helm-diff helmfile kube kcm kubectl eksctl aws kubeconform)
    for t in "${tools[@]}"; do
        case "$t" in
            helm) build_helm ;;
            helm-diff) build_helm_diff ;;
            helmfile) build_helmfile ;;
            kube) build_kube ;;
            kcm) build_kcm ;;
            kubectl) build_kubectl ;;
            eksctl) build_eksctl ;;
            aws) build_aws ;;
            kubeconform) build_kubeconform ;;
            *) echo "build.sh: unknown tool '$t' (known: helm helm-diff helmfile kube kcm kubectl eksctl aws kubeconform)" >&2; return 2 ;;
        esac
    done
    log "ready in $((SECONDS - start))s: $bin (disk: $(du -sh "$root" | cut -f1))"
}

# One line, parsed whole before it runs: editing this file during a build cannot derail it.
main "$@"; exit $?

#!/usr/bin/env bash
# Renders and applies footfall's manifests for one overlay:
#   1. reads each named secret from a source: the environment (default), Google Secret
#      Manager (`gcloud secrets versions access latest --secret=...`), or a directory of files;
#   2. fills the overlay's secrets.env.template files with them, substituting only those
#      variables (envsubst '$SECRET_KEY_BASE $SMTP_USER_PWD ...'), in a private copy of
#      this directory that is removed on exit (no secret is written into the source tree);
#   3. pins the images (--image, or FOOTFALL_IMAGE, POSTGRES_IMAGE, CLICKHOUSE_IMAGE,
#      REDIS_IMAGE) and refuses `latest` or a missing tag;
#   4. kubectl kustomize OVERLAY | kubectl apply -f -, then waits for every rollout.
#
#   deploy.sh [--overlay embedded|cluster|DIR] [--namespace NS] [--image REPO:TAG]
#             [--secrets-from env|gcloud|file:DIR] [--secret NAME]... [--component NAME]...
#             [--dry-run]
#
#   --dry-run       print the manifests instead of applying them (no cluster needed)
#   --namespace NS  deploy into NS (default: footfall), created if missing: a restore
#                   drill deploys a second copy beside the first (deploy/README.md)
#   --secret NAME   one more variable to read and substitute (for your own overlay)
#   --component monitoring   add components/monitoring (Prometheus Operator)
#
# Environment: GCLOUD_PROJECT (--project for gcloud), GCLOUD_SECRET_PREFIX (default
# `footfall-`: SECRET_KEY_BASE is read from the secret `footfall-secret-key-base`), KUBECTL
# (default: kubectl), ROLLOUT_TIMEOUT (default: 10m).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
kubectl=${KUBECTL:-kubectl}

# The variables each part needs; only these are ever substituted into the templates.
base_secrets=(SECRET_KEY_BASE SMTP_USER_PWD METRICS_TOKEN)
cluster_secrets=(POSTGRES_PASSWORD CLICKHOUSE_PASSWORD)
# May be empty (the setting is then unset): METRICS_TOKEN leaves /metrics to TRUSTED_PROXIES.
optional_secrets=" METRICS_TOKEN "
# Put into URLs (secrets.env.template): only characters that need no escaping there.
url_secrets=" POSTGRES_PASSWORD CLICKHOUSE_PASSWORD "

overlay=embedded
namespace=footfall
secret_source="env"
dry_run=false
extra_secrets=()
components=()

die() {
  echo "deploy.sh: error: $*" >&2
  exit 1
}

usage() {
  sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//'
}

while [ $# -gt 0 ]; do
  case "$1" in
    --overlay) overlay=${2:?--overlay needs a value}; shift 2 ;;
    --overlay=*) overlay=${1#*=}; shift ;;
    --namespace) namespace=${2:?--namespace needs a value}; shift 2 ;;
    --namespace=*) namespace=${1#*=}; shift ;;
    --image) export FOOTFALL_IMAGE=${2:?--image needs a value}; shift 2 ;;
    --image=*) export FOOTFALL_IMAGE=${1#*=}; shift ;;
    --secrets-from) secret_source=${2:?--secrets-from needs a value}; shift 2 ;;
    --secrets-from=*) secret_source=${1#*=}; shift ;;
    --secret) extra_secrets+=("${2:?--secret needs a name}"); shift 2 ;;
    --secret=*) extra_secrets+=("${1#*=}"); shift ;;
    --component) components+=("${2:?--component needs a name}"); shift 2 ;;
    --component=*) components+=("${1#*=}"); shift ;;
    --dry-run) dry_run=true; shift ;;
    -h|--help) usage; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done

case "$overlay" in
  embedded|cluster) overlay_dir="$here/overlays/$overlay" ;;
  *) overlay_dir=$(cd "$overlay" 2>/dev/null && pwd) || die "--overlay $overlay: no such directory" ;;
esac
[ -f "$overlay_dir/kustomization.yaml" ] || die "--overlay $overlay: no kustomization.yaml in $overlay_dir"
case "$overlay_dir" in
  "$here"/*) ;;
  *) die "--overlay $overlay: must be a directory under $here (it is built from ../../base)" ;;
esac
[[ "$namespace" =~ ^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$ ]] || die "--namespace $namespace: not a Kubernetes namespace name"

# REPO[:TAG][@sha256:DIGEST] -> checked; `latest`, an image with neither tag nor digest, and a
# malformed digest are refused.
check_image() {
  local variable=$1 image=$2 name tag
  name=${image%%@*}
  case "${name##*/}" in
    *:*) tag=${name##*:} ;;
    *) tag= ;;
  esac
  if [ -z "$tag" ] && [[ "$image" != *@sha256:* ]]; then
    die "$variable=$image: pin a version (REPO:VERSION), not an untagged image"
  fi
  if [ "$tag" = latest ]; then
    die "$variable=$image: 'latest' is not a version; pin one (REPO:VERSION)"
  fi
  if [[ "$image" == *@* ]] && ! [[ "${image#*@}" =~ ^sha256:[0-9a-f]{64}$ ]]; then
    die "$variable=$image: a digest is @sha256: and 64 lowercase hex digits"
  fi
}

for variable in FOOTFALL_IMAGE POSTGRES_IMAGE CLICKHOUSE_IMAGE REDIS_IMAGE; do
  if [ -n "${!variable:-}" ]; then
    check_image "$variable" "${!variable}"
  fi
done

secrets=("${base_secrets[@]}")
if [ -f "$overlay_dir/secrets.env.template" ] && grep -q 'POSTGRES_PASSWORD' "$overlay_dir/secrets.env.template"; then
  secrets+=("${cluster_secrets[@]}")
fi
secrets+=("${extra_secrets[@]}")
for component in "${components[@]}"; do
  [ -f "$here/components/$component/kustomization.yaml" ] || die "--component $component: no components/$component"
  if [ "$component" = monitoring ]; then
    # Prometheus scrapes /metrics with the Secret's token.
    optional_secrets=${optional_secrets/ METRICS_TOKEN / }
  fi
done
for name in "${secrets[@]}"; do
  [[ "$name" =~ ^[A-Z_][A-Z0-9_]*$ ]] || die "--secret $name: a variable name is upper case letters, digits and _"
done

read_secret() {
  local name=$1 secret
  case "$secret_source" in
    env)
      printf '%s' "${!name:-}"
      ;;
    gcloud)
      secret="${GCLOUD_SECRET_PREFIX-footfall-}$(printf '%s' "$name" | tr 'A-Z_' 'a-z-')"
      gcloud secrets versions access latest --secret="$secret" ${GCLOUD_PROJECT:+--project="$GCLOUD_PROJECT"} ||
        die "gcloud could not read the secret $secret (for $name)"
      ;;
    file:*)
      local file="${secret_source#file:}/$name"
      if [ -f "$file" ]; then
        cat "$file"
      fi
      ;;
    *)
      die "--secrets-from $secret_source: use env, gcloud or file:DIR"
      ;;
  esac
}

for name in "${secrets[@]}"; do
  value=$(read_secret "$name")
  # A secret file or gcloud answer may end with a newline; the value itself may not hold one.
  value=${value%$'\n'}
  case "$value" in
    *$'\n'*) die "$name (from $secret_source): holds a line break; a secret is one line" ;;
  esac
  if [ -z "$value" ] && [[ "$optional_secrets" != *" $name "* ]]; then
    die "$name is not set (from $secret_source)"
  fi
  if [[ "$url_secrets" == *" $name "* ]] && ! [[ "$value" =~ ^[A-Za-z0-9._~-]+$ ]]; then
    die "$name: use only letters, digits and . _ ~ - (it goes into a URL; try: openssl rand -hex 24)"
  fi
  if [ "$name" = SECRET_KEY_BASE ] && [ "${#value}" -lt 32 ]; then
    die "SECRET_KEY_BASE: must be at least 32 characters (try: openssl rand -base64 48)"
  fi
  export "${name?}=$value"
done

work=$(mktemp -d "${TMPDIR:-/tmp}/footfall-deploy.XXXXXX")
trap 'rm -rf "$work"' EXIT
umask 077
cp -R "$here/." "$work/tree"
monitoring="$here/../monitoring"
relative=${overlay_dir#"$here"/}

# Only the named variables: `$HOME`, `$1` or `${OTHER}` in a template stay as written.
names=""
for name in "${secrets[@]}"; do
  names="$names \$$name"
done
for template in "$work/tree/base/secrets.env.template" "$work/tree/$relative/secrets.env.template"; do
  if [ -f "$template" ]; then
    envsubst "$names" <"$template" >"${template%.template}"
  fi
done

{
  echo "apiVersion: kustomize.config.k8s.io/v1beta1"
  echo "kind: Kustomization"
  echo "namespace: $namespace"
  echo "resources:"
  echo "  - namespace.yaml"
  echo "  - ../tree/$relative"
  if [ "${#components[@]}" -gt 0 ]; then
    echo "components:"
    for component in "${components[@]}"; do
      echo "  - ../tree/components/$component"
    done
  fi
  echo "images:"
  for pair in footfall=FOOTFALL_IMAGE postgres=POSTGRES_IMAGE \
    clickhouse/clickhouse-server=CLICKHOUSE_IMAGE redis=REDIS_IMAGE; do
    variable=${pair#*=}
    image=${!variable:-}
    [ -n "$image" ] || continue
    check_image "$variable" "$image"
    echo "  - name: ${pair%%=*}"
    name=${image%%@*}
    if [[ "${name##*/}" == *:* ]]; then
      echo "    newName: ${name%:*}"
      echo "    newTag: \"${name##*:}\""
    else
      echo "    newName: $name"
    fi
    if [[ "$image" == *@sha256:* ]]; then
      echo "    digest: sha256:${image##*@sha256:}"
    fi
  done
} >"$work/wrapper.yaml"
mkdir "$work/deploy"
# With the monitoring component, footfall's own alert rules and Grafana dashboard
# (deploy/monitoring/) go in too: the rules file as a PrometheusRule, the dashboard as a
# ConfigMap that Grafana's dashboard sidecar picks up (label grafana_dashboard).
if [[ " ${components[*]} " == *" monitoring "* ]] && [ -f "$monitoring/footfall-alerts.yml" ]; then
  {
    printf 'apiVersion: monitoring.coreos.com/v1\nkind: PrometheusRule\nmetadata:\n  name: footfall\n'
    printf '  labels:\n    app.kubernetes.io/name: footfall\nspec:\n'
    sed -e '/^[[:space:]]*#/d' -e '/^[[:space:]]*$/d' -e 's/^/  /' "$monitoring/footfall-alerts.yml"
  } >"$work/deploy/footfall-alerts.yaml"
  cp "$monitoring/footfall-dashboard.json" "$work/deploy/footfall-dashboard.json"
  {
    echo "  - footfall-alerts.yaml"
    echo "configMapGenerator:"
    echo "  - name: footfall-grafana-dashboard"
    echo "    files:"
    echo "      - footfall-dashboard.json"
    echo "    options:"
    echo "      labels:"
    echo "        grafana_dashboard: \"1\""
  } >"$work/monitoring.yaml"
  # The rules file joins the resources (the wrapper's list ends with the overlay).
  awk -v extra="$work/monitoring.yaml" '
    { print }
    /^  - \.\.\/tree\// && !done { while ((getline line < extra) > 0) print line; done = 1 }
  ' "$work/wrapper.yaml" >"$work/wrapper.with-monitoring.yaml"
  mv "$work/wrapper.with-monitoring.yaml" "$work/wrapper.yaml"
fi
mv "$work/wrapper.yaml" "$work/deploy/kustomization.yaml"
printf 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: %s\n' "$namespace" >"$work/deploy/namespace.yaml"

"$kubectl" kustomize "$work/deploy" >"$work/rendered.yaml"

# The last word: no container image in what would be applied is untagged or `latest`.
while read -r image; do
  check_image image "$image"
done < <(sed -n 's/^ *image: *//p' "$work/rendered.yaml" | tr -d '"')

if [ "$dry_run" = true ]; then
  cat "$work/rendered.yaml"
  exit 0
fi

"$kubectl" apply -f - <"$work/rendered.yaml"
while read -r workload; do
  "$kubectl" --namespace "$namespace" rollout status "$workload" --timeout="${ROLLOUT_TIMEOUT:-10m}"
done < <(awk '
  /^kind: (StatefulSet|Deployment)$/ { kind = tolower($2) }
  /^---/ { kind = "" }
  kind && /^  name: / { print kind "/" $2; kind = "" }
' "$work/rendered.yaml")
echo "deploy.sh: footfall ($relative) is rolled out in namespace $namespace"

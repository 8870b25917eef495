# Shared by scripts/vendor-assets and scripts/vendor-web-assets (sourced, not run): fetches a
# package from the npm registry with `npm pack`, checks the tarball's and each file's SHA-256
# sum against the ones the calling script pins, then copies the files under a directory (or,
# with --check, only compares them with the copies there).
#
# The caller sets: DEST (directory the files go under), check_only (true|false); it reads
# `failed` (1 when anything did not verify) after its calls to `fetch`.

command -v npm >/dev/null || { echo "$0: npm not found; install Node.js and npm (Debian: apt-get install npm)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failed=0

# fetch PACKAGE@VERSION TARBALL_SHA256 "SHA256 PATH-IN-PACKAGE PATH-UNDER-DEST"...
fetch() {
  local spec=$1 tarball_sum=$2
  shift 2
  echo "==> npm pack $spec"
  local tarball
  tarball=$(cd "$work" && npm pack --silent "$spec")
  local sum
  sum=$(sha256sum "$work/$tarball" | cut -d' ' -f1)
  if [[ $sum != "$tarball_sum" ]]; then
    echo "    $tarball: sha256 $sum, expected $tarball_sum" >&2
    failed=1
    return
  fi
  local dir="$work/${spec%@*}"
  mkdir -p "$dir"
  tar -xzf "$work/$tarball" -C "$dir"
  local entry want from to got
  for entry in "$@"; do
    read -r want from to <<<"$entry"
    got=$(sha256sum "$dir/package/$from" | cut -d' ' -f1)
    if [[ $got != "$want" ]]; then
      echo "    $from: sha256 $got, expected $want" >&2
      failed=1
    elif $check_only; then
      if cmp -s "$dir/package/$from" "$DEST/$to"; then
        echo "    $DEST/$to matches"
      else
        echo "    $DEST/$to differs from $spec's $from" >&2
        failed=1
      fi
    else
      mkdir -p "$DEST/$(dirname "$to")"
      cp "$dir/package/$from" "$DEST/$to"
      echo "    $DEST/$to"
    fi
  done
}

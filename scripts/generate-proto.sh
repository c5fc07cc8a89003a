#!/usr/bin/env bash
# Regenerates the Swift code of the gRPC contracts in proto/ (`make proto`):
#   proto/ope/grading/v1/grading.proto -> Sources/OPEGrading/Generated/grading.{pb,grpc}.swift
#   proto/ope/runtime/v1/*.proto       -> Sources/OPECluster/Generated/*.{pb,grpc}.swift
# The generated files are committed, so building and testing OPE need none of this. Regenerating
# without changing a .proto gives the same bytes: the plugins' versions are pinned below.
#
# Needs protoc (Debian's protobuf-compiler, installed here if missing) and builds the two Swift
# plugins, protoc-gen-swift (swift-protobuf) and protoc-gen-grpc-swift-2 (grpc-swift-protobuf), in
# a package of their own under .build-proto/, apart from the main build.
set -euo pipefail
cd "$(dirname "$0")/.."

swift_protobuf_version=1.39.0
grpc_swift_protobuf_version=2.4.1
tools=.build-proto/tools
# Each target's Generated/ folder and the contracts whose Swift code it holds.
contracts=(
  "Sources/OPEGrading/Generated proto/ope/grading/v1/grading.proto"
  "Sources/OPECluster/Generated proto/ope/runtime/v1/*.proto"
)

if ! command -v protoc >/dev/null 2>&1; then
  echo "==> installing Debian's protobuf-compiler (protoc)"
  if [ "$(id -u)" -ne 0 ]; then sudo=sudo; else sudo=; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq protobuf-compiler >/dev/null
fi

mkdir -p "$tools"
cat >"$tools/Package.swift" <<SWIFT
// swift-tools-version:6.1
// Written by scripts/generate-proto.sh: the protoc plugins OPE's generated code comes from.
import PackageDescription

let package = Package(
    name: "ope-proto-tools",
    dependencies: [
        .package(url: "https://github.com/apple/swift-protobuf.git", exact: "$swift_protobuf_version"),
        .package(url: "https://github.com/grpc/grpc-swift-protobuf.git", exact: "$grpc_swift_protobuf_version"),
    ],
    targets: []
)
SWIFT
for product in protoc-gen-swift protoc-gen-grpc-swift-2; do
  echo "==> building $product"
  swift build --package-path "$tools" --product "$product" >&2
done
bin=$(swift build --package-path "$tools" --show-bin-path)

for contract in "${contracts[@]}"; do
  read -r out protos <<<"$contract"
  mkdir -p "$out"
  rm -f "$out"/*.swift
  # Paths are relative to proto/, so the generated code names e.g. `ope/grading/v1/grading.proto`.
  # Visibility=Public: the runtime and the `ope` command use the messages and the clients.
  protoc --proto_path=proto \
    --plugin=protoc-gen-swift="$bin/protoc-gen-swift" \
    --swift_out="$out" --swift_opt=Visibility=Public --swift_opt=FileNaming=DropPath \
    --plugin=protoc-gen-grpc-swift-2="$bin/protoc-gen-grpc-swift-2" \
    --grpc-swift-2_out="$out" --grpc-swift-2_opt=Visibility=Public --grpc-swift-2_opt=FileNaming=DropPath \
    $protos
  # Generated code is not held to the house style: both plugins write `// swift-format-ignore-file`
  # in the comments before the first import, which `make lint` and `make format` honour. Add it where
  # a plugin no longer does.
  for file in "$out"/*.swift; do
    if ! sed -n '/^import /q;p' "$file" | grep -q '^// swift-format-ignore-file$'; then
      { echo '// swift-format-ignore-file'; cat "$file"; } >"$file.tmp" && mv "$file.tmp" "$file"
    fi
  done
  echo "==> wrote $(ls "$out"/*.swift | tr '\n' ' ')"
done

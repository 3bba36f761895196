"""Runs schemathesis against each sandbox with its vendor's published OpenAPI document.

Called by `.ci/conformance/run`, which installs schemathesis and builds the CLI. For each
vendor entry of the configuration (vendors.toml), this script:

1. reads the vendor's document from the specs folder and keeps only the listed operations;
2. applies the entry's known gaps: JSON patches on the kept operations for what the
   document gets wrong about the vendor, each with the reason in the configuration;
3. starts the sandbox (`unifold sandbox NAME --port P --token T`) and waits for it;
4. runs `st run` on the patched document against it with a fixed seed and a bounded
   number of cases, and the entry's check settings;
5. stops the sandbox and reports.

Exit status: 0 when every vendor passed (or was skipped for a missing document), 1 otherwise.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import socket
import subprocess
import sys
import time
import tomllib
from pathlib import Path
from typing import Any

# The token the sandbox is started with and schemathesis sends.
TOKEN = "conformance-token"
METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


def load_document(path: Path) -> dict[str, Any]:
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".json":
        return json.loads(text)
    import yaml  # schemathesis depends on PyYAML, so the venv has it

    return yaml.safe_load(text)


def parse_operation(name: str) -> tuple[str, str]:
    method, _, path = name.strip().partition(" ")
    if method.lower() not in METHODS or not path.startswith("/"):
        raise SystemExit(f"conformance: `{name}` is not `METHOD /path`")
    return method.lower(), path


def restrict(document: dict[str, Any], operations: list[str]) -> None:
    """Keeps only the paths of `operations`, with all their methods: the others are not
    tested (see `--include-name`), but they still say which methods a path allows."""
    kept = {}
    for name in operations:
        method, path = parse_operation(name)
        item = document.get("paths", {}).get(path, {})
        if method not in item:
            raise SystemExit(f"conformance: `{name}` is not in the document")
        kept[path] = item
    document["paths"] = kept


def resolve(document: dict[str, Any], node: Any) -> Any:
    """Follows a local `$ref` chain to the node it names."""
    while isinstance(node, dict) and isinstance(node.get("$ref"), str):
        target: Any = document
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = target
    return node


def patch_operation(document: dict[str, Any], operation: dict[str, Any], gap: dict[str, Any]) -> None:
    """Applies one gap to one operation: walks `pointer` (inlining any `$ref` on the way, so
    other operations sharing the component are untouched) and extends or sets the value."""
    parts = [p.replace("~1", "/").replace("~0", "~") for p in gap["pointer"].strip("/").split("/")]
    node: Any = operation
    for part in parts[:-1]:
        key: Any = int(part) if isinstance(node, list) else part
        child = node[key] if isinstance(node, list) else node.get(key, {})
        child = copy.deepcopy(resolve(document, child))
        node[key] = child
        node = child
    last: Any = int(parts[-1]) if isinstance(node, list) else parts[-1]
    if "append" in gap:
        existing = resolve(document, node[last] if isinstance(node, list) else node.get(last, []))
        node[last] = list(existing) + [v for v in gap["append"] if v not in existing]
    else:
        node[last] = copy.deepcopy(gap["set"])


def apply_gaps(document: dict[str, Any], gaps: list[dict[str, Any]], tested: list[str]) -> None:
    """Applies each gap to its `operations` (by default, every tested one)."""
    for gap in gaps:
        if not gap.get("why"):
            raise SystemExit(f"conformance: a known gap needs a `why`: {gap}")
        names = gap.get("operations", tested)
        for path, item in document["paths"].items():
            for method, operation in item.items():
                if method not in METHODS:
                    continue
                if f"{method.upper()} {path}" in names:
                    patch_operation(document, operation, gap)


def toml_value(value: Any) -> str:
    # JSON strings, numbers, booleans and arrays of them are valid TOML values.
    return json.dumps(value)


def toml_tables(table: dict[str, Any], prefix: str = "") -> list[str]:
    """Serializes nested tables of scalars and arrays (all the check settings need)."""
    lines = [f"{k} = {toml_value(v)}" for k, v in table.items() if not isinstance(v, dict)]
    if prefix and lines:
        lines.insert(0, f"[{prefix}]")
    for key, value in table.items():
        if isinstance(value, dict):
            lines += toml_tables(value, f"{prefix}.{key}" if prefix else key)
    return lines


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(port: int, server: subprocess.Popen, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"conformance: the sandbox exited with {server.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"conformance: the sandbox did not listen on {port} in {seconds:.0f}s")


def sandbox_command(binary: str, entry: dict[str, Any], port: int) -> list[str]:
    command = [binary, "sandbox"]
    if "sandbox_dir" in entry:
        command += ["--dir", entry["sandbox_dir"]]
    else:
        command.append(entry["sandbox"])
    return command + ["--port", str(port), "--token", TOKEN]


def check_vendor(name: str, entry: dict[str, Any], args: argparse.Namespace) -> bool | None:
    """Runs one vendor; `None` when its document is missing (skipped)."""
    source = Path(args.specs) / entry["document"]
    if not source.is_file():
        print(f"conformance: {name}: skipped: no document at {source}")
        return None
    document = load_document(source)
    restrict(document, entry["operations"])
    apply_gaps(document, entry.get("known_gaps", []), entry["operations"])
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    patched = work / f"{name}.openapi.json"
    patched.write_text(json.dumps(document, indent=1), encoding="utf-8")
    settings = work / f"{name}.schemathesis.toml"
    settings.write_text("\n".join(toml_tables(entry.get("schemathesis", {}))) + "\n", encoding="utf-8")

    port = free_port()
    server = subprocess.Popen(
        sandbox_command(args.sandbox_bin, entry, port),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    started = time.monotonic()
    try:
        wait_for(port, server)
        run = entry.get("run", {})
        command = [
            args.schemathesis,
            "--config-file", str(settings),
            "run", str(patched),
            "--url", f"http://127.0.0.1:{port}",
            "--header", f"Authorization: Bearer {TOKEN}",
            "--seed", str(run.get("seed", 18)),
            "--max-examples", str(run.get("max_examples", 50)),
            "--phases", ",".join(run.get("phases", ["examples", "coverage", "fuzzing", "stateful"])),
            "--workers", "1",
            "--no-shrink",
            "--continue-on-failure",
            "--report", "junit",
            "--report-dir", str(work / f"{name}-report"),
        ]
        for operation in entry["operations"]:
            command += ["--include-name", operation]
        if "max_time" in run:
            command += ["--max-time", str(run["max_time"])]
        print(f"conformance: {name}: {source.name}, {len(entry['operations'])} operations, sandbox on :{port}", flush=True)
        result = subprocess.run(command, env={**os.environ, "NO_COLOR": "1"})
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
    elapsed = time.monotonic() - started
    verdict = "passed" if result.returncode == 0 else "FAILED"
    print(f"conformance: {name}: {verdict} in {elapsed:.0f}s", flush=True)
    return result.returncode == 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True)
    parser.add_argument("--specs", required=True)
    parser.add_argument("--sandbox-bin", required=True)
    parser.add_argument("--work", required=True)
    parser.add_argument("--schemathesis", required=True)
    parser.add_argument("vendors", nargs="*", help="vendor entries to run (all when none)")
    args = parser.parse_args()
    with open(args.config, "rb") as file:
        config = tomllib.load(file)
    unknown = [v for v in args.vendors if v not in config]
    if unknown:
        print(f"conformance: no entry for {', '.join(unknown)} in {args.config}", file=sys.stderr)
        return 2
    outcomes = {name: check_vendor(name, config[name], args) for name in args.vendors or config}
    failed = [name for name, passed in outcomes.items() if passed is False]
    if failed:
        print(f"conformance: failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

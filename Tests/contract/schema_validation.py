"""Validate stored events (NDJSON envelopes) against EventSchemas/ with a real JSON Schema validator.

Used by the pytest suite and by the Swift tests, which write every event their scenarios emit to a
file and run:  python3 Tests/contract/schema_validation.py --types TYPES_FILE EVENTS.ndjson ...
"""
from __future__ import annotations

import argparse
import json
import pathlib
import sys

from jsonschema import Draft202012Validator
from referencing import Registry, Resource

ROOT = pathlib.Path(__file__).resolve().parents[2]
SCHEMAS = ROOT / "EventSchemas"
ENVELOPE = "envelope.schema.json"


def load_schemas() -> dict[str, dict]:
    return {p.name: json.loads(p.read_text()) for p in sorted(SCHEMAS.glob("*.json"))}


def registry(schemas: dict[str, dict]) -> Registry:
    resources = []
    for schema in schemas.values():
        resource = Resource.from_contents(schema)
        resources.append((schema["$id"], resource))
    return Registry().with_resources(resources)


def event_schema_files(schemas: dict[str, dict]) -> dict[tuple[str, int], str]:
    """(type, version) -> file name, parsed from `<type>.v<version>.schema.json`."""
    result = {}
    for name in schemas:
        if name == ENVELOPE:
            continue
        stem = name.removesuffix(".schema.json")
        type_name, _, version = stem.rpartition(".v")
        result[(type_name, int(version))] = name
    return result


class Checker:
    def __init__(self) -> None:
        self.schemas = load_schemas()
        self.registry = registry(self.schemas)
        self.by_type = event_schema_files(self.schemas)
        self.validators = {
            key: Draft202012Validator(self.schemas[name], registry=self.registry)
            for key, name in self.by_type.items()
        }

    def metaschema_errors(self) -> list[str]:
        errors = []
        for name, schema in self.schemas.items():
            try:
                Draft202012Validator.check_schema(schema)
            except Exception as exc:  # jsonschema.SchemaError
                errors.append(f"{name}: {exc}")
        return errors

    def errors_for(self, event: dict) -> list[str]:
        key = (event.get("type"), event.get("version"))
        validator = self.validators.get(key)
        if validator is None:
            return [f"no schema for {key}"]
        return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(event)]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--types", help="file with one 'type version' per line: the event types the code knows")
    parser.add_argument("events", nargs="*")
    args = parser.parse_args(argv)
    checker = Checker()
    failures = checker.metaschema_errors()
    if args.types:
        known = set()
        for line in pathlib.Path(args.types).read_text().split("\n"):
            if line.strip():
                type_name, version = line.split()
                known.add((type_name, int(version)))
        schemas = set(checker.by_type)
        failures += [f"event type without schema: {t}" for t in sorted(known - schemas)]
        failures += [f"schema without event type: {t}" for t in sorted(schemas - known)]
    counts: dict[str, int] = {}
    for path in args.events:
        for number, line in enumerate(pathlib.Path(path).read_text().splitlines(), 1):
            if not line.strip():
                continue
            event = json.loads(line)
            counts[event.get("type")] = counts.get(event.get("type"), 0) + 1
            for error in checker.errors_for(event):
                failures.append(f"{path}:{number} ({event.get('type')}): {error}")
    print(json.dumps({"validated": sum(counts.values()), "types": len(counts), "failures": len(failures)}))
    for failure in failures[:50]:
        print(failure, file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

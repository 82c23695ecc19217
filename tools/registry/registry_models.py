#!/usr/bin/env python3
"""Turns the OMA LwM2M object registry, as the npm package @nordicsemiconductor/lwm2m-types
carries it, into LWM2M.xsd object definitions that Tether compiles in.

Usage: registry_models.py PACKAGE_DIR OUTPUT
  OUTPUT.cpp: a C++ file with registry_models(), one XML document per object;
  OUTPUT.xml: one LWM2M.xsd document with every object (to read, or for --models).

The package holds, per object, the newest registered version as a JSON schema
(LwM2MDocument.schema.json) and as TypeScript types (types/<id>.ts). Neither keeps every
field of the registry's XML, so this conversion is partly an approximation:
  - the JSON schema gives the structure, names, descriptions, ranges, Time, Objlnk, Corelnk,
    Float and Integer; the TypeScript types tell Boolean apart and carry Units;
  - Operations are not recorded, and executable resources are left out altogether: every
    resource becomes "RW" and the object is marked approximate (Tether's client refuses to
    serve such an object until its XML is given; a server only needs the types);
  - Opaque reads as String, Unsigned Integer as Integer.
Definitions in models/ (checked by hand against the registry) replace these ones.
"""
import json
import re
import sys
from pathlib import Path
from xml.sax.saxutils import escape

KEY = re.compile(r"^(\d+)(?::(\d+\.\d+))?(?:@(\d+\.\d+))?$")
TS_BLOCK = re.compile(r"/\*\*((?:(?!\*/).)*)\*/\s*type\s+\w+\s*=\s*([^\n]+)", re.S)
TS_ID = re.compile(r"^\s*\*\s*ID:\s*(\d+)\s*$", re.M)
TS_UNITS = re.compile(r"^\s*\*\s*Units:\s*(.+?)\s*$", re.M)
SUFFIXES = (
    " Unix Time. A signed integer representing the number of seconds since Jan 1 st, 1970 "
    "in the UTC time zone.",
)


def typescript_facts(types_dir: Path, object_id: str) -> dict:
    """resource id -> (is_boolean, units) from the package's TypeScript type of one object."""
    facts = {}
    path = types_dir / f"{object_id}.ts"
    if not path.exists():
        return facts
    for comment, ts_type in TS_BLOCK.findall(path.read_text(encoding="utf-8")):
        rid = TS_ID.search(comment)
        if not rid:
            continue
        units = TS_UNITS.search(comment)
        facts[rid.group(1)] = ("boolean" in ts_type, units.group(1) if units else "")
    return facts


def clean_description(text: str, units: str) -> str:
    text = text.strip()
    if units and text.endswith(f" Units: {units}."):
        text = text[: -len(f" Units: {units}.")]
    for suffix in SUFFIXES:
        if text.endswith(suffix):
            text = text[: -len(suffix)]
    return text.strip()


def resource_type(schema: dict, is_boolean: bool) -> tuple:
    """(LWM2M.xsd Type, RangeEnumeration) of one resource's item schema."""
    kind = schema.get("type")
    pattern = schema.get("pattern", "")
    if kind == "integer" and schema.get("unixTimestamp"):
        return "Time", ""
    if kind == "integer" and is_boolean:
        return "Boolean", ""
    if kind == "integer":
        if "minimum" in schema and "maximum" in schema:
            return "Integer", f"{schema['minimum']}..{schema['maximum']}"
        return "Integer", ""
    if kind == "number":
        return "Float", ""
    if kind == "string" and pattern == "^dd:dd$":
        return "Objlnk", ""
    if kind == "string" and pattern.startswith("^</"):
        return "Corelnk", ""
    if kind == "string":
        if "minLength" in schema and "maxLength" in schema:
            return "String", f"{schema['minLength']}..{schema['maxLength']}"
        return "String", ""
    raise ValueError(f"unknown schema type {kind!r}")


def element(name: str, value: str) -> str:
    return f"<{name}>{escape(value)}</{name}>"


def object_xml(key: str, schema: dict, types_dir: Path) -> str:
    match = KEY.match(key)
    if not match:
        raise ValueError(f"unexpected object key {key!r}")
    object_id, version, lwm2m = match.group(1), match.group(2) or "1.0", match.group(3) or "1.0"
    multiple = schema.get("type") == "array"
    body = schema["items"] if multiple else schema
    # The object's flags are only in its description's tail ("... Mandatory: true").
    mandatory = "Mandatory: true" in schema.get("description", "")
    description = schema.get("description", "").split(" LWM2MVersion: ")[0]
    required = set(body.get("required", []))
    facts = typescript_facts(types_dir, object_id)
    urn_kind = "oma" if int(object_id) < 2048 else "ext" if int(object_id) < 10241 else "x"
    urn = f"urn:oma:lwm2m:{urn_kind}:{object_id}" + ("" if version == "1.0" else f":{version}")
    out = ['  <Object ObjectType="MODefinition">']
    out.append("    " + element("Name", schema.get("title", "").strip()))
    out.append("    " + element("Description1", description.strip()))
    out.append("    " + element("ObjectID", object_id))
    out.append("    " + element("ObjectURN", urn))
    out.append("    " + element("LWM2MVersion", lwm2m))
    out.append("    " + element("ObjectVersion", version))
    out.append("    " + element("MultipleInstances", "Multiple" if multiple else "Single"))
    out.append("    " + element("Mandatory", "Mandatory" if mandatory else "Optional"))
    out.append("    <Resources>")
    for rid in sorted(body.get("properties", {}), key=int):
        resource = body["properties"][rid]
        many = resource.get("type") == "array"
        item = resource["items"] if many else resource
        is_boolean, units = facts.get(rid, (False, ""))
        kind, rng = resource_type(item, is_boolean)
        out.append(f'      <Item ID="{int(rid)}">')
        out.append("        " + element("Name", resource.get("title", "").strip()))
        out.append("        " + element("Operations", "RW"))
        out.append("        " + element("MultipleInstances", "Multiple" if many else "Single"))
        out.append("        " + element("Mandatory", "Mandatory" if rid in required else "Optional"))
        out.append("        " + element("Type", kind))
        out.append("        " + element("RangeEnumeration", rng))
        out.append("        " + element("Units", units))
        out.append(
            "        " + element("Description", clean_description(resource.get("description", ""), units))
        )
        out.append("      </Item>")
    out.append("    </Resources>")
    out.append("  </Object>")
    return "\n".join(out)


def cpp_source(objects: list, origin: str) -> str:
    # One raw literal per object: compilers cap the length of a single string literal.
    lines = [
        f"// Generated from {origin} by tools/registry/registry_models.py; do not edit.",
        "#include <string_view>",
        "#include <vector>",
        "",
        "namespace tether::lwm2m::model {",
        "",
        "const std::vector<std::string_view>& registry_models() {",
        "  static const std::vector<std::string_view> kObjects = {",
    ]
    for o in objects:
        if ")tether_xml" in o:
            raise ValueError("an object definition holds the literal's delimiter")
        lines.append(f'      R"tether_xml(<LWM2M>\n{o}\n</LWM2M>)tether_xml",')
    lines += ["  };", "  return kObjects;", "}", "", "}  // namespace tether::lwm2m::model", ""]
    return "\n".join(lines)


def main() -> int:
    if len(sys.argv) != 3 or not sys.argv[2].endswith((".cpp", ".xml")):
        print("usage: registry_models.py PACKAGE_DIR OUTPUT.cpp|OUTPUT.xml", file=sys.stderr)
        return 2
    package, output = Path(sys.argv[1]), Path(sys.argv[2])
    document = json.loads((package / "LwM2MDocument.schema.json").read_text(encoding="utf-8"))
    version = json.loads((package / "package.json").read_text(encoding="utf-8"))["version"]
    origin = f"@nordicsemiconductor/lwm2m-types {version}"
    keys = sorted(document["properties"], key=lambda k: int(KEY.match(k).group(1)))
    objects = [object_xml(k, document["properties"][k], package / "types") for k in keys]
    if output.suffix == ".cpp":
        text = cpp_source(objects, origin)
    else:
        text = (
            '<?xml version="1.0" encoding="utf-8"?>\n'
            f"<!-- Generated from {origin} by tools/registry/registry_models.py; "
            "do not edit. Operations are approximate. -->\n"
            "<LWM2M>\n" + "\n".join(objects) + "\n</LWM2M>\n"
        )
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text, encoding="utf-8")
    print(f"registry_models: {len(objects)} objects from {origin}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

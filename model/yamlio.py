"""YAML loading with line numbers for error messages, and dotted-key overrides.

Two YAML 1.1 surprises are fixed here: ``1e-3`` loads as a float (PyYAML reads
it as a string) and only ``true``/``false`` are booleans (``NO``, ``on`` and
``yes`` stay strings, so a validator can complain about them).
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import yaml


class _Loader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2-style floats and booleans."""


_Loader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag not in ("tag:yaml.org,2002:bool", "tag:yaml.org,2002:float")]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_FLOAT = re.compile(
    r"^[-+]?(?:[0-9][0-9_]*\.[0-9_]*(?:[eE][-+]?[0-9]+)?|\.[0-9_]+(?:[eE][-+]?[0-9]+)?"
    r"|[0-9][0-9_]*[eE][-+]?[0-9]+|\.(?:inf|Inf|INF)|[-+]\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
)
_Loader.add_implicit_resolver("tag:yaml.org,2002:float", _FLOAT, list("-+0123456789."))
_Loader.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))


class YamlError(ValueError):
    """A YAML file that cannot be read; the message names the file and line."""


def load_yaml(path: str | Path) -> tuple[Any, yaml.Node | None, str]:
    """Read a YAML file and return ``(data, node tree, text)``.

    Raises:
        YamlError: the file is missing, unreadable or not valid YAML.
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise YamlError(f"{p}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise YamlError(f"{p}: cannot read file: {exc}") from None
    try:
        data = yaml.load(text, Loader=_Loader)
        node = yaml.compose(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        raise YamlError(f"{p}{where}: not valid YAML: {getattr(exc, 'problem', exc)}") from None
    return data, node, text


def line_of(node: yaml.Node | None, loc: tuple) -> int | None:
    """1-based line of the deepest YAML node that ``loc`` (a pydantic error path) reaches."""
    line = None
    for key in loc:
        if node is None:
            break
        line = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                if k.value == str(key):
                    node = v
                    line = k.start_mark.line + 1
                    break
            # a key that is not in the mapping is a pydantic union tag: stay on this node
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and 0 <= key < len(node.value):
            node = node.value[key]
            line = node.start_mark.line + 1
        else:
            continue  # pydantic's union tags ("function-after[...]", "lognormal") are not YAML keys
    return line


def set_dotted(data: dict, key: str, value: Any) -> dict:
    """Return ``data`` with ``key`` (``a.b.c``) set to ``value``; ``data`` itself is left unchanged.

    A path segment into a list matches an element's ``name`` or ``symbol``
    field, or a numeric index: ``population.noise.count`` or
    ``assets.BTC.price``. Unknown segments raise KeyError naming the key.

    Every container on the path is copied before it is written to, and nothing else
    is, so only the named entry changes, even where YAML anchors and merge keys
    (``<<: *speculators``) made several entries share one mapping.
    """
    out = copy.copy(data)
    parts = key.split(".")
    cur: Any = out
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if isinstance(cur, list):
            idx = next((j for j, el in enumerate(cur) if isinstance(el, dict) and part in (el.get("name"), el.get("symbol"))), None)
            if idx is None and part.isdigit() and int(part) < len(cur):
                idx = int(part)
            if idx is None:
                raise KeyError(f"{key}: no list element named {part!r}")
            if last:
                cur[idx] = value
            else:
                cur[idx] = cur = copy.copy(cur[idx])
        elif isinstance(cur, dict):
            if last:
                cur[part] = value
            else:
                cur[part] = cur = copy.copy(cur.get(part, {}))
        else:
            raise KeyError(f"{key}: {'.'.join(parts[:i])} is a value, not a mapping or list")
    return out

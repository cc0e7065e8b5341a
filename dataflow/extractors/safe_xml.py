"""Hardened XML parsing for untrusted patent and HWPX files, and entity-aware text of elements.

The threats (https://pypi.org/project/defusedxml/#attack-vectors):
- *billion laughs* / quadratic blowup: nested or repeated entity expansion that turns kilobytes into
  gigabytes;
- *XXE*: an external entity (``<!ENTITY x SYSTEM "file:///etc/passwd">``) whose content lands in the
  output, or a DTD / entity fetched over the network.

The policy, in two steps:
1. ``scan_prolog`` runs expat over the prolog only (it stops at the root element, so the cost is the
   size of the DOCTYPE) and classifies every entity declaration. Unparsed ``NDATA`` entities (USPTO
   v1.x/v2.5 files declare one per drawing TIFF) are harmless: they are never expanded into text.
   Parameter entities, external parsed entities and internal entities whose value refers to another
   entity (the nesting billion laughs needs) raise ``UnsafeXML`` (reason ``malicious_xml``). Short
   literal internal entities are kept.
2. lxml parses with ``resolve_entities=False, load_dtd=False, no_network=True, huge_tree=False``:
   nothing is expanded or fetched by libxml2. Entity references stay ``_Entity`` nodes and
   ``EntityText`` resolves them: the literal internal entities from step 1, then the HTML5 / ISO 8879
   character entities (USPTO files name ``&agr;``, ``&lsqb;``, ... from their external DTD, which
   is never loaded), under a total expansion budget.
The DOCTYPE itself (USPTO and EPO files name their DTD) is fine: it is read, never loaded.
"""

from __future__ import annotations

import html.entities
from dataclasses import dataclass, field
from xml.parsers import expat

from lxml import etree

MAX_ENTITY_VALUE = 64  # chars of a literal internal entity; any longer is treated as an amplifier
MAX_ENTITY_DECLS = 100_000  # USPTO files declare ~2 NDATA entities per drawing sheet, far fewer


class UnsafeXML(ValueError):
    """An entity declaration that could expand without bound or read outside the document."""

    reason = "malicious_xml"


class BadXML(ValueError):
    """Not well-formed XML (truncated, wrong encoding, not XML at all)."""

    reason = "malformed_xml"


# ISO 8879 Greek (ISOgrk1) names used by USPTO SGML-era DTDs; HTML5's table lacks them
_ISO_GREEK = dict(
    zip(
        "agr bgr ggr dgr egr zgr eegr thgr igr kgr lgr mgr ngr xgr ogr pgr rgr sgr sfgr tgr ugr phgr khgr psgr ohgr".split(),  # noqa: E501, SIM905
        "αβγδεζηθικλμνξοπρσςτυφχψω",
        strict=True,
    )
)
_ISO_GREEK.update({k[0].upper() + k[1:]: v.upper() for k, v in _ISO_GREEK.items() if k != "sfgr"})
_ISO_GREEK.update({"EEgr": "Η", "THgr": "Θ", "PHgr": "Φ", "KHgr": "Χ", "PSgr": "Ψ", "OHgr": "Ω"})
# invisible math operators (function application, invisible times) read as nothing in plain text
_INVISIBLE = {"af": "", "it": "", "ic": "", "InvisibleTimes": "", "ApplyFunction": "", "InvisibleComma": ""}


def char_entity(name: str) -> str | None:
    """The text of a named character entity (HTML5 or ISO 8879), or None if unknown."""
    if name in _INVISIBLE:
        return _INVISIBLE[name]
    if name in _ISO_GREEK:
        return _ISO_GREEK[name]
    return html.entities.html5.get(name + ";")


class _Stop(Exception):
    """Raised from expat's handlers when the root element starts: the prolog is done."""


def scan_prolog(content: bytes) -> dict[str, str]:
    """Classify the entity declarations in the DOCTYPE; return the literal internal ones.

    Raises:
        UnsafeXML: a parameter entity, an external parsed entity, an internal entity that refers
            to another entity or is longer than ``MAX_ENTITY_VALUE``, or too many declarations.
    """
    if b"<!" not in content[:1_000_000] and b"<\x00!\x00" not in content[:2_000_000]:
        return {}  # no DOCTYPE (UTF-8 or UTF-16LE): nothing can be declared
    literals: dict[str, str] = {}
    count = 0

    def on_entity(name, is_param, value, base, system_id, public_id, notation):  # noqa: ANN001
        nonlocal count
        count += 1
        if count > MAX_ENTITY_DECLS:
            raise UnsafeXML(f"more than {MAX_ENTITY_DECLS} entity declarations")
        if is_param:
            raise UnsafeXML(f"parameter entity %{name};")
        if notation is not None:
            return  # unparsed (NDATA): a reference to a binary file, never expanded
        if value is None:
            raise UnsafeXML(f"external entity &{name}; -> {system_id or public_id}")
        if "&" in value or "%" in value or len(value) > MAX_ENTITY_VALUE:
            raise UnsafeXML(f"internal entity &{name}; nests references or is {len(value)} chars")
        literals[name] = value

    def on_start(*_):  # noqa: ANN002
        raise _Stop

    parser = expat.ParserCreate()
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)  # never read the external DTD
    parser.EntityDeclHandler = on_entity
    parser.StartElementHandler = on_start
    try:
        parser.Parse(content, True)
    except _Stop:
        return literals
    except expat.ExpatError as err:
        if literals or count:
            raise BadXML(f"prolog: {err}") from None
        # an encoding expat cannot read (EUC-KR, ...): lxml parses it safely below, and
        # parse_xml re-checks the declarations it finds there
        return literals
    return literals


@dataclass
class EntityText:
    """Text of elements, resolving entity references within an expansion budget."""

    literals: dict[str, str] = field(default_factory=dict)
    budget: int = 10_000_000  # chars any entity references may add in total
    recovered: bool = False  # the document was not well-formed and libxml2 recovered what it could

    def entity(self, name: str) -> str:
        if name.startswith("#"):  # character reference libxml2 left alone (should not happen)
            try:
                return chr(int(name[2:], 16) if name[1:2] in "xX" else int(name[1:]))
            except ValueError:
                return ""
        value = self.literals.get(name)
        if value is None:
            value = char_entity(name) or ""
        self.budget -= len(value)
        if self.budget < 0:
            raise UnsafeXML("entity expansion budget exceeded")
        return value

    def text(self, el: etree._Element, skip: frozenset[str] = frozenset()) -> str:
        """All text under ``el`` (like ``itertext``) with entities resolved, skipping tags in ``skip``."""
        parts: list[str] = []
        self._collect(el, parts, skip)
        return "".join(parts)

    def _collect(self, el: etree._Element, parts: list[str], skip: frozenset[str]) -> None:
        if el.text:
            parts.append(el.text)
        for child in el:
            if child.tag is etree.Entity:
                parts.append(self.entity(child.name))
            elif isinstance(child.tag, str) and local_name(child.tag) not in skip:
                self._collect(child, parts, skip)
            if child.tail:
                parts.append(child.tail)


def local_name(tag: str) -> str:
    """``{namespace}name`` -> ``name``."""
    return tag.rpartition("}")[2]


def _lxml_parse(content: bytes, *, recover: bool) -> etree._Element | None:
    parser = etree.XMLParser(
        resolve_entities=False,  # no substitution at all: entity references stay nodes
        load_dtd=False,  # the external DTD is named, never read
        no_network=True,
        huge_tree=False,  # keep libxml2's own depth / size / amplification limits
        remove_comments=True,
        remove_pis=True,
        dtd_validation=False,
        recover=recover,
    )
    try:
        return etree.fromstring(content, parser)
    except etree.XMLSyntaxError as err:
        if "amplification" in str(err) or "entity reference loop" in str(err).lower():
            raise UnsafeXML(str(err)) from None
        if recover:
            raise BadXML(str(err)) from None
        return None
    except ValueError as err:  # e.g. a str with an encoding declaration, or an empty document
        raise BadXML(str(err)) from None


def parse_xml(
    content: bytes, *, recover: bool = False, expansion_budget: int | None = None
) -> tuple[etree._Element, EntityText]:
    """Parse untrusted XML safely; return the root element and its entity resolver.

    ``recover=True`` retries a document that is not well-formed with libxml2's recovery mode
    (same safety options); ``EntityText.recovered`` then says so. Real EPO files carry a bare
    ``&`` in an address or a stray ``<`` in a heading.

    Raises:
        UnsafeXML: see ``scan_prolog`` (reason ``malicious_xml``).
        BadXML: not well-formed (reason ``malformed_xml``).
    """
    literals = scan_prolog(content)
    root, recovered = _lxml_parse(content, recover=False), False
    if root is None and recover:
        root, recovered = _lxml_parse(content, recover=True), True
    if root is None:
        raise BadXML("no root element")
    dtd = root.getroottree().docinfo.internalDTD
    if dtd is not None and not literals:
        # expat could not read the prolog (an encoding it lacks): check libxml2's view of it
        for decl in dtd.iterentities():
            if decl.system_url:
                if not decl.content:  # NDATA entities carry their notation name as content
                    raise UnsafeXML(f"external entity &{decl.name};")
                continue
            if decl.content and ("&" in decl.content or len(decl.content) > MAX_ENTITY_VALUE):
                raise UnsafeXML(f"internal entity &{decl.name};")
            if decl.content:
                literals[decl.name] = decl.content
    budget = expansion_budget if expansion_budget is not None else max(1_000_000, 2 * len(content))
    return root, EntityText(literals, budget, recovered)
